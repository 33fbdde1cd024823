"""``run_in_ops PROG [ARGS]``: run a program of html/ops (a task in config.xml).

bin/start runs tasks in ``tmp_HOST``; as BOINC's run_in_ops we go to
``../html/ops`` and run ``./PROG`` there.  bin/start exports
``BOINC_PROJECT_DIR``, which we prefer when it is set, so the ops directory
is found whatever the current directory.
"""

import errno
import os
import sys

from .. import cli
from ..errors import BoincError
from .launch import interpreter_problem


def main(argv):
    if not argv:
        sys.stderr.write("usage: run_in_ops PROGRAM [ARGS...]\n")
        return 1
    project = os.environ.get("BOINC_PROJECT_DIR")
    ops = os.path.join(project or os.pardir, "html", "ops")
    try:
        os.chdir(ops)
    except OSError as exc:
        raise BoincError("can't enter %s: %s" % (os.path.abspath(ops), exc.strerror)) from None
    prog = os.path.join(os.curdir, argv[0])
    try:
        os.execv(prog, [prog] + argv[1:])
    except OSError as exc:
        where = os.path.join(os.path.abspath(ops), argv[0])
        reason = exc.strerror
        if exc.errno == errno.ENOENT and os.path.exists(prog):
            reason = interpreter_problem(prog, where) or reason
        raise BoincError("can't run %s: %s" % (where, reason),
                         exit_code=127 if exc.errno == errno.ENOENT else 126) from None


def run():
    cli.run(main)
