"""scripts/demo end to end, as a newcomer runs it: set up, make the project on a
private MariaDB and Apache, run real jobs with the real BOINC client, end with
MASTER_URL= and AUTHENTICATOR=; run again (idempotent), recover a half-made
project, stop everything.  Each run takes about a minute.

Every run uses a fresh --project_root under /tmp (www-data must enter it)
and free ports, so a developer's own demo is never touched.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request

import pytest

from sched import config, states
from sched import db as dbmod
from sched.apache import free_port
from sched.demo import app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "scripts", "demo")
WORDFREQ = os.path.join(ROOT, "samples", "wrapper", "wordfreq.sh")


def demo(*args, timeout=1200):
    return subprocess.run([DEMO] + [str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


def processes_under(path):
    """pids of processes whose command line names ``path`` (the demo's all do:
    mariadbd --defaults-file=..., apache2 -f ..., boinc --dir ..., bin/feeder ...)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/stat" % entry) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if path + "/" in cmd:
            found.append((int(entry), cmd))
    return found


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def demo_root():
    """A fresh /tmp dir (0755) for --project_root; whatever the demo left
    running there is stopped afterwards, then the dir is removed."""
    base = tempfile.mkdtemp(prefix="boincdemo-", dir="/tmp")
    os.chmod(base, 0o755)
    root = os.path.join(base, "proj")
    yield root
    if os.path.exists(root):
        demo("--stop", "--project_root", root)
    for pid, _ in processes_under(root):     # only processes the demo started here
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    shutil.rmtree(base, ignore_errors=True)


def last_two(proc):
    assert proc.returncode == 0, "scripts/demo failed (%d):\n%s\n%s" % (
        proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])
    lines = proc.stdout.rstrip("\n").split("\n")
    url, key = lines[-2], lines[-1]
    assert url.startswith("MASTER_URL=") and key.startswith("AUTHENTICATOR="), lines[-5:]
    return url[len("MASTER_URL="):], key[len("AUTHENTICATOR="):]


def check_project(root, url, key, batch, njobs):
    """The master URL, the account and the batch's jobs, as the demo claims."""
    with urllib.request.urlopen(url, timeout=30) as r:
        page = r.read().decode()
    cfg = config.load(root)
    scheduler = "%sdemo_cgi/%s" % (url.split("demo/")[0], "fcgi" if "fcgi" in
                                   cfg.get("upload_url") else "cgi")
    assert '<link rel="boinc_scheduler" href="%s">' % scheduler in page
    db = dbmod.connect(cfg)
    try:
        user = db.query_one("SELECT * FROM user WHERE authenticator = %s", (key,))
        assert user is not None and user["email_addr"] == "demo@example.com"
        wus = db.query("SELECT w.* FROM workunit w JOIN app a ON a.id = w.appid "
                       "WHERE a.name = 'wordfreq' AND w.batch = %s ORDER BY w.id", (batch,))
        assert len(wus) == njobs
        for wu in wus:
            assert wu["assimilate_state"] == states.ASSIMILATE_DONE
            assert wu["error_mask"] == 0 and wu["canonical_resultid"] > 0
            results = db.query("SELECT * FROM result WHERE workunitid = %s", (wu["id"],))
            # two results per job, both run by the real client for the demo user, agreeing
            assert len(results) == 2
            for r in results:
                assert r["outcome"] == states.RESULT_OUTCOME_SUCCESS
                assert r["validate_state"] == states.VALIDATE_STATE_VALID
                assert r["userid"] == user["id"] and r["hostid"] > 0
                stderr = r["stderr_out"]
                stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
                assert "wrapper: all tasks done" in stderr
            # the assimilated output is what the wrapped program makes of the input
            # (the input itself is gone: the file_deleter removed it)
            i = int(wu["name"].rsplit("_", 1)[1])
            expected = subprocess.run([WORDFREQ, "--top", "25", "--min-length", "3"],
                                      input=app.input_text(i, njobs).encode(),
                                      stdout=subprocess.PIPE, check=True).stdout
            with open(os.path.join(root, "sample_results", wu["name"]), "rb") as f:
                assert f.read() == expected
            assert expected.strip()
        return user
    finally:
        db.close()


