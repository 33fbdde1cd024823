"""Where things are, for tests and their helper modules.

Import these from here, never ``from conftest import``: every test directory
may have a conftest.py, and they would shadow each other as module names.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

TEST_DB_PREFIX = "boinctest_"


def program_pids(path):
    """PIDs of live processes running the program at ``path``."""
    pids = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if path.encode() in args:
            pids.add(int(pid))
    return pids
