#!/usr/bin/env python3
"""get_output.php: BOINC's remote job submission program (CGI or FastCGI; see sched/submit)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.submit.app")  # noqa