@pytest.mark.slow
def test_demo_runs_reruns_recovers_and_stops(demo_root):
    root = demo_root
    port, db_port = free_port(), free_port()

    # 1. the first run makes everything and ends with the two lines
    first = demo("--project_root", root, "--port", port, "--db_port", db_port, "--jobs", 3)
    url, key = last_two(first)
    assert url == "http://127.0.0.1:%d/demo/" % port
    assert "results: sent" in first.stdout            # progress was shown
    check_project(root, url, key, batch=1, njobs=3)
    assert port_open(port) and port_open(db_port)     # it keeps running
    cfg = config.load(root)
    assert cfg.db_host == "127.0.0.1:%d" % db_port     # the private server
    mysql = [cmd for _, cmd in processes_under(root) if "mariadbd" in cmd]
    assert mysql and "--defaults-file=%s/mysql/my.cnf" % root in mysql[0]

    # 2. again, while it runs: the same project and account, a new batch
    second = demo("--project_root", root, "--jobs", 2)
    assert last_two(second) == (url, key)
    assert "reusing the demo project" in second.stdout
    check_project(root, url, key, batch=2, njobs=2)
    check_project(root, url, key, batch=1, njobs=3)   # nothing was recreated

    # 3. a project left half-made (running) is stopped, deleted and made afresh
    with open(os.path.join(root, "demo.json")) as f:
        state = json.load(f)
    state["complete"] = False
    with open(os.path.join(root, "demo.json"), "w") as f:
        json.dump(state, f)
    third = demo("--project_root", root, "--jobs", 1)
    url3, key3 = last_two(third)
    assert "starting afresh (it was left half-made)" in third.stdout
    assert url3 == url and key3 != key                # a new database, a new account
    check_project(root, url3, key3, batch=1, njobs=1)
    assert not os.path.exists(os.path.join(root, "sample_results", "wordfreq_b2_0"))

    # 4. the documented stop command stops everything the demo started
    stop = demo("--stop", "--project_root", root)
    assert stop.returncode == 0, stop.stderr
    assert "stopped daemons, private Apache, private MariaDB" in stop.stdout
    assert processes_under(root) == []
    assert not port_open(port) and not port_open(db_port)

    # 5. and a run after the stop starts it all again, same project
    fifth = demo("--project_root", root, "--jobs", 1)
    assert last_two(fifth) == (url3, key3)
    check_project(root, url3, key3, batch=2, njobs=1)
    stop = demo("--stop", "--project_root", root)
    assert stop.returncode == 0 and processes_under(root) == []
    # stopping twice is fine
    again = demo("--stop", "--project_root", root)
    assert again.returncode == 0 and "nothing was running" in again.stdout


@pytest.mark.slow
def test_demo_with_an_existing_mariadb_and_fastcgi(demo_root, db_account, db_name, admin_db):
    port = free_port()
    proc = demo("--project_root", demo_root, "--port", port, "--db_host", db_account["host"],
                "--db_user", db_account["user"], "--db_passwd", db_account["passwd"],
                "--db_name", db_name, "--fcgi", "--jobs", 2)
    url, key = last_two(proc)
    check_project(demo_root, url, key, batch=1, njobs=2)
    assert not os.path.exists(os.path.join(demo_root, "mysql"))     # no private server
    assert config.load(demo_root).db_name == db_name
    stop = demo("--stop", "--project_root", demo_root)
    assert "stopped daemons, private Apache;" in stop.stdout
    assert processes_under(demo_root) == []
    # the database stays on the existing server
    assert admin_db.scalar("SELECT COUNT(*) FROM information_schema.schemata "
                           "WHERE schema_name = %s", (db_name,)) == 1


def test_port_in_use_is_one_line_and_makes_nothing(demo_root):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        proc = demo("--project_root", demo_root, "--port", busy, "--db_port", free_port())
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "demo: 127.0.0.1:%d (for the private Apache) is in use by another program; "
        "choose a free port with --port" % busy)
    assert not os.path.exists(demo_root)


def test_a_directory_that_is_not_a_demo_is_left_alone(demo_root):
    os.makedirs(demo_root)
    with open(os.path.join(demo_root, "precious.txt"), "w") as f:
        f.write("mine\n")
    proc = demo("--project_root", demo_root, "--port", free_port())
    assert proc.returncode == 1
    assert "exists and is not a demo project (no demo.json)" in proc.stderr
    assert os.listdir(demo_root) == ["precious.txt"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's Apache runs as www-data")
def test_a_root_www_data_cannot_enter_is_refused(demo_root):
    closed = os.path.join(os.path.dirname(demo_root), "closed")
    os.makedirs(closed, mode=0o700)
    proc = demo("--project_root", os.path.join(closed, "proj"), "--port", free_port())
    assert proc.returncode == 1
    assert "the user www-data (Apache's children) can't enter %s" % closed in proc.stderr
    assert os.listdir(closed) == []


def test_stop_without_a_demo(demo_root):
    proc = demo("--stop", "--project_root", demo_root)
    assert proc.returncode == 0
    assert "no demo project in %s: nothing to stop" % demo_root in proc.stdout
