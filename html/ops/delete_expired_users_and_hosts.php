#!/usr/bin/env python3
"""delete_expired_users_and_hosts.php: the daily task, in Python (docs/tasks.md)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.ops.delete_expired_users_and_hosts")  # noqa
