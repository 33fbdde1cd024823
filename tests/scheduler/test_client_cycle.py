"""The whole cycle with the real BOINC client, under a real Apache, CGI and FastCGI:
attach, get a job, download the signed app and the input, run, upload, report,
and the server acknowledges; then the server's rows are as BOINC's."""

import pytest

from accounts import create_user
from sched import states
from sched.paths import dir_hier_path
from workproject import SHARED, work_ready  # noqa: F401 (fixture)


def text_of(blob):
    return blob.decode() if isinstance(blob, bytes) else blob


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cgi", "fcgi"])
def test_real_client_runs_jobs_and_server_acknowledges(work_ready, private_apache,
                                                      boinc_client, mode):
    wp = work_ready(njobs=2, extra=("--fcgi",) if mode == "fcgi" else ())
    # no pause between RPCs (the client reports at once: report_results_immediately)
    text = open(wp.config.path).read().replace("<min_sendwork_interval>6",
                                               "<min_sendwork_interval>0")
    open(wp.config.path, "w").write(text)
    private_apache(wp.proj, None if mode == "fcgi" else "cgi")
    url = wp.proj.url(wp.proj.name + "/")
    key = create_user(wp.db, "vol@example.com", "volunteer")

    client = boinc_client()
    client.attach(url, key)

    def acked():
        done = [r for r in client.old_results() if r.get("project_url") == url]
        return done if len(done) >= 1 else None

    done = client.wait_for(acked, timeout=240, nudge_url=url, nudge_every=5,
                           what="a job run, uploaded, reported and acknowledged")
    name = done[0]["result_name"]
    assert int(done[0]["exit_status"]) == 0
    row = wp.db.query_one("SELECT * FROM result WHERE name=%s", (name,))
    assert row["server_state"] == states.RESULT_SERVER_STATE_OVER
    assert row["outcome"] == states.RESULT_OUTCOME_SUCCESS
    assert row["client_state"] == states.RESULT_FILES_UPLOADED
    assert row["validate_state"] == states.VALIDATE_STATE_INIT
    assert row["received_time"] >= row["sent_time"] > 0
    assert row["hostid"] > 0 and row["userid"] > 0
    assert "<core_client_version>7.20.5</core_client_version>" in text_of(row["stderr_out"])
    # the output arrived through the upload handler, upper-cased by the app
    out_file = text_of(row["xml_doc_out"]).split("<name>")[1].split("</name>")[0]
    path = dir_hier_path(out_file, wp.config.upload_dir, wp.config.uldl_dir_fanout)
    with open(path) as f:
        assert f.read().startswith("INPUT NUMBER ")
    wu = wp.db.query_one("SELECT * FROM workunit WHERE id=%s", (row["workunitid"],))
    assert wu["transition_time"] <= row["received_time"]
    host = wp.db.query_one("SELECT * FROM host WHERE id=%s", (row["hostid"],))
    assert host["userid"] == row["userid"] and host["rpc_seqno"] >= 1
    # the client downloaded (and checked the signature of) the app, ran the task
    # and uploaded its output, as its own log says
    log = client.log_text()
    assert "Finished download of worker_1.0_x86_64-pc-linux-gnu.sh" in log
    assert "missing signature" not in log and "signature verification failed" not in log.lower()
    assert "Computation for task %s finished" % name in log
    assert "Finished upload of %s" % out_file in log
