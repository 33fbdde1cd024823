"""A job's whole life with two real BOINC clients and every daemon running:
min_quorum 2, both results agree, the validator grants both credit, the
assimilator's script gets the files, the file deleter removes them, db_purge
archives and deletes the rows; the rows end as BOINC's would."""

import glob
import gzip
import os
import subprocess

import pytest

from accounts import create_user
from sched import states
from sched.paths import dir_hier_path
from workproject import SHARED, work_ready  # noqa: F401 (fixture)

ASSIMILATE = """#!/bin/sh
# record what the assimilator hands us: the workunit name, then each file's content
out="$(dirname "$0")/../assimilated.txt"
echo "wu $1" >> "$out"
shift
for f in "$@"; do echo "file $(cat "$f")" >> "$out"; done
"""


QUORUM_TEMPLATE = """<input_template>
    <file_info>
        <number>0</number>
    </file_info>
    <workunit>
        <file_ref>
            <file_number>0</file_number>
            <open_name>in</open_name>
        </file_ref>
        <rsc_fpops_est>1e10</rsc_fpops_est>
        <rsc_fpops_bound>1e13</rsc_fpops_bound>
        <rsc_memory_bound>1e8</rsc_memory_bound>
        <rsc_disk_bound>1e8</rsc_disk_bound>
        <delay_bound>86400</delay_bound>
    </workunit>
</input_template>
"""


@pytest.mark.slow
def test_quorum_of_two_real_clients_through_every_daemon(work_ready, private_apache,
                                                         boinc_client):
    wp = work_ready(njobs=0, feeder=False)
    cfg_path = wp.config.path
    text = open(cfg_path).read()
    text = text.replace("<min_sendwork_interval>6", "<min_sendwork_interval>0")
    # two results of a job never go to the same host (so each client gets one)
    text = text.replace("<config>", "<config>\n        <one_result_per_host_per_wu/>")
    daemons = "".join("<daemon><cmd>%s</cmd></daemon>" % cmd for cmd in (
        "feeder -d 3 --sleep_interval 1", "transitioner -d 3 --sleep_interval 1",
        "sample_bitwise_validator -d 3 --app worker --sleep_interval 1",
        "script_assimilator -d 3 --app worker --sleep_interval 1 --script 'assimilate.sh wu_name files'",
        "file_deleter -d 3 --sleep_interval 1"))
    start = text.index("<daemons>")
    end = text.index("</daemons>") + len("</daemons>")
    text = text[:start] + "<daemons>" + daemons + "</daemons>" + text[end:]
    open(cfg_path, "w").write(text)
    with open(os.path.join(wp.dir, "bin", "assimilate.sh"), "w") as f:
        f.write(ASSIMILATE)
    os.chmod(os.path.join(wp.dir, "bin", "assimilate.sh"), 0o755)

    os.makedirs(os.path.join(wp.dir, "inputs"), exist_ok=True)
    src = os.path.join(wp.dir, "inputs", "quorum_in.txt")
    with open(src, "w") as f:
        f.write("same for both\n")
    wp.run("stage_file", src)
    # the refproj template sets min_quorum 1, and a template wins over options: use our own
    with open(os.path.join(wp.dir, "templates", "worker_quorum_in"), "w") as f:
        f.write(QUORUM_TEMPLATE)
    wp.run("create_work", "--appname", "worker", "--wu_name", "quorum",
           "--wu_template", "templates/worker_quorum_in", "--min_quorum", "2",
           "--target_nresults", "2", "--max_success_results", "2", "--max_total_results", "4",
           "--max_error_results", "2", "quorum_in.txt")
    env = dict(os.environ, PYBOINC_START_DELAY="0")
    subprocess.run([os.path.join(wp.dir, "bin", "start")], cwd=wp.dir, env=env, check=True,
                   capture_output=True)
    try:
        _run(wp, private_apache, boinc_client)
    finally:
        subprocess.run([os.path.join(wp.dir, "bin", "stop")], cwd=wp.dir, env=env,
                       capture_output=True)


