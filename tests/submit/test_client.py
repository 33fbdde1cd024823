"""The client library (pyboinc_submit) over HTTP against our server, with the
volunteers' part done by hand (finish_job): futures, as_completed, results,
failures, cancel, retries, progress, uploads."""

import concurrent.futures

import pytest

from pyboinc_submit import Client, JobFailed, RemoteError, Server, as_completed
from sched import states as S
from submitproject import submit_project  # noqa: F401 (fixture)

WAIT = 120      # a safety net for a hung test, never a timing assertion


def test_map_as_completed_results(submit_project, tmp_path):
    p = submit_project()
    _, key = p.user("sci@example.org")
    local = tmp_path / "third.txt"
    local.write_bytes(b"from a file")
    with Client(p.serve(), key, poll_interval=0.1) as c:
        fs = c.map("worker", [[b"one"], ["two"], [local]], retries=3, batch_name="lib")
        assert len(fs) == 3 and all(isinstance(f, concurrent.futures.Future) for f in fs)
        batch = fs[0].batch
        assert [f.batch for f in fs] == [batch] * 3
        row = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch.id,))
        assert row["name"] == "lib" and row["njobs"] == 3
        wus = p.db.query("SELECT * FROM workunit WHERE batch = %s ORDER BY id", (batch.id,))
        assert [w["name"] for w in wus] == [f.name for f in fs]
        assert [w["max_error_results"] for w in wus] == [3] * 3
        assert [w["max_total_results"] for w in wus] == [4] * 3
        progress = batch.progress()
        assert (progress.njobs, progress.done, progress.queued) == (3, 0, 3)
        assert not any(f.done() for f in fs)
        for wu, data in zip(wus, (b"ONE", b"TWO", b"FROM A FILE")):
            p.finish_job(wu["id"], data)
        got = {}
        for f in as_completed(fs, timeout=WAIT):
            got[f.name] = f.result()
        assert got == {wus[0]["name"]: {"out": b"ONE"}, wus[1]["name"]: {"out": b"TWO"},
                       wus[2]["name"]: {"out": b"FROM A FILE"}}
        progress = batch.progress()
        assert (progress.done, progress.failed, progress.state) == (3, 0, "completed")
        assert progress.finished and fs[0].status == "done"
        batch.retire()
    assert p.db.scalar("SELECT state FROM batch WHERE id = %s", (batch.id,)) == \
        S.BATCH_STATE_RETIRED


def test_failures_and_cancel(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    with Client(p.serve(), key, poll_interval=0.1) as c:
        bad = c.submit("worker", [b"x"], retries=0)
        wu = p.db.query_one("SELECT * FROM workunit WHERE id = %s", (bad.job_id,))
        assert (wu["max_error_results"], wu["max_total_results"]) == (1, 1)
        p.finish_job(bad.job_id, ok=False, exit_status=7)
        exc = bad.exception(timeout=WAIT)
        assert isinstance(exc, JobFailed) and exc.errors == ["too_many_error_results"]
        assert exc.exit_status == 7
        with pytest.raises(JobFailed):
            bad.result()

        doomed, kept = c.map("worker", [[b"y"], [b"z"]])
        assert doomed.cancel() and doomed.cancelled()
        assert p.db.scalar("SELECT error_mask FROM workunit WHERE id = %s",
                           (doomed.job_id,)) == S.WU_ERROR_CANCELLED
        p.finish_job(kept.job_id, b"Z")
        assert kept.result(timeout=WAIT) == {"out": b"Z"}
        assert not kept.cancel()                # too late
        assert doomed.batch.progress().failed == 1


def test_uploads_only_what_the_server_lacks(submit_project, monkeypatch):
    p = submit_project()
    _, key = p.user("sci@example.org")
    sent = []
    real = Server.upload_files

    def counting(self, files, *a, **kw):
        sent.append(sorted(files.values()))
        return real(self, files, *a, **kw)
    monkeypatch.setattr(Server, "upload_files", counting)
    with Client(p.serve(), key) as c:
        c.map("worker", [[b"same"], [b"same"], [b"other"]])
        c.map("worker", [[b"same"], [b"new"]])
    assert sent == [[b"other", b"same"], [b"new"]]


def test_errors_reach_the_caller(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org", submit=None)
    with Client(p.serve(), key) as c:
        with pytest.raises(RemoteError) as info:
            c.submit("worker", [b"x"])
    # the upload comes first; without submit rights it is refused
    assert info.value.msg == "no file access"
    _, key2 = p.user("sci2@example.org")
    with Client(p.serve(), key2) as c:
        with pytest.raises(RemoteError) as info:
            c.map("nosuchapp", [[b"x"]])
        assert info.value.msg == "app not found: nosuchapp" and info.value.op == "submit_batch"
        with pytest.raises(TypeError):
            c.submit("worker", [42])


def test_replies_are_their_own(submit_project):
    """BOINC #6092: a reply never carries elements of an earlier one."""
    p = submit_project()
    _, key = p.user("sci@example.org")
    s = Server(p.serve(), key)
    with Client(p.serve(), key) as c:
        fs = c.map("worker", [[b"a"], [b"b"], [b"c"]])
    batch = s.query_batch(fs[0].batch.id, get_job_details=True)
    assert len(batch["job"]) == 3
    assert s.query_job(fs[1].job_id) == []          # one job, no instances yet: nothing else
    assert s.query_files(["jf_" + "0" * 32]) == [0]
    assert s.query_batches()[0]["id"] == fs[0].batch.id
    assert "job" not in s.query_batches()[0]
    assert s.estimate_batch("worker", [{"files": ["x"]}]) == 10.0
    assert [t.split(">")[0] for t in s.get_templates("worker")] == [
        "<input_template", "<output_template"]
