"""make_work against a real MariaDB: clones, names, the cushion and max_wus."""

import os
import signal
import subprocess
import time

import pytest

from testenv import ROOT
from jobcache_helpers import add_app, add_job, insert, work_project, wu_xml  # noqa: F401
from sched import crypt, states
from sched.make_work import MakeWork, rename_file


@pytest.fixture
def mw_project(work_project, monkeypatch):
    keys = work_project.dir / "keys"
    keys.mkdir()
    private, public = crypt.generate_key_pair()
    crypt.write_private_key(str(keys / "upload_private"), private)
    monkeypatch.setenv("BOINC_PROJECT_DIR", str(work_project.dir))
    appid, _ = add_app(work_project.db)
    wuid, _ = add_job(work_project.db, appid, name="template_nodelete", nresults=0,
                      target_nresults=2, canonical_credit=12.5, batch=4, priority=3,
                      xml_doc=wu_xml("in_a", "in_b"), need_validate=1,
                      assimilate_state=states.ASSIMILATE_DONE, error_mask=0,
                      transition_time=states.INT_MAX)
    work_project.appid, work_project.template = appid, wuid
    return work_project


def wait_for(predicate, what, limit=30.0):
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.05)


def clones(db):
    return db.query("SELECT * FROM workunit WHERE name REGEXP '^wu_[0-9]+_[0-9]+$' ORDER BY id")


def run_in_process(*argv):
    saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)}
    try:
        return MakeWork().main(list(argv))
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def test_one_pass_clones_enough_to_cover_the_cushion(mw_project, capsys):
    db = mw_project.db
    before = int(time.time())
    assert run_in_process("--wu_name", "template_nodelete", "--cushion", "5", "--one_pass",
                          "-d", "4") == 0
    made = clones(db)
    assert len(made) == 3                   # 5 results needed, 2 per workunit
    template = db.query_one("SELECT * FROM workunit WHERE id=%s", (mw_project.template,))
    start = int(made[0]["name"].split("_")[1])
    assert before <= start <= int(time.time())
    assert [w["name"] for w in made] == ["wu_%d_%d" % (start, i) for i in range(3)]
    for i, w in enumerate(made):
        names = ["in_a__%d_%d" % (start, 2 * i), "in_b__%d_%d" % (start, 2 * i + 1)]
        doc = w["xml_doc"].decode()
        assert doc == wu_xml(*names).replace(
            "http://x/download/%s" % names[0], "http://x/download/in_a").replace(
            "http://x/download/%s" % names[1], "http://x/download/in_b")
        assert before <= w["transition_time"] <= int(time.time())
        assert (w["need_validate"], w["canonical_resultid"], w["canonical_credit"],
                w["hr_class"], w["error_mask"], w["file_delete_state"],
                w["assimilate_state"]) == (0, 0, 0, 0, 0, 0, 0)
        for col in ("appid", "batch", "priority", "target_nresults", "rsc_fpops_est",
                    "delay_bound", "result_template_file", "min_quorum"):
            assert w[col] == template[col], col
    err = capsys.readouterr().err
    assert "Starting: cushion 5, max_wus 0" in err
    assert "Created %s, clone of template_nodelete" % made[0]["name"] in err
    # no file was copied anywhere: the clones download the template's files
    assert not os.path.exists(mw_project.path("download"))


def test_credit_from_wu(mw_project):
    assert run_in_process("--wu_name", "template_nodelete", "--cushion", "0", "--one_pass",
                          "--credit_from_wu") == 0
    assert [w["canonical_credit"] for w in clones(mw_project.db)] == [12.5]


