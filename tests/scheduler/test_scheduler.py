"""The scheduler WSGI app in-process against a real project, DB and job cache."""

import io
import os
import re

import pytest

from accounts import create_user
from workproject import SHARED, work_ready  # noqa: F401 (fixture)
from sched import states
from sched.scheduler import app as schedapp

FIXTURES = os.path.join(SHARED, "fixtures", "real-client-7.20")


def request_text(run, n, authenticator, **subs):
    with open(os.path.join(FIXTURES, run, "%02d_sched_request.xml" % n)) as f:
        text = f.read()
    text = re.sub(r"<authenticator>.*?</authenticator>",
                  "<authenticator>%s</authenticator>" % authenticator, text)
    for tag, value in subs.items():
        text = re.sub(r"<%s>.*?</%s>" % (tag, tag), "<%s>%s</%s>" % (tag, value, tag), text,
                      flags=re.S)
    return text


def rpc(wp, body, monkeypatch, method="POST"):
    monkeypatch.setenv("BOINC_PROJECT_DIR", wp.dir)
    data = body.encode()
    status = []
    out = schedapp.application({"wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data)),
                                "REQUEST_METHOD": method, "REMOTE_ADDR": "127.0.0.1"},
                               lambda s, h: status.append((s, dict(h))))
    out = b"".join(out)
    schedapp.after_request()        # as the FastCGI server does once the reply is out
    assert status[0][0] == "200 OK"
    return out.decode(), status[0][1]


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each test starts as a new process would (no cached config/DB/cache)."""
    state = schedapp._State()
    state.texts = {}
    monkeypatch.setattr(schedapp, "_state", state)
    yield


def sched_log(wp):
    with open(os.path.join(wp.config.dir("log"), "scheduler.log")) as f:
        return f.read()


def test_first_rpc_gets_a_job_and_the_report_is_acked(work_ready, monkeypatch):
    wp = work_ready(njobs=2)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    reply, headers = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    assert headers["Content-Type"] == "text/xml", reply + sched_log(wp)
    assert reply.startswith("<scheduler_reply>\n<scheduler_version>803</scheduler_version>\n"
                            "<dont_use_dcf/>\n")
    assert reply.endswith("</scheduler_reply>\n")
    hostid = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1))
    # the job and everything the client needs to run it
    assert "<app>\n    <name>worker</name>" in reply, reply + sched_log(wp)
    assert "<file_signature>" in reply and "<executable/>" in reply
    assert "<platform>x86_64-pc-linux-gnu</platform>" in reply
    assert re.search(r"<workunit>\n    <rsc_fpops_est>10000000000\.000000</rsc_fpops_est>\n", reply)
    m = re.search(r"<result>\n<report_deadline>(\d+)</report_deadline>\n<wu_name>(job_\d)"
                  r"</wu_name>\n<name>(job_\d_0)</name>\n", reply)
    assert m, reply
    assert re.search(r"<code_sign_key>\n1024\n[0-9a-f]{64}\n", reply)
    row = wp.db.query_one("SELECT * FROM result WHERE name=%s", (m.group(3),))
    assert row["server_state"] == states.RESULT_SERVER_STATE_IN_PROGRESS
    assert row["hostid"] == hostid and row["report_deadline"] == int(m.group(1))
    host = wp.db.query_one("SELECT * FROM host WHERE id=%s", (hostid,))
    assert host["p_ncpus"] == 1 and host["os_name"] == "Linux Debian"
    assert len(host["host_cpid"]) == 32 and host["host_cpid"] != "1446601280780943992755868c4e0e8d"
    log = sched_log(wp)
    assert re.search(r"Request: \[USER#\d+\] \[HOST#%d\] \[IP 127\.0\.0\.1\] client 7\.20\.5"
                     % hostid, log)
    assert "Sending reply to [HOST#%d]: 1 results" % hostid in log

    # the client reports it, as in the recorded second request; the job ran
    # for a while (BOINC clamps elapsed time to the turnaround it sees)
    wp.db.execute("UPDATE result SET sent_time=sent_time-60 WHERE id=%s", (row["id"],))
    text = request_text("run-plain", 2, auth, hostid=hostid, rpc_seqno=1)
    text = text.replace("refjob_10_0", m.group(3))
    reply2, _ = rpc(wp, text, monkeypatch)
    assert "<result_ack>\n    <name>%s</name>\n</result_ack>" % m.group(3) in reply2
    row = wp.db.query_one("SELECT * FROM result WHERE id=%s", (row["id"],))
    assert row["server_state"] == states.RESULT_SERVER_STATE_OVER
    assert row["outcome"] == states.RESULT_OUTCOME_SUCCESS
    assert row["exit_status"] == 0 and row["client_state"] == 5
    assert row["cpu_time"] == pytest.approx(5.604334)
    wu = wp.db.query_one("SELECT transition_time FROM workunit WHERE id=%s", (row["workunitid"],))
    assert wu["transition_time"] <= row["received_time"]


def test_bad_authenticator(work_ready, monkeypatch):
    wp = work_ready(njobs=1)
    reply, _ = rpc(wp, request_text("run-plain", 1, "0" * 32), monkeypatch)
    assert "Invalid or missing account key" in reply
    assert "<request_delay>3600.000000</request_delay>" in reply
    assert "<result>" not in reply and "<userid>" not in reply
    assert "Bad authenticator" in sched_log(wp)
    assert wp.db.scalar("SELECT count(*) FROM host") == 0


def test_garbage_gets_boinc_error_reply(work_ready, monkeypatch):
    wp = work_ready(njobs=0)
    reply, _ = rpc(wp, "<scheduler_request><hostid>", monkeypatch)
    assert "Error in request message: no end tag" in reply
    assert reply.endswith("</scheduler_reply>\n")
    reply, _ = rpc(wp, "", monkeypatch, method="GET")
    assert "Error in request message: no start tag" in reply
    assert "(used GET method - probably a browser)" in sched_log(wp)


def test_feeder_not_running(work_ready, monkeypatch):
    wp = work_ready(njobs=0, feeder=False)
    reply, headers = rpc(wp, request_text("run-plain", 1, "x"), monkeypatch)
    assert headers["Content-Type"] == "text/plain"
    assert "<message priority=\"low\">Server error: feeder not running</message>" in reply
    assert "<project_is_down/>" in reply
    assert "[CRITICAL] Can't attach shmem: -144 (feeder not running?)" in sched_log(wp)


def test_stop_sched(work_ready, monkeypatch):
    wp = work_ready(njobs=0)
    open(os.path.join(wp.dir, "stop_sched"), "w").close()
    reply, _ = rpc(wp, request_text("run-plain", 1, "x"), monkeypatch)
    assert "Project is temporarily shut down for maintenance" in reply
    assert "<project_is_down/>" in reply


GUI_URLS = """<gui_urls>
    <gui_url>
        <name>Your account</name>
        <description>View your account information at <project_name/></description>
        <url><master_url/>home.php</url>
    </gui_url>
    <ifteam>
        <gui_url>
            <name>Your team</name>
            <url><master_url/>team_display.php?teamid=<teamid/></url>
        </gui_url>
    </ifteam>
