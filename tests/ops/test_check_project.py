"""bin/check_project on a running project: silent when all is well, and one
line (with its fix) for each fault we make: upload/ not writable by Apache,
a missing key, a scheduler URL config.xml doesn't account for, a stopped
daemon.  One project, Apache and set of daemons for the module."""

import os
import shutil
import signal
import subprocess
import time
from types import SimpleNamespace

import pytest

from opsproject import add_worker_app, build_project, start_apache, teardown
from sched import config
from sched.ops import daemons
from sched.tools import check_project


def check(proj, *args):
    proc = subprocess.run([os.path.join(proj.dir, "bin", "check_project")] + list(args),
                          cwd=proj.dir, capture_output=True, text=True, timeout=120)
    assert not proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.splitlines()


def bin_start(proj, *args):
    env = dict(os.environ, PYBOINC_START_DELAY="0")
    proc = subprocess.run([os.path.join(proj.dir, "bin", "start")] + list(args),
                          cwd=proj.dir, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def wait_running(proj, want):
    """Until every daemon of this host is (want=True) or isn't running."""
    deadline = time.monotonic() + 60
    while True:
        states = [d.status for d in daemons.daemon_status(config.load(proj.dir))]
        if all((s == daemons.RUNNING) == want for s in states):
            return
        assert time.monotonic() < deadline, states
        time.sleep(0.2)


@pytest.fixture(scope="module")
def running(admin_db, db_account):
    proj = build_project(admin_db, db_account, name="chk")
    try:
        proj.work = add_worker_app(proj, 0)
        start_apache(proj)
        bin_start(proj)
        wait_running(proj, True)
        yield proj
    finally:
        env = dict(os.environ, PYBOINC_START_DELAY="0")
        subprocess.run([os.path.join(proj.dir, "bin", "stop")], cwd=proj.dir, env=env,
                       capture_output=True, timeout=120)
        teardown(proj, admin_db)


def test_a_healthy_project_has_no_problems(running):
    status, lines = check(running)
    assert (status, lines) == (0, ["no problems found"])


def test_upload_dir_not_writable_by_apache(running):
    upload = os.path.join(running.dir, "upload")
    mode = os.stat(upload).st_mode
    os.chmod(upload, 0o755)
    try:
        status, lines = check(running)
    finally:
        os.chmod(upload, mode)
    assert status == 1
    assert lines == ["upload is not writable by www-data (Apache's programs, user www-data) "
                     "-- fix: chmod g+rwx %s" % upload], lines
    assert check(running)[0] == 0


def test_missing_key(running):
    key = os.path.join(running.dir, "keys", "upload_public")
    shutil.move(key, key + ".away")
    try:
        status, lines = check(running)
    finally:
        shutil.move(key + ".away", key)
    assert status == 1
    assert len(lines) == 1 and lines[0].startswith("key %s is missing -- fix: " % key)
    assert "crypt_prog -genkey 1024" in lines[0]
    # Readable by the wrong users is a problem too.
    private = os.path.join(running.dir, "keys", "upload_private")
    os.chmod(private, 0o644)
    try:
        status, lines = check(running)
    finally:
        os.chmod(private, 0o600)
    assert status == 1 and lines == ["private key %s is readable by everyone (mode 644) "
                                     "-- fix: chmod 600 %s" % (private, private)]


def test_scheduler_url_differs_from_config(running):
    page = os.path.join(running.dir, "html", "user", "index.html")
    with open(page) as f:
        original = f.read()
    good = running.url_base + "chk_cgi/cgi"
    assert good in original
    bad = running.url_base + "other_cgi/cgi"
    with open(page, "w") as f:
        f.write(original.replace(good, bad))
    try:
        status, lines = check(running)
    finally:
        with open(page, "w") as f:
            f.write(original)
    assert status == 1
    assert ("%s names scheduler URL %s, not one of this project's: config.xml's upload_url "
            "puts the programs at %schk_cgi/" % (running.master_url, bad, running.url_base)
            ) in [line.split(" -- fix: ")[0] for line in lines], lines
    # ... and it disagrees with schedulers.txt
    assert any("but html/user/schedulers.txt says %s" % good in line for line in lines)
    assert check(running)[0] == 0


def test_stopped_daemon(running):
    cfg = config.load(running.dir)
    victim = next(d for d in daemons.daemon_status(cfg) if d.cmd.startswith("file_deleter"))
    assert victim.status == daemons.RUNNING
    os.kill(victim.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while any(d.status == daemons.RUNNING and d.cmd == victim.cmd
              for d in daemons.daemon_status(cfg)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status, lines = check(running)
    assert status == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith("daemon 'file_deleter -d 3' is not running on ")
    assert "-- fix: cd %s && bin/start" % running.dir in lines[0]
    bin_start(running, "--cron")            # what cron does every 5 minutes
    wait_running(running, True)
    assert check(running)[0] == 0


# ------------------------------------------------------------ without a project

def test_shared_memory_limits():
    cfg = SimpleNamespace(work_items=1000, get=lambda tag, default=None: None)
    need = check_project.feeder_segment_size(cfg)
    assert need > 8 << 20        # 1000 slots of 8 kB texts, plus the catalog
    checker = check_project.Checker.__new__(check_project.Checker)
    checker.cfg, checker.problems = cfg, []
    checker.check_shmem_limits((need - 1, 1 << 30, 4096, 4096))
    assert [p.text for p in checker.problems] == [
        "the feeder's segment for <shmem_work_items> 1000 needs %d bytes, more than "
        "kernel.shmmax %d" % (need, need - 1)]
    checker.problems = []
    checker.check_shmem_limits((1 << 40, 10, 4096, 4096))
    assert len(checker.problems) == 1 and "kernel.shmall 10" in checker.problems[0].text
    checker.problems = []
    checker.check_shmem_limits((1 << 40, 1 << 30, 4096, 4096))
    assert checker.problems == []
