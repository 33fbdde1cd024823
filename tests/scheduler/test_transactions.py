"""An RPC's sends and reports each go in one DB transaction: a lock conflict
(deadlock, lock wait timeout) rolls back the whole lot, and the reply then
promises nothing the database doesn't hold."""

import re

from accounts import create_user
from test_quota import ask, set_options
from test_scheduler import fresh_state, request_text, rpc, sched_log  # noqa: F401 (fixture)
from workproject import work_ready  # noqa: F401 (fixture)
from sched import db as dbmod, states


def conflict_on(monkeypatch, prefix):
    """The server gives up on the transaction at the first statement starting with prefix."""
    real = dbmod.Database.execute

    def execute(self, sql, args=None):
        if sql.startswith(prefix):
            raise dbmod.DatabaseError("Deadlock found when trying to get lock", 1213)
        return real(self, sql, args)
    monkeypatch.setattr(dbmod.Database, "execute", execute)
    return lambda: monkeypatch.setattr(dbmod.Database, "execute", real)


def test_a_lock_conflict_while_sending_sends_nothing(work_ready, monkeypatch):
    wp = work_ready(njobs=2)
    set_options(wp, min_sendwork_interval=0)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    undo = conflict_on(monkeypatch, "UPDATE result SET server_state")
    hostid, sent, reply = ask(wp, monkeypatch, auth)
    undo()
    assert sent == 0 and "<project_is_down" not in reply, reply
    assert "jobs not sent: Deadlock" in sched_log(wp)
    assert wp.db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s",
                        (states.RESULT_SERVER_STATE_IN_PROGRESS,)) == 0
    assert wp.db.scalar("SELECT COUNT(*) FROM host_app_version WHERE host_id=%s",
                        (hostid,)) == 0


def test_a_lock_conflict_while_recording_reports_acks_none(work_ready, monkeypatch):
    wp = work_ready(njobs=2)
    set_options(wp, min_sendwork_interval=0)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    hostid, sent, reply = ask(wp, monkeypatch, auth)
    names = re.findall(r"<name>(job_\d_0)</name>", reply)
    assert sent == 2 and len(names) == 2
    wp.db.execute("UPDATE result SET sent_time=sent_time-60")

    def report(seqno):
        text = request_text("run-plain", 2, auth, hostid=hostid, rpc_seqno=seqno)
        first = re.search(r"<result>.*?</result>\n", text, re.S).group(0)
        both = "".join(first.replace("refjob_10_0", n) for n in names)
        return rpc(wp, text.replace(first, both), monkeypatch)[0]

    undo = conflict_on(monkeypatch, "UPDATE workunit SET transition_time=%s WHERE id IN")
    reply = report(1)
    undo()
    assert "<result_ack>" not in reply, reply
    assert "reports not recorded: Deadlock" in sched_log(wp)
    rows = wp.db.query("SELECT server_state, received_time FROM result WHERE name IN (%s, %s)",
                       names)
    assert all(r["server_state"] == states.RESULT_SERVER_STATE_IN_PROGRESS
               and not r["received_time"] for r in rows)
    reply = report(2)                               # reported again: recorded, acked
    for name in names:
        assert "<result_ack>\n    <name>%s</name>" % name in reply
    assert wp.db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s AND outcome=%s",
                        (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_SUCCESS)) == 2
