"""What every command-line entry point shares.

* :func:`run` calls a ``main(argv)`` and turns :class:`BoincError` into one
  line on stderr and BOINC's exit status, never a traceback.
* :class:`ArgumentParser` accepts each long option as ``-name`` or
  ``--name``, as BOINC's programs do.
"""

import argparse
import os
import sys

from .errors import BoincError


def prog_name(argv0=None):
    return os.path.basename(argv0 or sys.argv[0])


def run(main, argv=None):
    """Run ``main(argv)`` and exit with its status; errors become one line."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        status = main(argv)
    except BoincError as exc:
        sys.stderr.write("%s: %s\n" % (prog_name(), exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(status or 0)


class ArgumentParser(argparse.ArgumentParser):
    """argparse where ``add(name)`` registers both ``-name`` and ``--name``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def add(self, *names, **kwargs):
        flags = []
        for name in names:
            bare = name.lstrip("-")
            flags += ["-" + bare, "--" + bare]
        return self.add_argument(*flags, **kwargs)

    def error(self, message):
        # Usage errors keep argparse's text but exit 1, as BOINC's tools do.
        self.print_usage(sys.stderr)
        sys.stderr.write("%s: error: %s\n" % (self.prog, message))
        sys.exit(1)