</gui_urls>
<rss_feeds>
    <rss_feed>
        <url><master_url/>notices.php?userid=<userid/>&amp;auth=<rss_auth/></url>
        <poll_interval>86400</poll_interval>
    </rss_feed>
</rss_feeds>
"""


def top_tags(text):
    """The reply's top-level element names in order, repeats folded."""
    from sched import xmlutil
    tags = []
    for elem in xmlutil.parse_bytes(text):
        if not tags or tags[-1] != elem.tag:
            tags.append(elem.tag)
    return tags


def test_replayed_requests_get_the_elements_of_boinc_replies(work_ready, monkeypatch):
    """The real client's recorded RPCs, replayed: same elements, in the same order,
    as the reference server's replies (ids, times and names aside)."""
    wp = work_ready(njobs=1)
    with open(os.path.join(wp.dir, "gui_urls.xml"), "w") as f:
        f.write(GUI_URLS)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    reply1, _ = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    with open(os.path.join(FIXTURES, "run-plain", "01_sched_reply.xml")) as f:
        assert top_tags(reply1) == top_tags(f.read().replace("&auth", "&amp;auth"))
    assert "home.php</url>" in reply1 and "team_display" not in reply1   # no team
    hostid = int(re.search(r"<hostid>(\d+)</hostid>", reply1).group(1))
    name = re.search(r"<name>(job_\d_0)</name>", reply1).group(1)
    wp.db.execute("UPDATE result SET sent_time=sent_time-60 WHERE name=%s", (name,))
    text = request_text("run-plain", 2, auth, hostid=hostid, rpc_seqno=1)
    reply2, _ = rpc(wp, text.replace("refjob_10_0", name), monkeypatch)
    with open(os.path.join(FIXTURES, "run-plain", "02_sched_reply.xml")) as f:
        assert top_tags(reply2) == top_tags(f.read().replace("&auth", "&amp;auth"))


def test_fifty_megabyte_request_is_refused_with_a_reply(work_ready, monkeypatch):
    wp = work_ready(njobs=1)
    body = "<scheduler_request>" + "x" * (50 << 20) + "</scheduler_request>"
    reply, headers = rpc(wp, body, monkeypatch)
    assert "Error in request message: request too large" in reply
    assert reply.endswith("</scheduler_reply>\n") and "<result>" not in reply
    assert "Request too large" in sched_log(wp)
    assert wp.db.scalar("SELECT count(*) FROM host") == 0


