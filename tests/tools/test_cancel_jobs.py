"""bin/cancel_jobs: unsent results OVER/DIDNT_NEED, WU CANCELLED, transition now."""

import time

from jobs_helpers import wproj  # noqa: F401 (fixture)

from sched import states

STATES = (states.RESULT_SERVER_STATE_INACTIVE, states.RESULT_SERVER_STATE_UNSENT,
          states.RESULT_SERVER_STATE_IN_PROGRESS, states.RESULT_SERVER_STATE_OVER)


def make_jobs(wproj, n, batch_of=lambda i: 0):
    """``n`` workunits, each with a result in every server state; returns WU ids."""
    lines = []
    for i in range(n):
        wproj.put_staged("in_%d" % i, b"%d" % i)
        lines.append("--wu_name job_%d in_%d" % (i, i))
    res = wproj.run("create_work", "--appname", "worker", "--stdin", stdin="\n".join(lines))
    assert res.returncode == 0, res.stderr
    cols = [r for r in wproj.db.query("SHOW COLUMNS FROM result")
            if r["Null"] == "NO" and r["Default"] is None and r["Extra"] == ""]
    ids = []
    for i, wu in enumerate(wproj.wus()):
        ids.append(wu["id"])
        wproj.db.execute("UPDATE workunit SET transition_time = 1000, batch = %s, "
                         "error_mask = 2 WHERE id = %s", (batch_of(i), wu["id"]))
        for k, state in enumerate(STATES):
            row = {c["Field"]: 0 for c in cols}
            row.update(workunitid=wu["id"], server_state=state, name="%s_%d" % (wu["name"], k),
                       outcome=states.RESULT_OUTCOME_SUCCESS if state == 5 else 0)
            wproj.db.insert("INSERT INTO result (%s) VALUES (%s)"
                            % (",".join(row), ",".join(["%s"] * len(row))), tuple(row.values()))
    return ids


def snapshot(wproj):
    wus = {w["id"]: (w["error_mask"], w["transition_time"]) for w in wproj.wus()}
    results = {r["name"]: (r["server_state"], r["outcome"])
               for r in wproj.db.query("SELECT * FROM result")}
    return wus, results


def assert_cancelled(wproj, before, after, cancelled, t0):
    wus0, res0 = before
    wus1, res1 = after
    for wu_id, (mask, ttime) in wus1.items():
        name = "job_%d" % (wu_id - min(wus1))
        if wu_id in cancelled:
            assert mask == 2 | states.WU_ERROR_CANCELLED
            assert t0 <= ttime <= int(time.time())
            for k, state in enumerate(STATES):
                expected = ((states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_DIDNT_NEED)
                            if state <= states.RESULT_SERVER_STATE_UNSENT
                            else res0["%s_%d" % (name, k)])
                assert res1["%s_%d" % (name, k)] == expected
        else:
            assert (mask, ttime) == wus0[wu_id]
            for k in range(len(STATES)):
                assert res1["%s_%d" % (name, k)] == res0["%s_%d" % (name, k)]


def test_cancel_id_range(wproj):
    ids = make_jobs(wproj, 5)
    before, t0 = snapshot(wproj), int(time.time())
    res = wproj.run("cancel_jobs", ids[1], ids[3])
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    assert_cancelled(wproj, before, snapshot(wproj), set(ids[1:4]), t0)


def test_cancel_by_name(wproj):
    ids = make_jobs(wproj, 3)
    before, t0 = snapshot(wproj), int(time.time())
    res = wproj.run("cancel_jobs", "--name", "job_1")
    assert res.returncode == 0, res.stderr
    assert_cancelled(wproj, before, snapshot(wproj), {ids[1]}, t0)
    res = wproj.run("cancel_jobs", "--name", "nosuch")
    assert (res.returncode, res.stderr) == (1, "cancel_jobs: No workunit named 'nosuch'\n")


def test_cancel_batch(wproj):
    ids = make_jobs(wproj, 4, batch_of=lambda i: 7 if i % 2 else 3)
    before, t0 = snapshot(wproj), int(time.time())
    res = wproj.run("cancel_jobs", "--batch", 7)
    assert res.returncode == 0, res.stderr
    assert_cancelled(wproj, before, snapshot(wproj), {ids[1], ids[3]}, t0)
    res = wproj.run("cancel_jobs", "--batch", 99)
    assert (res.returncode, res.stderr) == (1, "cancel_jobs: No workunits in batch 99\n")
    res = wproj.run("cancel_jobs", "--batch", 0)
    assert res.returncode == 1 and "batch 0" in res.stderr


def test_usage(wproj):
    for args in ((), ("1",), ("0", "5"), ("x", "y"), ("--bogus", "1"), ("1", "2", "3")):
        res = wproj.run("cancel_jobs", *args)
        assert res.returncode == 1 and res.stderr.startswith("Usage: cancel_jobs"), args
