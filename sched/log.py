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


_second = [None, ""]         # the last whole second formatted, and its text


def timestamp(now=None):
    now = time.time() if now is None else now
    whole = int(now)
    if whole != _second[0]:
        _second[:] = whole, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole))
    return "%s.%04d UTC" % (_second[1], int((now - whole) * 10000))


class Log:
    """A message log writing to a stream (stderr for daemons, a file for CGIs)."""

    def __init__(self, level=NORMAL, stream=None, with_pid=False, flush_each=True):
        self.level = level
        self.stream = stream
        self.pid_label = " [PID=%-5d]" % os.getpid() if with_pid else ""
        self.indent = 0
        # False: the caller flushes (the scheduler, once per request)
        self.flush_each = flush_each

    def flush(self):
        try:
            (self.stream or sys.stderr).flush()
        except (OSError, ValueError):
            pass

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
            if self.flush_each:
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
