#!/usr/bin/env python3
"""update_uotd.php: the daily task, in Python: choose the user of the day (docs/tasks.md)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.ops.update_uotd")  # noqa
