"""bin/start, bin/stop, bin/status (sched/start/) with real daemon processes.

Each test makes a project directory (config.xml, cgi-bin/, bin/) whose
daemons are a small real daemon on sched.daemon.Daemon, and runs the real
bin/ programs on it.  Waits have generous limits; no assertion is on timing.
"""

import fcntl
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from testenv import ROOT, SHARED
from sched import paths
from sched import start as startmod
from sched.errors import BoincError
from sched.start import launch
from sched.start.runstate import RunState, interpret_period

HOST = paths.short_hostname()

TICKER = '''#!{python}
"""Test daemon: logs each pass, sleeps between passes."""
import sys
sys.path.insert(0, {root!r})
from sched.daemon import Daemon


class Ticker(Daemon):
    name = "ticker"
    needs_db = False
    sleep_interval = 0.2

    def setup(self):
        self.passes = 0

    def do_pass(self):
        self.passes += 1
        self.log.normal("pass %d", self.passes)
        return False


if __name__ == "__main__":
    Ticker.run()
'''


# bin/run_in_ops as installed in a project: the library's place written in.
RUN_IN_OPS = """#!{python}
import sys; sys.path.insert(0, {root!r})
import sched; sched.entry("sched.start.run_in_ops")
"""


def wait_for(predicate, what, limit=30.0):
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.05)


def entry_xml(tag, cmd, **fields):
    parts = ["<cmd>%s</cmd>" % cmd]
    for name, value in fields.items():
        parts.append("<%s>%s</%s>" % (name, value, name))
    return "<%s>%s</%s>" % (tag, "".join(parts), tag)