def test_unknown_hostid_gets_a_new_host_record(work_ready, monkeypatch):
    """A host id the DB doesn't know: BOINC's 'Can't find host record', then the
    host is found or made anew, and the reply carries its id."""
    wp = work_ready(njobs=1)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    reply, _ = rpc(wp, request_text("run-plain", 1, auth, hostid=987654, rpc_seqno=5),
                   monkeypatch)
    assert "Can't find host record" in reply
    hostid = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1))
    assert hostid != 987654
    assert wp.db.scalar("SELECT userid FROM host WHERE id=%s", (hostid,)) is not None
    assert "[HOST#987654?] can't find host" in sched_log(wp)


def test_another_users_host_id_is_not_taken_over(work_ready, monkeypatch):
    wp = work_ready(njobs=0)
    alice = create_user(wp.db, "alice@example.com", "alice")
    bob = create_user(wp.db, "bob@example.com", "bob")
    reply, _ = rpc(wp, request_text("run-plain", 1, alice), monkeypatch)
    alice_host = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1))
    text = request_text("run-plain", 1, bob, hostid=alice_host, rpc_seqno=1)
    text = text.replace("<domain_name>vm</domain_name>", "<domain_name>bobs</domain_name>")
    reply, _ = rpc(wp, text, monkeypatch)
    bob_host = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1))
    assert bob_host != alice_host
    owners = dict(wp.db.rows("SELECT id, userid FROM host"))
    assert owners[alice_host] != owners[bob_host]


def test_long_lived_process_buffers_its_log_and_rechecks_files_each_second(
        work_ready, monkeypatch):
    wp = work_ready(njobs=0)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    clock = [1000.0]
    monkeypatch.setattr(schedapp.time, "monotonic", lambda: clock[0])
    schedapp.long_lived()
    before = sched_log(wp) if os.path.exists(os.path.join(wp.config.dir("log"),
                                                          "scheduler.log")) else ""
    reply, _ = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    assert "<hostid>" in reply and sched_log(wp) == before     # kept back
    with open(os.path.join(wp.dir, "gui_urls.xml"), "w") as f:
        f.write(GUI_URLS)
    clock[0] += 0.5
    reply, _ = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    assert "home.php" not in reply and sched_log(wp) == before  # looked at within a second
    clock[0] += 1.0
    reply, _ = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    assert "home.php" in reply                                 # a second later: seen
    assert sched_log(wp).count("Scheduler ran") == before.count("Scheduler ran") + 3
    rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    schedapp.close()                                           # the rest, at the end
    assert sched_log(wp).count("Scheduler ran") == before.count("Scheduler ran") + 4


def test_a_failed_host_update_is_logged_and_the_reply_stands(work_ready, monkeypatch):
    """The host row is written while the reply is made, and the outcome read
    once it has gone out: a failed update is logged (BOINC too answers
    then), and nothing else of the RPC is undone."""
    wp = work_ready(njobs=1)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    reply, _ = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    hostid = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1))
    seqno = 2 ** 40                     # more than the host table's rpc_seqno (int) holds
    reply, _ = rpc(wp, request_text("run-plain", 1, auth, hostid=hostid, rpc_seqno=seqno),
                   monkeypatch)
    assert "<project_is_down" not in reply and "<hostid>" not in reply, reply
    assert "host.update() failed" in sched_log(wp) and "rpc_seqno" in sched_log(wp)
    assert wp.db.scalar("SELECT rpc_seqno FROM host WHERE id=%s", (hostid,)) == 0
    reply, _ = rpc(wp, request_text("run-plain", 1, auth, hostid=hostid, rpc_seqno=3),
                   monkeypatch)
    assert wp.db.scalar("SELECT rpc_seqno FROM host WHERE id=%s", (hostid,)) == 3


def test_with_sched_lockfile_dir_the_host_row_is_written_before_the_lock_goes(
        work_ready, monkeypatch):
    """One scheduler per host at a time: the host update the RPC sent is read
    back before its lock file is released, not after the reply."""
    from sched import db as dbmod
    from test_quota import set_options
    wp = work_ready(njobs=0)
    lockdir = os.path.join(wp.dir, "sched_locks")
    os.mkdir(lockdir)
    set_options(wp, sched_lockfile_dir=lockdir)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    events = []
    real_outcome, real_unlink = dbmod.Database.outcome, os.unlink

    def outcome(self):
        if self._sent is not None:
            events.append("outcome")
        return real_outcome(self)

    def unlink(path, **kwargs):
        if str(path).startswith(lockdir):
            events.append("unlock")
        return real_unlink(path, **kwargs)
    monkeypatch.setattr(dbmod.Database, "outcome", outcome)
    monkeypatch.setattr(os, "unlink", unlink)
    reply, _ = rpc(wp, request_text("run-plain", 1, auth), monkeypatch)
    hostid = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1))
    rpc(wp, request_text("run-plain", 1, auth, hostid=hostid, rpc_seqno=7), monkeypatch)
    assert events == ["outcome", "unlock"] * 2, events
    assert wp.db.scalar("SELECT rpc_seqno FROM host WHERE id=%s", (hostid,)) == 7
    assert os.listdir(lockdir) == []
