"""script_assimilator: assimilate each finished job by running a program.

``--script "prog tok ..."`` names a program in the project's ``bin/`` (an
absolute path is used as it is) and the arguments it gets, one token each:

=============  ==========================================================
``files``      the paths of the canonical result's output files
``files2``     ``path logical_name`` for each of those files
``wu_id``      the workunit's id
``wu_name``    the workunit's name
``result_id``  the canonical result's id
``runtime``    the canonical result's elapsed time (``%f``)
``batch_id``   the workunit's batch
=============  ==========================================================

With only ``prog`` the tokens are ``wu_id files``.  A job that failed (no
canonical result) runs ``prog --error <error_mask> <wu_name> <wu_id>
<batch>`` instead.  The program runs in the daemon's directory
(``tmp_HOST``); a non-zero exit stops the daemon, leaving the job to be
tried again when it restarts.

BOINC's own build splits ``--script`` with a helper that now keeps the
space after each word ("wu_name " rather than "wu_name"), so no token of a
custom list matches and the script is run with no arguments at all (only
the default list, added without spaces, works).  Here the string is split
on whitespace and an unknown token is refused at startup.  The program is
also run without a shell, so paths are passed exactly, one per argument.
"""

import os
import subprocess

from .assimilator import Assimilator
from .errors import BoincError
from .outputs import output_files

TOKENS = ("files", "files2", "wu_id", "wu_name", "result_id", "runtime", "batch_id")
DEFAULT_TOKENS = ["wu_id", "files"]


def parse_script(spec):
    """``"prog tok ..."`` -> (prog, tokens); raises BoincError if unusable."""
    words = (spec or "").split()
    if not words:
        raise BoincError("script name missing from command line (--script \"prog [tokens]\")")
    prog, tokens = words[0], words[1:] or list(DEFAULT_TOKENS)
    unknown = [t for t in tokens if t not in TOKENS]
    if unknown:
        raise BoincError("--script: unknown token %s (tokens: %s)"
                         % (", ".join(repr(t) for t in unknown), " ".join(TOKENS)))
    return prog, tokens


def script_argv(path, tokens, wu, canonical, files):
    """The argument list for one job; ``files`` are (path, logical name) pairs."""
    if canonical is None:
        return [path, "--error", "%d" % wu.error_mask, wu.name, "%d" % wu.id, "%d" % wu.batch]
    argv = [path]
    for tok in tokens:
        if tok == "files":
            argv += [p for p, _ in files]
        elif tok == "files2":
            for p, logical in files:
                argv += [p, logical]
        elif tok == "wu_id":
            argv.append("%d" % wu.id)
        elif tok == "wu_name":
            argv.append(wu.name)
        elif tok == "result_id":
            argv.append("%d" % canonical.id)
        elif tok == "runtime":
            argv.append("%f" % canonical.elapsed_time)
        elif tok == "batch_id":
            argv.append("%d" % wu.batch)
    return argv


class ScriptAssimilator(Assimilator):
    name = "script_assimilator"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add("script", metavar='"PROG TOKENS"',
                   help="program in bin/ and its argument tokens: " + " ".join(TOKENS))

    def setup(self):
        self.prog, self.tokens = parse_script(self.args.script)
        super().setup()
        # BOINC runs ../bin/PROG from tmp_HOST: the project's bin/.
        self.path = os.path.join(self.config.dir("bin"), self.prog)
        if not os.path.isfile(self.path):
            raise BoincError("--script: no program %s" % self.path)

    def assimilate(self, wu, results, canonical):
        files = output_files(self.config, canonical) if canonical is not None else []
        argv = script_argv(self.path, self.tokens, wu, canonical, files)
        self.log.debug("invoking script: %s", " ".join(argv))
        try:
            status = subprocess.call(argv, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise BoincError("can't run %s: %s" % (self.path, exc.strerror)) from None
        if status:
            what = ("signal %d" % -status) if status < 0 else ("exit status %d" % status)
            self.log.normal("error (%s) from script: %s", what, " ".join(argv))
            return status if status > 0 else 1
        return 0


def run():
    ScriptAssimilator.run()
