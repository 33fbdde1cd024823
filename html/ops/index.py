#!/usr/bin/env python3
"""index.py: the operators' web pages, every /NAME_ops/ URL (CGI or FastCGI; see sched/ops)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.ops.app")  # noqa
