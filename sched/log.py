"""BOINC-style log lines.

``2026-08-21 10:00:00.1234 UTC [PID=4242 ] [CRITICAL] message``: UTC with
four fractional digits, the PID label only in the CGI programs, a kind tag,
an indent, then the message.  A line is printed when its kind is at most the
program's debug level (``-d N``, ``<sched_debug_level>``).
"""

import os
import sys
import time

CRITICAL, WARNING, NORMAL, DEBUG, DETAIL = 1, 2, 3, 4, 5
_KIND = {CRITICAL: "[CRITICAL]", WARNING: "[warning]", NORMAL: "",
         DEBUG: "[debug]", DETAIL: "[detail]"}


def timestamp(now=None):
    now = time.time() if now is None else now
    frac = int((now - int(now)) * 10000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + ".%04d UTC" % frac


class Log:
    """A message log writing to a stream (stderr for daemons, a file for CGIs)."""

    def __init__(self, level=NORMAL, stream=None, with_pid=False):
        self.level = level
        self.stream = stream
        self.pid_label = " [PID=%-5d]" % os.getpid() if with_pid else ""
        self.indent = 0

    def wanted(self, kind):
        return kind <= self.level

    def printf(self, kind, fmt, *args):
        if kind > self.level:
            return
        message = fmt % args if args else fmt
        stream = self.stream or sys.stderr
        lines = message.rstrip("\n").split("\n")
        prefix = "%s%s %s%s " % (timestamp(), self.pid_label, _KIND.get(kind, ""),
                                 " " * self.indent)
        try:
            stream.write("".join(prefix + line + "\n" for line in lines))
            stream.flush()
        except (OSError, ValueError):
            pass    # a full disk or closed stream must not take the program down

    def critical(self, fmt, *args):
        self.printf(CRITICAL, fmt, *args)

    def warning(self, fmt, *args):
        self.printf(WARNING, fmt, *args)

    def normal(self, fmt, *args):
        self.printf(NORMAL, fmt, *args)

    def debug(self, fmt, *args):
        self.printf(DEBUG, fmt, *args)

    def detail(self, fmt, *args):
        self.printf(DETAIL, fmt, *args)
