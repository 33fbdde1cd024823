#!/usr/bin/env python3
"""badge_assign.php: the daily task, in Python: top average credit badges (docs/tasks.md)."""
import os, sys; d = os.path.dirname; sys.path.insert(0, d(d(d(os.path.abspath(__file__)))))  # noqa
import sched; sched.entry("sched.ops.badge_assign")  # noqa
