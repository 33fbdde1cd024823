#!/usr/bin/env python3
"""am_set_info.php: BOINC's web RPC of that name (CGI or FastCGI; see sched/web)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.web.app")  # noqa
