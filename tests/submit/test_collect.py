"""bin/batch_collect_assimilator: outputs to results/BATCH/, errors noted, and
the batch hook once the batch's last job is assimilated."""

import os
import subprocess

from sched import states as S
from sched.paths import dir_hier_path
from submitproject import batch_xml, submit_project  # noqa: F401 (fixture)


def _run(p, *args):
    proc = subprocess.run([p.path("bin", "batch_collect_assimilator"), "--app", "worker",
                           "--one_pass", "-d", "3", *args], cwd=p.dir, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_batch_collect_and_hook(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    batch_id = int(p.rpc(batch_xml(key, [["a"], ["b"], ["c"]])).findtext("batch_id"))
    wus = p.db.query("SELECT * FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))
    hook = p.path("hook.sh")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\necho "done $1" >> hook.log\n')
    os.chmod(hook, 0o755)
    p.finish_job(wus[0]["id"], b"OUT A")
    p.finish_job(wus[1]["id"], ok=False)
    _run(p, "--batch_script", hook)
    out = p.path("results", str(batch_id))
    with open(os.path.join(out, "%s__file_out" % wus[0]["name"]), "rb") as f:
        assert f.read() == b"OUT A"
    assert not os.path.exists(dir_hier_path(wus[0]["name"] + "_r0", p.config.upload_dir,
                                            p.config.uldl_dir_fanout))
    with open(os.path.join(out, "%s_error" % wus[1]["name"])) as f:
        assert f.read() == "0x%x\n" % S.WU_ERROR_TOO_MANY_ERROR_RESULTS
    assert not os.path.exists(p.path("hook.log"))       # one job still to go
    assert p.db.scalar("SELECT state FROM batch WHERE id = %s", (batch_id,)) == \
        S.BATCH_STATE_IN_PROGRESS

    p.finish_job(wus[2]["id"], b"OUT C")
    _run(p, "--batch_script", hook)
    with open(p.path("hook.log")) as f:
        assert f.read() == "done %d\n" % batch_id
    batch = p.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    assert batch["state"] == S.BATCH_STATE_COMPLETE and batch["nerror_jobs"] == 1
    assert batch["fraction_done"] == 1 and batch["completion_time"] > 0
    assert [w["assimilate_state"] for w in p.db.query(
        "SELECT assimilate_state FROM workunit WHERE batch = %s", (batch_id,))] == \
        [S.ASSIMILATE_DONE] * 3
    assert sorted(os.listdir(out)) == sorted(["%s__file_out" % wus[0]["name"],
                                              "%s_error" % wus[1]["name"],
                                              "%s__file_out" % wus[2]["name"]])
    # the collected files are what get_output2 serves
    status, _, body = p.call("get_output2.php", method="GET", cmd="workunit",
                             wu_id=wus[2]["id"], auth=key)
    assert status == "200 OK" and body == b"OUT C"
    # nothing left: the hook is not called again
    _run(p, "--batch_script", hook)
    with open(p.path("hook.log")) as f:
        assert f.read() == "done %d\n" % batch_id