def _run(wp, private_apache, boinc_client):
    private_apache(wp.proj, "cgi")
    url = wp.proj.url(wp.proj.name + "/")
    alice = create_user(wp.db, "alice@example.com", "alice")
    bob = create_user(wp.db, "bob@example.com", "bob")
    c1, c2 = boinc_client("c1"), boinc_client("c2")
    c1.attach(url, alice)
    c2.attach(url, bob)
    wu = lambda: wp.db.query_one("SELECT * FROM workunit WHERE name='quorum'")  # noqa: E731

    def assimilated():
        w = wu()
        return w if w["assimilate_state"] == states.ASSIMILATE_DONE else None

    for client in (c1, c2):
        client.wait_for(lambda: assimilated() or [r for r in client.old_results()
                                                  if r.get("result_name", "").startswith("quorum")],
                        timeout=240, nudge_url=url, what="its result acknowledged")
    w = c1.wait_for(assimilated, timeout=120, what="validation and assimilation")
    results = wp.db.query("SELECT * FROM result WHERE workunitid=%s ORDER BY id", (w["id"],))
    assert len(results) == 2
    assert len({r["hostid"] for r in results}) == 2 and len({r["userid"] for r in results}) == 2
    for r in results:
        assert r["server_state"] == states.RESULT_SERVER_STATE_OVER
        assert r["outcome"] == states.RESULT_OUTCOME_SUCCESS
        assert r["validate_state"] == states.VALIDATE_STATE_VALID
        assert r["granted_credit"] > 0
    assert w["canonical_resultid"] in [r["id"] for r in results]
    assert w["need_validate"] == 0 and w["error_mask"] == 0
    assert w["canonical_credit"] == pytest.approx(results[0]["granted_credit"])
    for r in results:        # credit reached both hosts and both users
        assert wp.db.scalar("SELECT total_credit FROM host WHERE id=%s", (r["hostid"],)) > 0
        assert wp.db.scalar("SELECT total_credit FROM user WHERE id=%s", (r["userid"],)) > 0
    # the assimilator's script got the canonical output
    with open(os.path.join(wp.dir, "assimilated.txt")) as f:
        assert f.read() == "wu quorum\nfile SAME FOR BOTH\n"

    # then the file deleter removes inputs and outputs
    def files_deleted():
        w2 = wu()
        rs = wp.db.query("SELECT file_delete_state FROM result WHERE workunitid=%s", (w2["id"],))
        done = w2["file_delete_state"] == states.FILE_DELETE_DONE and all(
            r["file_delete_state"] == states.FILE_DELETE_DONE for r in rs)
        return w2 if done else None

    w = c1.wait_for(files_deleted, timeout=120, what="file deletion")
    assert not os.path.exists(dir_hier_path("quorum_in.txt", wp.config.download_dir,
                                            wp.config.uldl_dir_fanout))
    for r in results:
        xml = r["xml_doc_in"].decode() if isinstance(r["xml_doc_in"], bytes) else r["xml_doc_in"]
        out = xml.split("<name>")[1].split("</name>")[0]
        assert not os.path.exists(dir_hier_path(out, wp.config.upload_dir,
                                                wp.config.uldl_dir_fanout))
    assert w["transition_time"] == states.INT_MAX

    # and db_purge archives the rows, then deletes them
    wp.run("db_purge", "--one_pass", "--min_age_days", "0", "--gzip")
    assert wp.db.scalar("SELECT count(*) FROM workunit WHERE name='quorum'") == 0
    assert wp.db.scalar("SELECT count(*) FROM result WHERE workunitid=%s", (w["id"],)) == 0
    archives = glob.glob(os.path.join(wp.dir, "archives", "wu_archive_*"))
    text = b"".join(gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
                    for p in archives).decode()
    assert "<name>quorum</name>" in text
    rtext = b"".join(gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
                     for p in glob.glob(os.path.join(wp.dir, "archives",
                                                     "result_archive_*"))).decode()
    for r in results:
        assert "<name>%s</name>" % r["name"] in rtext
