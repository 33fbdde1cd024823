"""Python versions of the periodic tasks BOINC's PHP web site keeps in html/ops.

config.xml, as BOINC's make_project writes it, runs these with
``run_in_ops ./NAME.php``.  A project without BOINC's PHP site gets our
programs under the same names (Python scripts with a ``#!`` line, which
run_in_ops executes like any program), so config.xml stays as BOINC wrote
it; a project that has BOINC's PHP files keeps them (sched.install).  Which
tasks have a Python version, and why the others don't: docs/tasks.md.

Each program prints what BOINC's PHP prints (``Starting: 25 Nov 2026,
1:02:03 UTC`` ... ``Finished: ...``) on stdout, which bin/start appends to
``log_HOST/NAME.out``.
"""

import os
import sys
import time

from .. import cli
from .. import config as configmod
from .. import db as dbmod
from .. import paths


def time_str(t=None):
    """PHP's time_str(): ``25 Nov 2026, 1:02:03 UTC`` (day and hour unpadded)."""
    g = time.gmtime(time.time() if t is None else t)
    return "%d %s, %d:%s UTC" % (g.tm_mday, time.strftime("%b %Y", g), g.tm_hour,
                                 time.strftime("%M:%S", g))


def project_dir():
    """``$BOINC_PROJECT_DIR``, else the project this program is installed in
    (``PROJECT/html/ops/NAME.php``), else the current directory or its parent."""
    if not os.environ.get("BOINC_PROJECT_DIR"):
        here = os.path.dirname(os.path.abspath(sys.argv[0]))
        candidate = os.path.dirname(os.path.dirname(here))
        if paths.is_project_dir(candidate):
            return candidate
    return paths.find_project_dir()


def say(text):
    print(text)
    sys.stdout.flush()


class OpsTask:
    """One html/ops task: options, the project's config and DB, then :meth:`work`."""

    name = "task"
    description = ""

    def add_arguments(self, parser):
        """Add the task's own options."""

    def work(self, db, cfg, args):
        """Do the task; return the exit status."""
        raise NotImplementedError

    def main(self, argv):
        parser = cli.ArgumentParser(prog=self.name + ".php", description=self.description)
        self.add_arguments(parser)
        args = parser.parse_args(argv)
        cfg = configmod.load(project_dir())
        db = dbmod.connect(cfg)
        try:
            return self.work(db, cfg, args)
        finally:
            db.close()

    @classmethod
    def run(cls):
        cli.run(cls().main)
