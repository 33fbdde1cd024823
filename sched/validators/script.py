"""script_validator: validation done by programs in the project's bin/.

``--init_script "PROG TOKEN..."`` checks one result, ``--compare_script
"PROG TOKEN..."`` compares two (at least one of them is needed).  As with
BOINC, PROG is run as ``../bin/PROG`` -- relative to the current directory,
which is ``tmp_HOST`` when bin/start runs the daemon -- with each TOKEN
replaced by:

* ``files``: the paths of the result's output files (every ``<file_ref>``);
* ``result_id``: its id;  ``runtime``: its elapsed time (``%f``);
* for the compare script also ``files2``, ``result_id2``, ``runtime2`` for the
  second result.

Other words are dropped (BOINC does the same; we log a warning).  Without
tokens: init gets ``files``, compare ``files files2``.  Exit status 0 means
valid / equivalent, 3 means a transient problem (try again in 6 hours), any
other status invalid / different.  Unlike BOINC the command isn't handed to
a shell, and a program that isn't there stops the validator at start
instead of making every result invalid.
"""

import os
import subprocess

from ..errors import BoincError
from ..validator import InvalidResult, TransientError, Validator, run as run_validator

TRANSIENT_EXIT = 3          # BOINC's VAL_RESULT_TRANSIENT_ERROR
INIT_TOKENS = ("files", "result_id", "runtime")
COMPARE_TOKENS = INIT_TOKENS + ("files2", "result_id2", "runtime2")


def parse_script(text, defaults, allowed, option, log):
    words = text.split()
    if not words:
        raise BoincError("--%s needs a program name" % option)
    if len(words) == 1:
        words += list(defaults)
    for w in words[1:]:
        if w not in allowed:
            log.warning("--%s: unknown token '%s' ignored (known: %s)", option, w,
                        " ".join(allowed))
    return words


class ScriptValidator(Validator):
    description = ("A validator that runs scripts to check and compare results, "
                   "so that you can do your validation in Python, PHP, Perl, bash, etc.")

    def add_arguments(self, parser):
        parser.add("init_script", metavar='"PROG ARG..."',
                   help="checks one result; exits 0 if its files are valid")
        parser.add("compare_script", metavar='"PROG ARG..."',
                   help="compares two results; exits 0 if they are equivalent")

    def setup(self, daemon):
        super().setup(daemon)
        args, log = daemon.args, daemon.log
        if not args.init_script and not args.compare_script:
            raise BoincError("command line must specify init_script or compare_script")
        self.init = self.compare = None
        if args.init_script:
            self.init = parse_script(args.init_script, ("files",), INIT_TOKENS,
                                     "init_script", log)
        if args.compare_script:
            self.compare = parse_script(args.compare_script, ("files", "files2"),
                                        COMPARE_TOKENS, "compare_script", log)
        for words, option in ((self.init, "init_script"), (self.compare, "compare_script")):
            if words is None:
                continue
            prog = self.program(words[0])
            if not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
                raise BoincError(
                    "--%s: %s is not an executable file (relative to %s); put %s in the "
                    "project's bin/ and run the validator from tmp_HOST, as bin/start does"
                    % (option, prog, os.getcwd(), words[0]))

    @staticmethod
    def program(name):
        return "../bin/" + name

    def command(self, words, r1, files1, r2=None, files2=None):
        argv = [self.program(words[0])]
        for w in words[1:]:
            if w == "files":
                argv += [f.path for f in files1]
            elif w == "result_id":
                argv.append("%d" % r1.id)
            elif w == "runtime":
                argv.append("%f" % r1.elapsed_time)
            elif r2 is not None and w == "files2":
                argv += [f.path for f in files2]
            elif r2 is not None and w == "result_id2":
                argv.append("%d" % r2.id)
            elif r2 is not None and w == "runtime2":
                argv.append("%f" % r2.elapsed_time)
        return argv

    def execute(self, argv, what):
        """Exit status of the program; None if a signal ended it."""
        try:
            status = subprocess.call(argv, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise TransientError("can't run %s: %s" % (argv[0], exc.strerror)) from None
        if status < 0:
            self.daemon.log.critical("%s script %s didn't exit (signal %d)", what,
                                     " ".join(argv), -status)
            return None
        return status

    def init_result(self, result, files):
        if self.init is None:
            return None
        argv = self.command(self.init, result, files)
        status = self.execute(argv, "init")
        if status == 0:
            return None
        if status == TRANSIENT_EXIT:
            raise TransientError("init script returned transient error")
        raise InvalidResult("init script %s returned: %s" % (" ".join(argv), status))

    def compare_results(self, r1, files1, r2, files2):
        if self.compare is None:
            return True
        argv = self.command(self.compare, r1, files1, r2, files2)
        status = self.execute(argv, "compare")
        if status is None:
            raise InvalidResult("compare script %s didn't exit" % " ".join(argv))
        if status == TRANSIENT_EXIT:
            raise TransientError("compare script returned transient error")
        return status == 0


def run():
    run_validator(ScriptValidator, "script_validator")
