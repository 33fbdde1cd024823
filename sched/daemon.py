"""The one daemon base every BOINC daemon here stands on.

In the spirit of Mailman's queue runners: a subclass says what one pass
does (:meth:`Daemon.do_pass`, returning whether it found work) and which
options it adds; the base owns the rest of the contract BOINC's daemons
keep:

* options ``-d N`` / ``--debug_level N``, ``--one_pass``,
  ``--sleep_interval S``, ``--mod N I`` (written with ``-`` or ``--``);
* exit at the next check when ``stop_daemons`` exists in the project dir or
  on SIGHUP (checked between work items and every second of a sleep);
* BOINC-style log lines on stderr, which ``bin/start`` sends to
  ``log_HOST/NAME.log``;
* a one-line CRITICAL message and exit status 1 for an operator error
  (bad config, DB unreachable); ``bin/start --cron`` restarts the daemon.
"""

import os
import signal
import sys
import time
import traceback

from . import config as configmod
from . import db as dbmod
from . import log as logmod
from .cli import ArgumentParser
from .errors import BoincError

STOP_DAEMONS = "stop_daemons"


class Stop(Exception):
    """Raised to leave the main loop cleanly."""


class Daemon:
    name = "daemon"
    description = ""
    sleep_interval = 5.0        # seconds, when a pass found nothing to do
    needs_db = True

    def __init__(self):
        self.args = None
        self.config = None
        self.db = None
        self.log = logmod.Log()
        self._stop_signal = False

    # -- to override
    def add_arguments(self, parser):
        """Add this daemon's own options to ``parser``."""

    def setup(self):
        """Run once after config and DB are open (read keys, check options)."""

    def do_pass(self):
        """Do one pass of work; return True if anything was done."""
        raise NotImplementedError

    def cleanup(self):
        """Run once on the way out (release shared memory ...)."""

    # -- options
    def make_parser(self):
        parser = ArgumentParser(prog=self.name, description=self.description)
        parser.add("d", "debug_level", type=int, default=logmod.NORMAL, metavar="N",
                   help="log level: 1 critical ... 4 debug (default 3)")
        parser.add("one_pass", action="store_true", help="do one pass, then exit")
        parser.add("sleep_interval", type=float, default=None, metavar="S",
                   help="seconds to sleep when there is nothing to do")
        parser.add("mod", type=int, nargs=2, metavar=("N", "I"), default=None,
                   help="handle only items whose id %% N == I")
        self.add_arguments(parser)
        return parser

    def mod_clause(self, column):
        """SQL fragment and its parameters restricting ``column`` to our slice.

        MOD() rather than ``%``: the driver formats the query with ``%``.
        """
        if not self.args.mod:
            return "", ()
        n, i = self.args.mod
        return " and mod(%s, %%s) = %%s" % column, (n, i)

    # -- the contract
    def _on_stop_signal(self, signum, frame):
        self._stop_signal = True

    def check_stop(self):
        if self._stop_signal:
            self.log.normal("Quitting due to SIGHUP")
            raise Stop()
        trigger = self.config.project_path(STOP_DAEMONS)
        if os.path.exists(trigger):
            self.log.normal("Quitting because trigger file '%s' is present", trigger)
            raise Stop()

    def sleep(self, seconds):
        """Sleep, checking for a stop request every second."""
        end = time.monotonic() + seconds
        while True:
            self.check_stop()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(1.0, left))

    def main(self, argv=None):
        self.args = self.make_parser().parse_args(argv)
        self.log = logmod.Log(level=self.args.d)
        if self.args.sleep_interval is not None:
            self.sleep_interval = self.args.sleep_interval
        if self.args.mod and not 0 <= self.args.mod[1] < self.args.mod[0]:
            self.log.critical("--mod N I needs 0 <= I < N")
            return 1
        signal.signal(signal.SIGHUP, self._on_stop_signal)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        try:
            self.config = configmod.load()
            self.check_stop()
            if self.needs_db:
                self.db = dbmod.connect(self.config)
            self.log.normal("Starting")
            self.setup()
            while True:
                self.check_stop()
                did_work = self.do_pass()
                if self.args.one_pass:
                    break
                if not did_work:
                    self.sleep(self.sleep_interval)
        except Stop:
            pass
        except BoincError as exc:
            self.log.critical("%s", exc)
            return exc.exit_code
        except Exception:           # an unexpected bug: say where, then exit
            self.log.critical("unexpected error:\n%s", traceback.format_exc())
            return 1
        finally:
            try:
                self.cleanup()
            finally:
                if self.db is not None:
                    self.db.close()
        return 0

    @classmethod
    def run(cls, argv=None):
        sys.exit(cls().main(sys.argv[1:] if argv is None else argv))