class Project:
    """A throw-away project and the programs to run on it."""

    def __init__(self, root):
        self.root = root
        for d in ("cgi-bin", "bin", "html/ops"):
            os.makedirs(os.path.join(root, d))
        self.script("ticker", TICKER.format(python=sys.executable, root=ROOT))
        self.env = {k: v for k, v in os.environ.items() if k != "BOINC_PROJECT_DIR"}
        self.env[startmod.START_DELAY_ENV] = "0"

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def log(self, *parts):
        return self.path("log_" + HOST, *parts)

    def pid(self, *parts):
        return self.path("pid_" + HOST, *parts)

    def script(self, name, text, where="bin"):
        path = self.path(where, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def config(self, daemons=(), tasks=(), host=HOST, extra=""):
        with open(self.path("config.xml"), "w") as f:
            f.write("<boinc>\n<config><host>%s</host>%s</config>\n"
                    "<daemons>%s</daemons>\n<tasks>%s</tasks>\n</boinc>\n"
                    % (host, extra, "".join(daemons), "".join(tasks)))

    def run(self, prog, *args, cwd=None):
        return subprocess.run([sys.executable, os.path.join(ROOT, "bin", prog)] + list(args),
                              cwd=cwd or self.root, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)

    def read(self, *parts):
        with open(self.path(*parts)) as f:
            return f.read()

    def pid_of(self, name):
        return launch.read_pid(self.pid(name))


def processes_in(root):
    """Live processes whose current directory is inside ``root``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cwd = os.readlink("/proc/%s/cwd" % name)
            except OSError:
                continue
            if (cwd == root or cwd.startswith(root + "/")) and launch.is_running(int(name)):
                found.append(int(name))
    return found


@pytest.fixture
def project(tmp_path):
    p = Project(str(tmp_path))
    yield p
    # Stop whatever is left (a failed test, a long task), then make sure.
    p.run("stop", "-q")
    for pid in processes_in(p.root):
        os.kill(pid, signal.SIGKILL)


TICK = entry_xml("daemon", "ticker -d 3")
TOCK = entry_xml("daemon", "ticker --sleep_interval 0.3", output="tock.log", pid_file="tock.pid")


def started(project, name="ticker.pid", log="ticker.log"):
    """Wait for the daemon of pid file ``name`` to log a pass; return its pid."""
    pid = project.pid_of(name)
    assert pid and launch.is_running(pid)
    wait_for(lambda: "pass 1" in project.read("log_" + HOST, log), "a pass in " + log)
    return pid


# ---------------------------------------------------------------- start

def test_start_starts_the_daemons(project):
    project.config(daemons=[TICK, TOCK])
    result = project.run("start", "-v")
    assert result.returncode == 0, result.stderr
    assert "Entering ENABLED mode" in result.stdout
    assert "Starting daemon: ticker -d 3" in result.stdout
    tick = started(project)
    tock = started(project, "tock.pid", "tock.log")
    assert tick != tock
    # The "Executing command" line opens each log; then the daemon's own lines.
    log = project.read("log_" + HOST, "ticker.log")
    assert re.match(r"\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] Executing command: ticker -d 3\n", log)
    assert "Executing command: ticker --sleep_interval 0.3" in project.read("log_" + HOST,
                                                                            "tock.log")
    # Each daemon holds its lock (named after <output> when given), runs in
    # tmp_HOST with stdin on /dev/null.
    assert launch.lock_holder(project.pid("ticker.lock")) == tick
    assert launch.lock_holder(project.pid("tock.log.lock")) == tock
    assert os.readlink("/proc/%d/cwd" % tick) == project.path("tmp_" + HOST)
    assert os.readlink("/proc/%d/fd/0" % tick) == os.devnull
    assert os.getsid(tick) not in (os.getsid(0), tick)   # detached: a session of its own
    state = RunState.read(project.path("run_state_%s.xml" % HOST))
    assert state.enabled
    assert not os.path.exists(project.path("stop_daemons"))


def test_second_start_starts_no_duplicates(project):
    project.config(daemons=[TICK])
    assert project.run("start").returncode == 0
    first = started(project)
    result = project.run("start", "-v")
    assert result.returncode == 0
    assert "Staying in ENABLED mode" in result.stdout
    assert "Daemon already running: ticker -d 3" in result.stderr
    assert project.pid_of("ticker.pid") == first
    assert project.read("log_" + HOST, "ticker.log").count("Executing command") == 1


def test_start_removes_stop_files(project):
    project.config(daemons=[TICK])
    for name in ("stop_daemons", "stop_sched"):
        with open(project.path(name), "w") as f:
            f.write("<stop/>\n")
    assert project.run("start").returncode == 0
    assert not os.path.exists(project.path("stop_daemons"))
    assert not os.path.exists(project.path("stop_sched"))
    started(project)


def test_status_shows_running_daemons(project):
    project.config(daemons=[TICK, entry_xml("daemon", "ticker --x", disabled=1,
                                            pid_file="x.pid", output="x.log")])
    result = project.run("status", "-v")
    assert result.returncode == 0
    assert result.stdout.startswith("BOINC is DISABLED\n")
    assert project.run("start").returncode == 0
    pid = started(project)
    result = project.run("status", "-v")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "BOINC is ENABLED"
    assert "DAEMON  pid  status      lockfile disabled  commandline" in lines
    row = [line for line in lines if line.endswith(" ticker -d 3")]
    assert len(row) == 1
    assert re.match(r"\s+1\s+%d\s+running\s+locked\s+no\s+ticker -d 3$" % pid, row[0])
    row = [line for line in lines if line.endswith(" ticker --x")]
    assert re.match(r"\s+2\s+0\s+UNLOCKED\s+yes\s+ticker --x$", row[0])
    # Not verbose: one line.
    assert project.run("status").stdout == "BOINC is ENABLED\n"


def test_cron_restarts_a_killed_daemon(project):
    project.config(daemons=[TICK, TOCK])
    assert project.run("start").returncode == 0
    tick = started(project)
    tock = started(project, "tock.pid", "tock.log")
    os.kill(tick, signal.SIGKILL)
    wait_for(lambda: not launch.is_running(tick), "the killed daemon to go")
    status = project.run("status", "-v").stdout
    assert re.search(r"\s%d NOT RUNNING UNLOCKED\s+no\s+ticker -d 3" % tick, status)
    result = project.run("start", "--cron")
    assert result.returncode == 0
    # Quiet cron still says which daemon it had to restart.
    assert result.stdout.strip() == "Starting daemon: ticker -d 3"
    new = project.pid_of("ticker.pid")
    assert new != tick and launch.is_running(new)
    assert project.pid_of("tock.pid") == tock
    wait_for(lambda: project.read("log_" + HOST, "ticker.log").count("pass 1") == 2,
             "the restarted daemon's first pass")


def test_cron_does_not_start_daemons_when_disabled(project):
    project.config(daemons=[TICK])
    result = project.run("start", "--cron", "-v")
    assert result.returncode == 0
    assert "Verbose cron-start: status == DISABLED" in result.stdout
    assert not os.path.exists(project.pid("ticker.pid"))


def test_stop_stops_the_daemons(project):
    project.config(daemons=[TICK, TOCK])
    assert project.run("start").returncode == 0
    pids = [started(project), started(project, "tock.pid", "tock.log")]
    result = project.run("stop", "-v")
    assert result.returncode == 0, result.stderr
    assert "Entering DISABLED mode" in result.stdout
    for pid in pids:
        assert "Killed process %d" % pid in result.stdout
        assert not launch.is_running(pid)       # stop waits for them
    assert project.read("stop_daemons") == "<stop/>\n"
    assert project.read("stop_sched") == "<stop/>\n"
    assert not [n for n in os.listdir(project.pid()) if n.endswith(".pid")]
    assert "Quitting" in project.read("log_" + HOST, "ticker.log")
    assert project.run("status").stdout == "BOINC is DISABLED\n"
    again = project.run("stop", "-v")
    assert again.returncode == 0
    assert "Staying in DISABLED mode" in again.stdout
    assert "(No processes stopped)" in again.stdout


def test_stop_leaves_a_stale_pid_alone(project):
    # A pid file naming a live process that isn't our daemon (the pid was
    # reused, say after a reboot): stop must not signal it.
    project.config(daemons=[TICK])
    other = subprocess.Popen(["sleep", "300"])
    try:
        os.makedirs(project.pid())
        with open(project.pid("ticker.pid"), "w") as f:
            f.write("%d\n" % other.pid)
        result = project.run("stop", "-v")
        assert result.returncode == 0
        assert "Not signalling pid %d" % other.pid in result.stderr
        assert other.poll() is None
        assert not os.path.exists(project.pid("ticker.pid"))
    finally:
        other.kill()
        other.wait()


def test_disabled_daemons_do_not_start(project):
    project.config(daemons=[entry_xml("daemon", "ticker -d 3", disabled=1)])
    result = project.run("start", "-v")
    assert result.returncode == 0
    assert "No daemons for this host found" not in result.stdout
    assert not os.path.exists(project.pid("ticker.pid"))
    assert not os.path.exists(project.log("ticker.log"))


def test_daemon_of_another_host_is_left_to_it(project):
    # The main host starts its own daemons, then runs the same command on the
    # other host over <ssh_exec>; here a program recording its arguments.
    record = project.path("ssh.args")
    project.script("fake_ssh", '#!/bin/sh\nfor a in "$@"; do echo "$a"; done > %s\n' % record)
    project.config(daemons=[TICK, entry_xml("daemon", "ticker --far", host="otherhost",
                                            output="far.log", pid_file="far.pid")],
                   extra="<ssh_exec>%s</ssh_exec>" % project.path("bin", "fake_ssh"))
    result = project.run("start", "-q")
    assert result.returncode == 0, result.stderr
    started(project)
    assert not os.path.exists(project.pid("far.pid"))
    assert not os.path.exists(project.log("far.log"))
    assert project.read("ssh.args").splitlines() == [
        "otherhost", "cd", project.path("bin"), "&&", "./start", "-q"]


def test_no_daemons_for_this_host(project):
    record = project.path("ssh.args")
    project.script("fake_ssh", '#!/bin/sh\necho "$@" > %s\n' % record)
    # This host isn't the main one: no daemon is ours and nothing is delegated.
    project.config(daemons=[TICK], host="otherhost",
                   extra="<ssh_exec>%s</ssh_exec>" % project.path("bin", "fake_ssh"))
    result = project.run("start")
    assert result.returncode == 0
    assert "No daemons for this host found - check host name in config.xml" in result.stdout
    assert not os.path.exists(project.pid("ticker.pid"))
    assert not os.path.exists(record)


# ---------------------------------------------------------------- tasks

NOTE = "#!/bin/sh\necho \"ran $*\"\n"


def test_tasks_run_on_schedule(project):
    project.script("note", NOTE)
    project.config(tasks=[entry_xml("task", "note hourly", period="1 hour"),
                          entry_xml("task", "note daily", period="1 day", output="daily.out"),
                          entry_xml("task", "note off", period="1 hour", disabled=1,
                                    output="off.out")])
    assert project.run("start").returncode == 0
    before = int(time.time())
    result = project.run("start", "--cron", "-v")
    assert result.returncode == 0
    assert "Running task: note hourly" in result.stdout
    assert "Running task: note daily" in result.stdout
    wait_for(lambda: os.path.exists(project.log("note.out"))
             and "ran hourly" in project.read("log_" + HOST, "note.out"), "note.out")
    wait_for(lambda: os.path.exists(project.log("daily.out"))
             and "ran daily" in project.read("log_" + HOST, "daily.out"), "daily.out")
    assert not os.path.exists(project.log("off.out"))

    state = RunState.read(project.path("run_state_%s.xml" % HOST))
    runs = {t.cmd: t.last_run for t in state.tasks}
    assert set(runs) == {"note hourly", "note daily"}
    assert runs["note hourly"] >= before

    # Not due yet: nothing runs.
    result = project.run("start", "--cron", "-v")
    assert "Not running task because not time yet: note hourly" in result.stdout

    # Ninety minutes later the hourly task is due again, the daily one isn't.
    state.tasks = [t for t in state.tasks]
    for t in state.tasks:
        t.last_run -= 90 * 60
    state.write()
    result = project.run("start", "--cron", "-v")
    assert "Running task: note hourly" in result.stdout
    assert "Not running task because not time yet: note daily" in result.stdout
    wait_for(lambda: project.read("log_" + HOST, "note.out").count("ran hourly") == 2,
             "the second run")

    # --ignore-timestamps runs everything now.
    result = project.run("start", "--cron", "--ignore-timestamps", "-v")
    assert "Running task: note daily" in result.stdout
    wait_for(lambda: project.read("log_" + HOST, "daily.out").count("ran daily") == 2,
             "the forced run")


def test_disabled_project_runs_only_always_run_tasks(project):
    project.script("note", NOTE)
    project.config(tasks=[entry_xml("task", "note always", period="1 hour", always_run=1,
                                    output="always.out"),
                          entry_xml("task", "note normal", period="1 hour",
                                    output="normal.out")])
    result = project.run("start", "--cron", "-v")       # never enabled
    assert result.returncode == 0
    wait_for(lambda: os.path.exists(project.log("always.out")), "always.out")
    assert not os.path.exists(project.log("normal.out"))
    # --cron-tasks when enabled runs tasks but starts no daemon.
    project.config(daemons=[TICK], tasks=[entry_xml("task", "note normal", period="1 hour",
                                                    output="normal.out")])
    with open(project.path("run_state_%s.xml" % HOST), "w") as f:
        f.write("<boinc><enabled>1</enabled></boinc>")
    result = project.run("start", "--cron-tasks")
    assert result.returncode == 0
    wait_for(lambda: os.path.exists(project.log("normal.out")), "normal.out")
    assert not os.path.exists(project.pid("ticker.pid"))


def test_run_state_file_format(project):
    project.script("note", NOTE)
    project.config(tasks=[entry_xml("task", "note a &amp; b", period="5 min")])
    path = project.path("run_state_%s.xml" % HOST)
    with open(path, "w") as f:      # one entry for a task no longer in config.xml
        f.write("<boinc><tasks><task><cmd>gone</cmd><last_run>1070392808.86</last_run>"
                "<prunable>False</prunable></task></tasks><enabled>1</enabled></boinc>")
    now = int(time.time())
    assert project.run("start", "--cron").returncode == 0
    text = project.read(os.path.basename(path))
    match = re.fullmatch(
        r'<\?xml version="1.0" \?>\n<boinc>\n    <tasks>\n        <task>\n'
        r'            <cmd>note a &amp; b</cmd>\n            <last_run>(\d+)</last_run>\n'
        r'        </task>\n    </tasks>\n    <enabled>1</enabled>\n</boinc>\n', text)
    assert match, text
    assert now <= int(match.group(1)) <= now + 60
    assert project.run("stop").returncode == 0
    assert "<enabled>0</enabled>" in project.read(os.path.basename(path))


def test_status_shows_tasks(project):
    project.script("note", NOTE)
    project.config(tasks=[entry_xml("task", "note x", period="2 hours"),
                          entry_xml("task", "note y", period="1 day", disabled=1,
                                    output="y.out")])
    result = project.run("status", "-v")
    rows = [line for line in result.stdout.splitlines() if line.endswith(("note x", "note y"))]
    assert re.match(r"\s+1\s+\?\s+2 hours\s+NOW\s+unlocked\s+no\s+note x$", rows[0])
    assert re.match(r"\s+2\s+\?\s+1 day\s+NOW\s+unlocked\s+yes\s+note y$", rows[1])


def test_a_running_task_is_not_run_twice(project):
    project.script("slow", "#!/bin/sh\necho started\nexec sleep 300\n")
    project.config(tasks=[entry_xml("task", "slow", period="1 min")])
    assert project.run("start").returncode == 0
    assert project.run("start", "--cron").returncode == 0
    wait_for(lambda: launch.lock_holder(project.pid("slow.lock")), "the task's lock")
    holder = launch.lock_holder(project.pid("slow.lock"))
    result = project.run("start", "--cron", "--ignore-timestamps", "-v")
    assert "Task currently running! (slow)" in result.stderr
    assert "LOCKED" in project.run("status", "-v").stdout
    assert holder in processes_in(project.root)     # the fixture ends it


def test_period_syntax():
    assert interpret_period("5") == 300
    assert interpret_period("30 s") == 30
    assert interpret_period("5 min") == 300
    assert interpret_period("1 hour") == interpret_period("60 minutes") == 3600
    assert interpret_period("24 hours") == interpret_period("1 days") == 86400
    assert interpret_period("2 weeks") == 14 * 86400
    assert interpret_period("1 month") == 30 * 86400
    for bad in ("", "1.5 hours", "one hour", "1 fortnight", "1 2 3"):
        with pytest.raises(ValueError):
            interpret_period(bad)


def test_bad_period_is_reported_and_others_still_run(project):
    project.script("note", NOTE)
    project.config(tasks=[entry_xml("task", "note bad", period="often", output="bad.out"),
                          entry_xml("task", "note good", period="1 hour", output="good.out")])
    assert project.run("start").returncode == 0
    result = project.run("start", "--cron")
    assert result.returncode == 1
    assert 'Invalid task period "often" of task: note bad' in result.stderr
    wait_for(lambda: os.path.exists(project.log("good.out")), "good.out")
    assert "bad period" in project.run("status", "-v").stdout


# ---------------------------------------------------------------- commands we lack

def test_missing_programs_are_reported_not_silent(project):
    project.script("uses_php.php", "#!/usr/bin/env boinc-no-such-interpreter\n",
                   where="html/ops")
    project.script("hello.sh", "#!/bin/sh\necho \"in $(pwd) $*\"\n", where="html/ops")
    project.script("run_in_ops", RUN_IN_OPS.format(python=sys.executable, root=ROOT))
    project.config(daemons=[entry_xml("daemon", "feeder -d 3"), TICK],
                   tasks=[entry_xml("task", "run_in_ops ./update_uotd.php", period="1 days",
                                    output="update_uotd.out"),
                          entry_xml("task", "run_in_ops ./uses_php.php", period="1 days"),
                          entry_xml("task", "run_in_ops ./hello.sh arg", period="1 days")])
    status = project.run("status", "-v").stdout
    assert re.search(r"feeder -d 3  \[not provided: 'feeder' not found in bin/ or PATH\]",
                     status)
    assert "update_uotd.php  [not provided: html/ops/update_uotd.php not found]" in status
    assert ("[not provided: 'boinc-no-such-interpreter' (the interpreter of "
            "html/ops/uses_php.php) is not installed]") in status
    assert not [line for line in status.splitlines()
                if "not provided" in line and ("ticker" in line or "hello" in line)]

    result = project.run("start")
    assert result.returncode == 0
    assert "Can't start daemon 'feeder -d 3': 'feeder' not found in bin/ or PATH" in result.stderr
    assert "Can't execute command: feeder -d 3" in project.read("log_" + HOST, "feeder.log")
    started(project)        # the others still start

    result = project.run("start", "--cron")
    assert result.returncode == 0
    assert "html/ops/update_uotd.php not found" in result.stderr
    assert "update_uotd.php not found" in project.read("log_" + HOST, "update_uotd.out")
    wait_for(lambda: os.path.exists(project.log("hello.sh.out")), "hello.sh.out")
    wait_for(lambda: "arg" in project.read("log_" + HOST, "hello.sh.out"), "its output")
    assert project.read("log_" + HOST, "hello.sh.out") == "in %s arg\n" % project.path(
        "html", "ops")


def test_run_in_ops_names_a_missing_program(project):
    result = project.run("run_in_ops", "./nothing.php", cwd=project.path("cgi-bin"))
    assert result.returncode == 127
    assert result.stderr.startswith("run_in_ops: can't run ")
    assert "nothing.php" in result.stderr and "Traceback" not in result.stderr


def test_shell_commands_need_use_shell(project):
    project.config(tasks=[entry_xml("task", "echo a | tr a c", period="1 hour",
                                    output="piped.out"),
                          entry_xml("task", "echo a | tr a b", period="2 hours",
                                    output="shell.out", use_shell=1)])
    assert project.run("start").returncode == 0
    result = project.run("start", "--cron")
    assert "<use_shell> is required but was not specified" in result.stderr
    wait_for(lambda: os.path.exists(project.log("shell.out")), "shell.out")
    wait_for(lambda: project.read("log_" + HOST, "shell.out") == "b\n", "the shell's output")
    assert not os.path.exists(project.log("piped.out"))


# ---------------------------------------------------------------- errors, options

def test_malformed_config_is_one_line(project):
    with open(project.path("config.xml"), "w") as f:
        f.write("<boinc><config><host>x</config>")
    for prog in ("start", "stop", "status"):
        result = project.run(prog)
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(prog + ": ") and "config.xml" in lines[0]
        assert "Traceback" not in result.stderr


def test_no_project_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BOINC_PROJECT_DIR"}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "status"),
                             "--config-file=%s" % (tmp_path / "none.xml")],
                            cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "none.xml" in result.stderr


def test_project_found_from_a_subdirectory_and_by_env(project):
    project.config(daemons=[TICK])
    assert project.run("status", cwd=project.path("html", "ops")).stdout == "BOINC is DISABLED\n"
    env = dict(project.env, BOINC_PROJECT_DIR=project.root)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "status")], cwd="/",
                            env=env, capture_output=True, text=True)
    assert result.stdout == "BOINC is DISABLED\n", result.stderr


def test_only_one_start_at_a_time(project):
    project.config(daemons=[TICK])
    os.makedirs(project.pid())
    fd = os.open(project.pid("start.lock." + HOST), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = project.run("start")
        assert result.returncode == 1
        assert result.stderr == "start is currently running!\n"
        assert not os.path.exists(project.pid("ticker.pid"))
    finally:
        os.close(fd)


def test_project_user_name_is_enforced(project):
    project.config(extra="<project_user_name>boinc-nobody-here</project_user_name>")
    result = project.run("status")
    assert result.returncode == 1
    assert 'must be run by user "boinc-nobody-here"' in result.stderr


def test_help_and_bad_options(project):
    result = project.run("start", "--help")
    assert result.returncode == 1
    assert "--cron" in result.stderr and "default command is --enable" in result.stderr
    result = project.run("stop", "--bogus")
    assert result.returncode == 1 and "--bogus" in result.stderr


def test_command_comes_from_the_program_name():
    assert startmod.make_parser("x").parse_args(["-k"]).command == "disable"
    assert startmod.make_parser("x").parse_args(["-e", "-s"]).command == "status"
    with pytest.raises(BoincError, match="No command specified"):
        startmod.main([], argv0="/somewhere/bin/cron")


def test_show_config(project):
    project.config(daemons=[TICK], tasks=[entry_xml("task", "note z", period="1 hour")])
    result = project.run("status", "--show-config")
    assert result.returncode == 0
    assert "ticker -d 3" in result.stdout and "note z" in result.stdout
    assert project.log("ticker.log") in result.stdout
    assert project.pid("ticker.pid") in result.stdout


def test_stop_and_status_are_links_to_start():
    for name in ("stop", "status"):
        assert os.readlink(os.path.join(ROOT, "bin", name)) == "start"


def test_start_waits_its_turn_while_stop_waits(project):
    # A daemon slow to leave: stop is still waiting for it, and holds
    # start.lock all along, so a start meanwhile is refused.
    project.script("slowpoke", "#!/bin/sh\ntrap '' HUP\n"
                   "while [ ! -e ../let_go ]; do sleep 0.05; done\n")
    project.config(daemons=[entry_xml("daemon", "slowpoke")])
    assert project.run("start").returncode == 0
    pid = project.pid_of("slowpoke.pid")
    assert launch.is_running(pid)
    stop = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "stop")],
                            cwd=project.root, env=project.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: not os.path.exists(project.pid("slowpoke.pid")), "stop to begin")
        result = project.run("start")
        assert result.returncode == 1
        assert result.stderr == "start is currently running!\n"
        assert stop.poll() is None
    finally:
        open(project.path("let_go"), "w").close()
        out, err = stop.communicate(timeout=60)
    assert stop.returncode == 0, err
    assert not launch.is_running(pid)


def test_the_config_boinc_make_project_wrote(project):
    # BOINC's own config.xml (its host and paths made ours); "feeder" is our
    # test daemon here, the other programs are missing from this project.
    with open(os.path.join(SHARED, "fixtures", "boinc-made-project",
                           "config.xml")) as f:
        text = f.read()
    text = text.replace("<host>vm</host>", "<host>%s</host>" % HOST)
    text = text.replace("/home/boincadm/projects/refproj/log_vm", project.log())
    with open(project.path("config.xml"), "w") as f:
        f.write(text)
    os.symlink("ticker", project.path("bin", "feeder"))
    project.script("run_in_ops", RUN_IN_OPS.format(python=sys.executable, root=ROOT))

    result = project.run("start", "-v")
    assert result.returncode == 0
    assert "Starting daemon: feeder -d 3" in result.stdout
    assert "Can't start daemon 'transitioner -d 3'" in result.stderr
    started(project, "feeder.pid", "feeder.log")

    status = project.run("status", "-v").stdout.splitlines()
    rows = [line for line in status if re.match(r"\s+\d+ ", line)]
    assert len(rows) == 5 + 11
    assert re.search(r"running\s+locked\s+no\s+feeder -d 3$", rows[0])
    assert rows[1].endswith("transitioner -d 3  [not provided: 'transitioner' not found in "
                            "bin/ or PATH]")
    disabled = [r for r in rows[5:] if re.search(r"unlocked\s+yes\s", r)]
    assert len(disabled) == 2 and "db_dump" in disabled[0] and "team_import" in disabled[1]
    assert "update_uotd.php  [not provided: html/ops/update_uotd.php not found]" in rows[7]
