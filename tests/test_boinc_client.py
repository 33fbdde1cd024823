"""The real-client test driver (tests/boinc_client.py) and tests/accounts.py.

The tests marked ``slow`` run Debian's real BOINC client against a project
made by make_project under a private Apache; each takes tens of seconds
(the client works on a 5 s tick).  They are in the default run.  Waits
have generous limits, and no assertion is about timing.
"""

import os
import re
import subprocess

import pytest

from accounts import client_passwd_hash, create_user, passwd_matches
from boinc_client import (BoincClient, ClientError, canonical_url, elem_to_dict,
                          host_path)
from sched import db as dbmod
from sched import schema, xmlutil

slow = pytest.mark.slow


# ------------------------------------------------------------ pure helpers

def test_canonical_url_and_host_path():
    assert canonical_url("http://127.0.0.1:8081/refproj") == "http://127.0.0.1:8081/refproj/"
    assert canonical_url("http://127.0.0.1:8081//a//b/") == "http://127.0.0.1:8081/a/b/"
    # The names the client gives the project's files (see the fixtures).
    assert host_path("http://127.0.0.1:8081/refproj/") == "127.0.0.1_8081_refproj"
    assert host_path("https://x.org/a-b/c_d/") == "x.org_a-b_c_d"


def test_elem_to_dict():
    root = xmlutil.parse_bytes("<r><a>1</a><flag/><n><x> 2 </x></n><m>3</m><m>4</m></r>")
    assert elem_to_dict(root) == {"a": "1", "flag": "", "n": {"x": "2"}, "m": ["3", "4"]}


# ------------------------------------------------------------ accounts

def test_create_user_fills_a_row_as_boinc_does(fresh_db):
    schema.load_schema(fresh_db)
    key = create_user(fresh_db, "Alice@Example.COM", "alice", passwd="s3cret")
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    row = fresh_db.query_one("SELECT * FROM user WHERE authenticator=%s", (key,))
    assert row["email_addr"] == "alice@example.com"
    assert row["name"] == "alice"
    assert re.fullmatch(r"[0-9a-f]{32}", row["cross_project_id"])
    assert row["cross_project_id"] != key
    assert row["create_time"] > 0 and row["expavg_time"] > 0
    assert row["total_credit"] == 0 and row["teamid"] == 0
    assert row["send_email"] == 1 and row["show_hosts"] == 1
    # The stored hash checks against md5(password + lower-cased e-mail) only.
    assert client_passwd_hash("s3cret", "Alice@Example.COM") == \
        client_passwd_hash("s3cret", "alice@example.com")
    assert passwd_matches(row["passwd_hash"], "s3cret", "alice@example.com")
    assert not passwd_matches(row["passwd_hash"], "wrong", "alice@example.com")

    other = create_user(fresh_db, "bob@example.com", "bob", teamid=7)
    assert other != key
    assert fresh_db.scalar("SELECT teamid FROM user WHERE authenticator=%s", (other,)) == 7
    with pytest.raises(dbmod.DatabaseError):        # e-mail addresses are unique
        create_user(fresh_db, "ALICE@example.com", "alice2")


# ------------------------------------------------------------ the client alone

def test_client_starts_with_our_config_and_stops(boinc_client):
    c1 = boinc_client("c1", ncpus=2)
    c2 = boinc_client("c2")                 # side by side, each on its own socket
    bodies = [m["body"] for m in c1.messages()]
    assert "Config: simulate 2 CPUs" in bodies
    assert "Config: report completed tasks immediately" in bodies
    assert "Config: simulate 1 CPUs" in [m["body"] for m in c2.messages()]
    assert any(b.startswith("Data directory: " + c1.dir) for b in bodies)
    assert c1.project_status() == [] and c1.results() == [] and c1.old_results() == []
    assert c1.cc_status()["network_mode"]
    # boinccmd with its fixed argument order works against the same socket.
    assert "CPU status" in c2.boinccmd("--get_cc_status").stdout

    pgid = c1.proc.pid
    c1.stop()
    assert c1.proc.returncode is not None and not c1.running()
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)                  # nothing of its process group is left
    c1.stop()                               # idempotent
    assert c2.running()


def test_client_refuses_a_master_url_without_a_dot(boinc_client):
    client = boinc_client()
    with pytest.raises(ClientError, match="refused"):
        client.attach("http://localhost:8081/x/", "0" * 32)
    assert client.project_status() == []


def test_wait_for_reports_the_log_tail_on_timeout(boinc_client):
    client = boinc_client()
    assert client.wait_for(lambda: 42, timeout=5) == 42
    with pytest.raises(ClientError) as info:
        client.wait_for(lambda: False, timeout=0.5, poll=0.1, what="the impossible")
    message = str(info.value)
    assert "waiting for the impossible" in message
    assert "stdoutdae.txt" in message and "Starting BOINC client" in message


