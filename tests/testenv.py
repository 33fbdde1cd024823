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