def test_enough_unsent_results_means_no_new_work(mw_project):
    db = mw_project.db
    for _ in range(3):
        add_job(db, mw_project.appid, nresults=2)           # 6 unsent > cushion 5
    n = db.scalar("SELECT COUNT(*) FROM workunit")
    assert run_in_process("--wu_name", "template_nodelete", "--cushion", "5",
                          "--one_pass") == 0
    assert db.scalar("SELECT COUNT(*) FROM workunit") == n
    # results already sent don't count towards the cushion
    db.execute("UPDATE result SET server_state=%s LIMIT 2",
               (states.RESULT_SERVER_STATE_IN_PROGRESS,))
    assert run_in_process("--wu_name", "template_nodelete", "--cushion", "5",
                          "--one_pass") == 0
    assert len(clones(db)) == 1             # 4 unsent: 1 short, one clone of 2 covers it


def test_max_wus_stops_the_daemon(mw_project):
    env = dict(os.environ, BOINC_PROJECT_DIR=str(mw_project.dir))
    n = mw_project.db.scalar("SELECT COUNT(*) FROM workunit")
    res = subprocess.run([os.path.join(ROOT, "bin", "make_work"), "--wu_name",
                          "template_nodelete", "--cushion", "100", "--max_wus", str(n + 4)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Reached max_wus = %d" % (n + 4) in res.stderr
    assert len(clones(mw_project.db)) == 4


def test_waits_for_the_transitioner_before_the_next_round(mw_project):
    db = mw_project.db
    env = dict(os.environ, BOINC_PROJECT_DIR=str(mw_project.dir))
    proc = subprocess.Popen([os.path.join(ROOT, "bin", "make_work"), "--wu_name",
                             "template_nodelete", "--cushion", "1", "--sleep_interval", "0.2",
                             "-d", "4"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(clones(db)) == 1, "the first clone")
        first = clones(db)[0]
        lines = []
        while len([x for x in lines if "result.count for %d returned 0" % first["id"] in x]) < 3:
            lines.append(proc.stderr.readline())
            assert lines[-1], "make_work ended early:\n" + "".join(lines)
        assert len(clones(db)) == 1         # still waiting: no results for it yet
        insert(db, "result", workunitid=first["id"], appid=mw_project.appid,
               server_state=states.RESULT_SERVER_STATE_UNSENT, name="r1")
        wait_for(lambda: len(clones(db)) == 2, "the next clone")
        open(mw_project.path("stop_daemons"), "w").close()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_round_robin_over_templates(mw_project):
    db = mw_project.db
    add_job(db, mw_project.appid, name="second", nresults=0, target_nresults=1,
            xml_doc=wu_xml("other"))
    assert run_in_process("--wu_name", "template_nodelete", "--wu_name", "second",
                          "--cushion", "4", "--one_pass") == 0
    docs = [w["xml_doc"].decode() for w in clones(db)]
    assert len(docs) == 3                   # 2 + 1 + 2 >= 4
    assert ["in_a__" in d for d in docs] == [True, False, True]
    assert "<name>other__" in docs[1]


def test_refusals(mw_project, capsys):
    assert run_in_process("--cushion", "3") == 1
    assert "Must supply at least one WU name" in capsys.readouterr().err
    assert run_in_process("--wu_name", "nope") == 1
    assert "can't find wu nope" in capsys.readouterr().err
    os.unlink(mw_project.path("keys", "upload_private"))
    assert run_in_process("--wu_name", "template_nodelete") == 1
    assert "can't read key" in capsys.readouterr().err
    assert clones(mw_project.db) == []


def test_rename_file_touches_only_that_name():
    doc = ("<file_info>\n    <name>a</name>\n    <url>http://x/a</url>\n</file_info>\n"
           "<file_info>\n    <name>ab</name>\n</file_info>\n<workunit>\n    <file_ref>\n"
           "        <file_name>a</file_name>\n        <open_name>a</open_name>\n"
           "    </file_ref>\n</workunit>\n")
    out = rename_file(doc, "a", "a__1_0")
    assert out.count("a__1_0") == 2
    assert "<open_name>a</open_name>" in out and "<name>ab</name>" in out
    assert "<url>http://x/a</url>" in out
