"""A progress bar for bulk command-line work, on stderr and only on a terminal.

    with Progress(total, "creating jobs") as bar:
        for item in items:
            ...
            bar.advance()

Redirected to a file or a pipe (cron, a web RPC running the tool), the bar
prints nothing, so logs stay clean.  Redraws are rate-limited: updating the
bar costs a comparison per item, not a write.
"""

import sys
import time

_WIDTH = 30          # characters of bar
_MIN_INTERVAL = 0.1  # seconds between redraws


class Progress:
    """Count work done out of ``total`` (None when unknown) and show it."""

    def __init__(self, total=None, label="", stream=None, enabled=None):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = _is_terminal(self.stream)
        self.enabled = enabled
        self.done = 0
        self._next_draw = 0.0
        self._start = time.monotonic()
        self._drawn = False

    def advance(self, n=1):
        self.done += n
        if self.enabled:
            now = time.monotonic()
            if now >= self._next_draw:
                self._next_draw = now + _MIN_INTERVAL
                self._draw(now)

    def finish(self):
        """Draw the final state and end the line (no-op when disabled)."""
        if self.enabled and (self._drawn or self.done):
            self._draw(time.monotonic())
            self._write("\n")
            self._drawn = False

    def clear(self):
        """Erase the bar, e.g. before printing a message on the same stream."""
        if self.enabled and self._drawn:
            self._write("\r\033[K")
            self._drawn = False
            self._next_draw = 0.0

    def _draw(self, now):
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * _WIDTH)
            bar = "[%s%s] %3d%% %d/%d" % ("#" * filled, "." * (_WIDTH - filled),
                                          int(frac * 100), self.done, self.total)
        else:
            bar = "%d" % self.done
        text = "%s%s %.0f/s" % (self.label + " " if self.label else "", bar, rate)
        self._write("\r" + text + "\033[K")
        self._drawn = True

    def _write(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.finish()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