def test_client_that_cannot_start_is_reported(tmp_path):
    client = BoincClient(tmp_path / "c", args=["--no_such_option"])
    with pytest.raises(ClientError, match="exited"):
        client.start(timeout=30)
    client.stop()


# ------------------------------------------------------------ against a project

def _project(make_project, private_apache, mode):
    """A project under a private Apache; its scheduler runs as CGI or FastCGI."""
    if mode == "fcgi":
        proj = make_project("test", "--fcgi")
        private_apache(proj)
    else:
        proj = make_project("test")
        private_apache(proj, "cgi")
    return proj


def _scheduler_url(proj, mode):
    return proj.url("%s_cgi/%s" % (proj.name, mode))


def _master_fetched(client, url):
    p = client.project(url)
    return p is not None and "master_url_fetch_pending" not in p and client.scheduler_urls(url)


def _rpc_outcome(client, url):
    """The client's 'Scheduler request completed/failed' message, once there is one."""
    for body in client.message_bodies(url):
        if body.startswith(("Scheduler request completed", "Scheduler request failed")):
            return body
    return None


def _wait_for_rpc(client, url):
    outcome = client.wait_for(lambda: _rpc_outcome(client, url), timeout=120, nudge_url=url,
                              what="a scheduler RPC")
    if not outcome.startswith("Scheduler request completed"):
        client.fail("the scheduler RPC failed: %s" % outcome)
    assert float(client.project(url)["last_rpc_time"]) > 0
    request = xmlutil.parse_bytes(client.project_file("sched_request", url))
    return request


def _reply_messages(client, url):
    reply = xmlutil.parse_bytes(client.project_file("sched_reply", url))
    assert reply.tag == "scheduler_reply"
    return reply, [(m.text or "").strip() for m in reply.iter("message")]


@slow
@pytest.mark.parametrize("mode", [
    "cgi",
    "fcgi"])
def test_attach_master_fetch_and_scheduler_rpc(make_project, private_apache, boinc_client, mode):
    proj = _project(make_project, private_apache, mode)
    db = dbmod.connect(proj.config)
    key = create_user(db, "alice@example.com", "alice")
    url = proj.url(proj.name + "/")

    client = boinc_client()
    client.attach(url, key)
    p = client.project(url)
    assert p["master_url"] == url
    assert "master_url_fetch_pending" in p
    with open(client.path("account_%s.xml" % host_path(url))) as f:
        assert key in f.read()

    # The master page is fetched and the scheduler link found in it.
    client.wait_for(lambda: _master_fetched(client, url), timeout=120, what="master fetch")
    assert client.scheduler_urls(url) == [_scheduler_url(proj, mode)]
    assert "Master file download succeeded" in client.message_bodies(url)
    assert _scheduler_url(proj, mode).encode() in client.project_file("master", url)

    # Then a scheduler RPC: our account key went out and a reply came back.
    request = _wait_for_rpc(client, url)
    assert xmlutil.text_of(request, "authenticator") == key
    # No daemons run, so the project is down; the client shows what it said.
    reply, said = _reply_messages(client, url)
    assert reply.find("project_is_down") is not None
    assert said, "a project-down reply should say why"
    bodies = client.message_bodies(url)
    for text in said:
        assert text in bodies
    assert "hostid" not in [c.tag for c in reply]
    assert db.scalar("SELECT COUNT(*) FROM host") == 0


@slow
def test_scheduler_rpc_with_daemons_running(project, private_apache, boinc_client):
    """bin/start runs the feeder: the scheduler answers and makes a host."""
    private_apache(project, "cgi")
    db = dbmod.connect(project.config)
    key = create_user(db, "carol@example.com", "carol")
    userid = db.scalar("SELECT id FROM user WHERE authenticator=%s", (key,))
    url = project.url(project.name + "/")
    bindir = os.path.join(project.dir, "bin")
    # bin/start waits (5 s by default) for the feeder's shared memory.
    start = subprocess.run([os.path.join(bindir, "start")], cwd=project.dir,
                           capture_output=True, text=True, timeout=120)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        client = boinc_client()
        client.attach(url, key)
        request = _wait_for_rpc(client, url)
        assert xmlutil.text_of(request, "authenticator") == key
        reply, said = _reply_messages(client, url)
        assert reply.find("project_is_down") is None, said
        hostid = xmlutil.strtol(xmlutil.text_of(reply, "hostid"))
        assert hostid > 0
        host = db.query_one("SELECT * FROM host WHERE id=%s", (hostid,))
        assert host is not None and host["userid"] == userid
        p = client.project(url)
        assert int(p["hostid"]) == hostid and p["user_name"] == "carol"
    finally:
        subprocess.run([os.path.join(bindir, "stop")], cwd=project.dir,
                       capture_output=True, timeout=120)
