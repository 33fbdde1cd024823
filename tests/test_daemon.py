"""The daemon base (sched/daemon.py): options, --mod, and the stop contract.

The stop tests run a real daemon process and wait (with a generous limit) for
it to end; nothing asserts on how long anything takes.
"""

import signal
import subprocess
import sys
import time

import pytest

from testenv import ROOT
from sched import daemon as daemonmod
from sched.errors import BoincError

TICKER = '''#!{python}
"""A daemon that logs each pass; --work makes every pass report work."""
import sys
sys.path.insert(0, {root!r})
from sched.daemon import Daemon


class Ticker(Daemon):
    name = "ticker"
    needs_db = False

    def add_arguments(self, parser):
        parser.add("work", action="store_true")

    def setup(self):
        self.passes = 0

    def do_pass(self):
        self.passes += 1
        self.log.normal("pass %d", self.passes)
        return self.args.work


if __name__ == "__main__":
    Ticker.run()
'''


def wait_for(predicate, what, limit=30.0):
    """Poll until ``predicate()`` is true; fail after ``limit`` seconds."""
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.05)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A minimal project dir (config.xml + cgi-bin/) that daemons find."""
    (tmp_path / "cgi-bin").mkdir()
    (tmp_path / "config.xml").write_text("<boinc><config></config></boinc>\n")
    monkeypatch.setenv("BOINC_PROJECT_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


class Counter(daemonmod.Daemon):
    name = "counter"
    needs_db = False

    def __init__(self, work=True, fail=None):
        super().__init__()
        self.passes = 0
        self.work = work
        self.fail = fail

    def do_pass(self):
        self.passes += 1
        if self.fail:
            raise self.fail
        return self.work


def parse(argv):
    d = Counter()
    d.args = d.make_parser().parse_args(argv)
    return d


# ---------------------------------------------------------------- options

def test_options_with_one_or_two_dashes():
    args = parse(["-d", "4", "--one_pass", "-sleep_interval", "2.5", "-mod", "3", "1"]).args
    assert (args.d, args.one_pass, args.sleep_interval, args.mod) == (4, True, 2.5, [3, 1])
    args = parse(["--debug_level", "1", "--mod", "2", "0"]).args
    assert (args.d, args.one_pass, args.sleep_interval, args.mod) == (1, False, None, [2, 0])


def test_mod_clause_selects_our_slice(fresh_db):
    fresh_db.execute("create table item (id integer not null primary key)")
    fresh_db.executemany("insert into item (id) values (%s)", [(i,) for i in range(1, 10)])
    clause, params = parse(["--mod", "3", "1"]).mod_clause("id")
    rows = fresh_db.query("select id from item where id > %s" + clause + " order by id",
                          (0,) + tuple(params))
    assert [r["id"] for r in rows] == [1, 4, 7]
    clause, params = parse([]).mod_clause("id")
    assert (clause, params) == ("", ())
    assert len(fresh_db.query("select id from item where id > 0" + clause)) == 9


def test_mod_out_of_range_is_refused(project, capsys, restore_signals):
    d = Counter()
    assert d.main(["--mod", "3", "3", "--one_pass"]) == 1
    assert d.passes == 0
    assert "[CRITICAL]" in capsys.readouterr().err


# ---------------------------------------------------------------- the loop

def test_one_pass_does_one_pass(project, capsys, restore_signals):
    d = Counter(work=True)
    assert d.main(["--one_pass"]) == 0
    assert d.passes == 1
    assert "Starting" in capsys.readouterr().err


def test_stop_trigger_file_stops_before_any_pass(project, capsys, restore_signals):
    (project / "stop_daemons").write_text("<stop/>\n")
    d = Counter(work=True)
    assert d.main([]) == 0
    assert d.passes == 0
    assert "Quitting because trigger file" in capsys.readouterr().err


def test_operator_error_is_one_critical_line(project, capsys, restore_signals):
    d = Counter(fail=BoincError("config.xml: <thing> is wrong"))
    assert d.main(["--one_pass"]) == 1
    err = capsys.readouterr().err
    assert "[CRITICAL] config.xml: <thing> is wrong" in err
    assert "Traceback" not in err


def test_unexpected_error_exits_1_with_where(project, capsys, restore_signals):
    d = Counter(fail=ZeroDivisionError("boom"))
    assert d.main(["--one_pass"]) == 1
    err = capsys.readouterr().err
    assert "unexpected error" in err and "ZeroDivisionError: boom" in err


def test_no_project_dir_is_one_critical_line(tmp_path, monkeypatch, capsys, restore_signals):
    monkeypatch.setenv("BOINC_PROJECT_DIR", str(tmp_path))     # no config.xml there
    d = Counter()
    assert d.main(["--one_pass"]) == 1
    err = capsys.readouterr().err
    assert "[CRITICAL]" in err and "not a project directory" in err
    assert d.passes == 0


# ---------------------------------------------------------------- real processes

@pytest.fixture
def ticker(project):
    """Start the Ticker daemon as a process; yields a handle with its log."""
    script = project / "ticker"
    script.write_text(TICKER.format(python=sys.executable, root=ROOT))
    script.chmod(0o755)
    log = project / "ticker.log"
    procs = []

    class Handle:
        def start(self, *args):
            with open(log, "ab") as err:
                self.proc = subprocess.Popen([str(script)] + list(args), cwd=str(project),
                                             stdin=subprocess.DEVNULL, stderr=err)
            procs.append(self.proc)
            return self

        def log(self):
            return log.read_text() if log.exists() else ""

        def wait_exit(self):
            return self.proc.wait(timeout=60)

    yield Handle()
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sighup_ends_the_loop(ticker):
    t = ticker.start("--sleep_interval", "3600")
    wait_for(lambda: "pass 1" in t.log(), "the first pass")
    t.proc.send_signal(signal.SIGHUP)
    assert t.wait_exit() == 0
    assert "Quitting due to SIGHUP" in t.log()


def test_sighup_between_busy_passes(ticker):
    t = ticker.start("--work")
    wait_for(lambda: "pass 3" in t.log(), "some passes")
    t.proc.send_signal(signal.SIGHUP)
    assert t.wait_exit() == 0
    assert "Quitting due to SIGHUP" in t.log()


def test_stop_file_ends_a_long_sleep(ticker, project):
    # An hour's sleep must still notice stop_daemons (it is checked every second).
    t = ticker.start("--sleep_interval", "3600")
    wait_for(lambda: "pass 1" in t.log(), "the first pass")
    (project / "stop_daemons").write_text("<stop/>\n")
    assert t.wait_exit() == 0
    log = t.log()
    assert "Quitting because trigger file" in log
    assert "pass 2" not in log


def test_sigterm_ends_the_loop(ticker):
    t = ticker.start("--sleep_interval", "3600")
    wait_for(lambda: "pass 1" in t.log(), "the first pass")
    t.proc.terminate()
    assert t.wait_exit() == 0


def test_debug_level_filters_lines(ticker):
    # -d 1: only critical lines, so not even the passes are logged.
    t = ticker.start("-d", "1", "--one_pass")
    assert t.wait_exit() == 0
    assert t.log() == ""


def test_short_d_is_never_taken_for_a_longer_option():
    """``-d 3`` must mean the debug level even beside ``-dry_run``/``--download_dir``."""
    from sched.daemon import Daemon

    class D(Daemon):
        def add_arguments(self, parser):
            parser.add("dry_run", action="store_true")
            parser.add("download_dir")

    args = D().make_parser().parse_args(["-d", "4", "-dry_run", "--download_dir", "x"])
    assert (args.d, args.dry_run, args.download_dir) == (4, True, "x")
    assert D().make_parser().parse_args(["--d", "2"]).d == 2
