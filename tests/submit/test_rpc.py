"""The submission RPCs in-process on a real project: BOINC's requests and
replies, batch rows and their states, jobs, staged files."""

import hashlib
import os

from sched import states as S
from sched.paths import dir_hier_path
from submitproject import batch_xml, error_of, submit_project  # noqa: F401 (fixture)


def children(elem):
    return [c.tag for c in elem]


def test_submit_batch_makes_a_batch_of_jobs_with_staged_inputs(submit_project):
    p = submit_project()
    uid, key = p.user("sci@example.org")
    root = p.rpc(batch_xml(key, [["alpha"], ["beta"], ["alpha"]],
                           extra="<batch_name>b1</batch_name>\n<priority>7</priority>\n"))
    assert root.tag == "submit_batch" and children(root) == ["batch_id"]
    batch_id = int(root.findtext("batch_id"))
    batch = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    assert (batch["user_id"], batch["app_id"], batch["name"], batch["njobs"], batch["state"]) == (
        uid, p.app_id, "b1", 3, S.BATCH_STATE_IN_PROGRESS)
    wus = p.db.query("SELECT * FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))
    assert len(wus) == 3 and all(w["priority"] == 7 and w["appid"] == p.app_id for w in wus)
    # the same contents are one staged file, named by its md5, with its .md5 cache
    md5 = hashlib.md5(b"alpha").hexdigest()
    path = dir_hier_path("jf_" + md5, p.config.download_dir, p.config.uldl_dir_fanout)
    with open(path, "rb") as f:
        assert f.read() == b"alpha"
    with open(path + ".md5") as f:
        assert f.read() == "%s 5\n" % md5
    doc = wus[0]["xml_doc"].decode() if isinstance(wus[0]["xml_doc"], bytes) else wus[0]["xml_doc"]
    assert "<name>jf_%s</name>" % md5 in doc and "<md5_cksum>%s</md5_cksum>" % md5 in doc
    # the template's parameters
    assert wus[0]["rsc_fpops_est"] == 1e10 and wus[0]["delay_bound"] == 86400


def test_query_batch_and_batches(submit_project):
    p = submit_project()
    uid, key = p.user("sci@example.org")
    batch_id = int(p.rpc(batch_xml(key, [["a"], ["b"]])).findtext("batch_id"))
    root = p.rpc("<query_batch><authenticator>%s</authenticator><batch_id>%d</batch_id>"
                 "<get_cpu_time>1</get_cpu_time><get_job_details>1</get_job_details>"
                 "</query_batch>" % (key, batch_id))
    assert children(root)[:14] == [
        "id", "create_time", "expire_time", "est_completion_time", "njobs", "fraction_done",
        "nerror_jobs", "state", "completion_time", "credit_estimate", "credit_canonical",
        "name", "app_name", "total_cpu_time"]
    assert root.findtext("njobs") == "2" and root.findtext("state") == "1"
    assert root.findtext("app_name") == "worker" and root.findtext("fraction_done") == "0"
    jobs = root.findall("job")
    assert [children(j) for j in jobs] == [["id", "name", "canonical_instance_id", "status"]] * 2
    assert [j.findtext("status") for j in jobs] == ["queued", "queued"]

    # one job done, one failed: the batch is complete
    p.finish_job(int(jobs[0].findtext("id")), b"A")
    p.finish_job(int(jobs[1].findtext("id")), ok=False, exit_status=3)
    root = p.rpc("<query_batch><authenticator>%s</authenticator><batch_name>%s</batch_name>"
                 "<get_job_details>1</get_job_details></query_batch>"
                 % (key, root.findtext("name")))
    assert root.findtext("state") == "2" and root.findtext("fraction_done") == "1"
    assert root.findtext("nerror_jobs") == "1" and root.findtext("credit_canonical") == "10"
    assert float(root.findtext("completion_time")) > 0
    j0, j1 = root.findall("job")
    assert j0.findtext("status") == "done" and j0.findtext("cpu_time") == "1.5"
    assert j1.findtext("status") == "error" and j1.findtext("error") == "too_many_error_results"
    assert j1.findtext("exit_status") == "3"
    row = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    assert row["state"] == S.BATCH_STATE_COMPLETE and row["nerror_jobs"] == 1

    other = int(p.rpc(batch_xml(key, [["c"]])).findtext("batch_id"))
    root = p.rpc("<query_batches><authenticator>%s</authenticator><get_cpu_time>0</get_cpu_time>"
                 "</query_batches>" % key)
    assert [int(b.findtext("id")) for b in root.findall("batch")] == [batch_id, other]
    assert [b.findtext("state") for b in root.findall("batch")] == ["2", "1"]


def test_query_job_is_about_that_job_only(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    batch_id = int(p.rpc(batch_xml(key, [["a"], ["b"], ["c"]])).findtext("batch_id"))
    wus = p.db.query("SELECT id FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))
    rid = p.finish_job(wus[1]["id"], b"xyz")
    root = p.rpc("<query_job><authenticator>%s</authenticator><job_id>%d</job_id></query_job>"
                 % (key, wus[1]["id"]))
    assert children(root) == ["instance"]
    inst = root.find("instance")
    assert children(inst) == ["name", "id", "state", "outfile"]
    assert int(inst.findtext("id")) == rid
    assert inst.findtext("state") == "Completed and validated"
    assert inst.find("outfile").findtext("size") == "3"
    # and the replies that BOINC #6092 saw swollen carry only their own elements
    root = p.rpc(batch_xml(key, [["d"]]))
    assert children(root) == ["batch_id"]


def test_create_batch_then_submit_into_it(submit_project):
    p = submit_project()
    uid, key = p.user("sci@example.org")
    root = p.rpc("<create_batch><authenticator>%s</authenticator><app_name>worker</app_name>"
                 "<batch_name>later</batch_name><expire_time>0</expire_time></create_batch>" % key)
    batch_id = int(root.findtext("batch_id"))
    row = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    assert (row["state"], row["njobs"], row["name"]) == (S.BATCH_STATE_INIT, 0, "later")
    root = p.rpc(batch_xml(key, [["a"], ["b"]], extra="<batch_id>%d</batch_id>\n" % batch_id))
    assert int(root.findtext("batch_id")) == batch_id
    row = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    assert (row["state"], row["njobs"]) == (S.BATCH_STATE_IN_PROGRESS, 2)
    # no second submission into a batch that is no longer new
    assert error_of(p.rpc(batch_xml(key, [["c"]], extra="<batch_id>%d</batch_id>\n" % batch_id)),
                    "submit_batch") == (-1, "batch not in init state")


def test_estimate_batch(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    root = p.rpc(batch_xml(key, [["a"], ["b"]], op="estimate_batch"))
    # 2 jobs x 1e10 FLOPs (the template's) at BOINC's default project speed of 1e9
    assert children(root) == ["seconds"] and float(root.findtext("seconds")) == 20.0
    assert p.db.scalar("SELECT count(*) FROM batch") == 0


def test_abort_batch_and_jobs(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    b1 = int(p.rpc(batch_xml(key, [["a"], ["b"]])).findtext("batch_id"))
    b2 = int(p.rpc(batch_xml(key, [["c"], ["d"]])).findtext("batch_id"))
    root = p.rpc("<abort_batch><authenticator>%s</authenticator><batch_id>%d</batch_id>"
                 "</abort_batch>" % (key, b1))
    assert children(root) == ["success"] and root.findtext("success") == "1"
    row = p.db.query_one("SELECT * FROM batch WHERE id = %s", (b1,))
    assert row["state"] == S.BATCH_STATE_ABORTED and row["completion_time"] > 0
    for wu in p.db.query("SELECT * FROM workunit WHERE batch = %s", (b1,)):
        assert wu["error_mask"] & S.WU_ERROR_CANCELLED
        assert wu["file_delete_state"] == S.FILE_DELETE_READY
    name = p.db.query("SELECT name FROM workunit WHERE batch = %s ORDER BY id", (b2,))[1]["name"]
    root = p.rpc("<abort_jobs><authenticator>%s</authenticator><job_name>%s</job_name>"
                 "</abort_jobs>" % (key, name))
    assert root.findtext("success") == "1"
    masks = [w["error_mask"] for w in p.db.query(
        "SELECT error_mask FROM workunit WHERE batch = %s ORDER BY id", (b2,))]
    assert masks == [0, S.WU_ERROR_CANCELLED]


def test_retire_batch(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    batch_id = int(p.rpc(batch_xml(key, [["a"], ["b"]])).findtext("batch_id"))
    wus = p.db.query("SELECT id FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))
    p.finish_job(wus[0]["id"], b"A")
    collected = p.path("results", str(batch_id))
    os.makedirs(collected)
    open(os.path.join(collected, "x__file_out"), "w").close()
    root = p.rpc("<retire_batch><authenticator>%s</authenticator><batch_id>%d</batch_id>"
                 "</retire_batch>" % (key, batch_id))
    assert root.findtext("success") == "1"
    assert not os.path.exists(collected)
    assert p.db.scalar("SELECT state FROM batch WHERE id = %s", (batch_id,)) == \
        S.BATCH_STATE_RETIRED
    # the unsent job is cancelled, the finished one kept
    masks = [w["error_mask"] for w in p.db.query(
        "SELECT error_mask FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))]
    assert masks == [0, S.WU_ERROR_CANCELLED]
    root = p.rpc("<query_batches><authenticator>%s</authenticator></query_batches>" % key)
    assert root.findall("batch") == []


def test_small_rpcs(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    root = p.rpc("<ping/>")
    assert children(root) == ["success"]
    root = p.rpc("<get_templates><authenticator>%s</authenticator><app_name>worker</app_name>"
                 "</get_templates>" % key)
    assert [c.tag for c in root.find("templates")] == ["input_template", "output_template"]
    batch_id = int(p.rpc(batch_xml(key, [["a"]])).findtext("batch_id"))
    root = p.rpc("<set_expire_time><authenticator>%s</authenticator><batch_id>%d</batch_id>"
                 "<expire_time>12345</expire_time></set_expire_time>" % (key, batch_id))
    assert root.findtext("success") == "1"
    assert p.db.scalar("SELECT expire_time FROM batch WHERE id = %s", (batch_id,)) == 12345
    batch = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    wu = p.db.query_one("SELECT * FROM workunit WHERE batch = %s", (batch_id,))
    root = p.rpc("<query_batch2><authenticator>%s</authenticator><batch_name>%s</batch_name>"
                 "</query_batch2>" % (key, batch["name"]))
    assert children(root) == ["server_time", "batch_size", "job"]
    assert root.find("job").findtext("status") == "UNSENT"
    rid = p.finish_job(wu["id"], b"A")
    root = p.rpc("<query_completed_job><authenticator>%s</authenticator><job_name>%s</job_name>"
                 "</query_completed_job>" % (key, wu["name"]))
    job = root.find("completed_job")
    assert int(job.findtext("canonical_resultid")) == rid and job.findtext("exit_status") == "0"
    root = p.rpc("<get_templates><authenticator>%s</authenticator><job_name>%s</job_name>"
                 "</get_templates>" % (key, wu["name"]))
    assert root.find("templates") is not None
    # stop_web: the project is down
    open(p.path("stop_web"), "w").close()
    assert error_of(p.rpc("<ping/>"), "ping")[0] == -183
