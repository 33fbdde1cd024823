#!/usr/bin/env python3
"""delete_expired_tokens.php: the daily task, in Python: drop expired tokens (docs/tasks.md)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.ops.delete_expired_tokens")  # noqa
