"""sched/progress.py: a bar on a terminal, silence elsewhere."""

import io

from sched.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_quiet_when_not_a_terminal():
    out = io.StringIO()
    with Progress(10, "x", stream=out) as bar:
        for _ in range(10):
            bar.advance()
    assert bar.done == 10 and out.getvalue() == ""


def test_draws_on_a_terminal_and_ends_the_line():
    out = FakeTTY()
    with Progress(4, "jobs", stream=out) as bar:
        for _ in range(4):
            bar.advance()
    text = out.getvalue()
    assert text.startswith("\rjobs [") and text.endswith("\n")
    assert "100% 4/4" in text.splitlines()[-1]


def test_unknown_total_and_clear():
    out = FakeTTY()
    bar = Progress(None, "", stream=out)
    bar.advance(3)
    bar.clear()
    assert out.getvalue().startswith("\r3 ") and out.getvalue().endswith("\r\033[K")
    bar.finish()                                    # the final count, then a newline
    assert out.getvalue().endswith("\n")
    assert out.getvalue().rstrip("\n").split("\r")[-1].startswith("3 ")
