"""file_deleter against a real project: real files in download/ and upload/, rows set with SQL."""

import os
import re

import pytest

from backend_helpers import (add_app, add_result, add_wu, connect, download_path, program,
                             result_doc, upload_path, wu_doc)
from jobcache_helpers import insert
from sched import paths
from sched import states as S
from sched.file_deleter import file_infos

READY, DONE, ERROR = S.FILE_DELETE_READY, S.FILE_DELETE_DONE, S.FILE_DELETE_ERROR


@pytest.fixture
def proj(project):
    project.db = connect(project)
    project.appid = add_app(project.db)
    yield project
    project.db.close()


def state(project, table, rowid):
    return project.db.scalar("SELECT file_delete_state FROM %s WHERE id=%%s" % table, (rowid,))


def homeless(project, root, prefix):
    """A file name whose fan-out directory under ``root`` doesn't exist."""
    cfg = project.config
    for i in range(100000):
        name = "%s%d" % (prefix, i)
        if not os.path.isdir(os.path.dirname(paths.dir_hier_path(name, root,
                                                                 cfg.uldl_dir_fanout))):
            return name
    raise AssertionError("every fan-out directory exists")


def dir_for(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def deleter(project, *args):
    r = program(project, "file_deleter", "--one_pass", *args)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture
def jobs(proj):
    """Workunits and results with files, in every case the deleter knows."""
    db, app = proj.db, proj.appid
    j = {}
    j["in"] = [download_path(proj, n, b"in") for n in ("in1", "in2", "keep")]
    j["companions"] = [j["in"][i] + suffix for i, suffix in
                       ((0, ".gz"), (0, ".md5"), (1, ".md5"), (2, ".md5"))]
    for p in j["companions"]:
        open(p, "w").close()
    j["w1"] = add_wu(db, app, "w1", file_delete_state=READY,
                     xml_doc=wu_doc(("in1", "in2", "keep"), no_delete=("keep",)))
    j["nd_file"] = download_path(proj, "nd1", b"x")
    j["w_nodelete"] = add_wu(db, app, "w_nodelete_1", inputs=("nd1",), file_delete_state=READY)
    dir_for(download_path(proj, "gone_in"))
    j["w_gone"] = add_wu(db, app, "w_gone", inputs=("gone_in",), file_delete_state=READY)
    j["w_nodir"] = add_wu(db, app, "w_nodir",
                          inputs=(homeless(proj, proj.config.download_dir, "nodir_in"),),
                          file_delete_state=READY)
    j["w_later"] = add_wu(db, app, "w_later", inputs=("later_in",),
                          file_delete_state=S.FILE_DELETE_INIT)
    j["later_in"] = download_path(proj, "later_in", b"x")

    j["out"] = [upload_path(proj, n, b"out") for n in ("o1", "o2")]
    j["r1"] = add_result(db, j["w1"], app, "r1", outputs=("o1", "o2"), file_delete_state=READY)
    dir_for(upload_path(proj, "o3"))
    j["r_missing"] = add_result(db, j["w1"], app, "r_missing", outputs=("o3",),
                                outcome=S.RESULT_OUTCOME_CLIENT_ERROR, file_delete_state=READY)
    j["nodir_out"] = homeless(proj, proj.config.upload_dir, "nodir_out")
    j["r_nodir"] = add_result(db, j["w1"], app, "r_nodir", outputs=(j["nodir_out"],),
                              file_delete_state=READY)
    j["kept_out"] = upload_path(proj, "o4", b"keep me")
    j["r_keep"] = add_result(db, j["w1"], app, "r_keep", file_delete_state=READY,
                             xml_doc_in=result_doc(["o4"], no_delete=("o4",)))
    j["bystanders"] = [download_path(proj, "w1_other", b"x"), upload_path(proj, "o1x", b"x")]
    return j


def test_deletes_exactly_the_right_files(proj, jobs):
    r = deleter(proj)
    for p in jobs["in"][:2] + jobs["companions"][:3] + jobs["out"]:
        assert not os.path.lexists(p), p
    for p in [jobs["in"][2], jobs["companions"][3], jobs["nd_file"], jobs["later_in"],
              jobs["kept_out"]] + jobs["bystanders"]:
        assert os.path.exists(p), p
    want = {("workunit", "w1"): DONE, ("workunit", "w_nodelete"): DONE,
            ("workunit", "w_gone"): DONE, ("workunit", "w_nodir"): ERROR,
            ("workunit", "w_later"): S.FILE_DELETE_INIT,
            ("result", "r1"): DONE, ("result", "r_missing"): DONE,
            ("result", "r_nodir"): ERROR, ("result", "r_keep"): DONE}
    assert {k: state(proj, k[0], jobs[k[1]]) for k in want} == want
    assert "[WU#%d] missing dir for" % jobs["w_nodir"] in r.stderr
    assert "[RESULT#%d] missing dir for" % jobs["r_nodir"] in r.stderr
    assert "[RESULT#%d] unlinked %s" % (jobs["r1"], jobs["out"][0]) in r.stderr


def test_errors_are_retried_unless_told_not_to(proj, jobs):
    deleter(proj)
    path = upload_path(proj, jobs["nodir_out"], b"late")
    deleter(proj, "--dont_retry_errors")
    assert state(proj, "result", jobs["r_nodir"]) == ERROR and os.path.exists(path)
    deleter(proj)
    assert state(proj, "result", jobs["r_nodir"]) == DONE and not os.path.exists(path)
    assert state(proj, "workunit", jobs["w_nodir"]) == ERROR     # still no directory


def test_preserve_options_update_the_db_only(proj, jobs):
    deleter(proj, "--preserve_wu_files", "--preserve_result_files")
    for p in jobs["in"] + jobs["companions"] + jobs["out"]:
        assert os.path.exists(p), p
    assert state(proj, "workunit", jobs["w1"]) == DONE
    assert state(proj, "workunit", jobs["w_nodir"]) == DONE
    assert state(proj, "result", jobs["r1"]) == DONE


def test_input_or_output_files_only(proj, jobs):
    deleter(proj, "--output_files_only")
    assert state(proj, "result", jobs["r1"]) == DONE and not os.path.exists(jobs["out"][0])
    assert state(proj, "workunit", jobs["w1"]) == READY and os.path.exists(jobs["in"][0])
    deleter(proj, "--input_files_only")
    assert state(proj, "workunit", jobs["w1"]) == DONE and not os.path.exists(jobs["in"][0])


def test_no_db_update_deletes_but_keeps_states(proj, jobs):
    deleter(proj, "--no_db_update")
    assert not os.path.exists(jobs["in"][0]) and not os.path.exists(jobs["out"][0])
    assert state(proj, "workunit", jobs["w1"]) == READY
    assert state(proj, "result", jobs["r1"]) == READY


def test_md5_companions_only_with_cache_md5_info(proj):
    cfg = os.path.join(proj.dir, "config.xml")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("<cache_md5_info>1</cache_md5_info>",
                             "<cache_md5_info>0</cache_md5_info>"))
    f = download_path(proj, "f", b"x")
    files = [f, f + ".gz", f + ".md5"]
    for p in files[1:]:
        open(p, "w").close()
    w = add_wu(proj.db, proj.appid, "wm", inputs=("f",), file_delete_state=READY)
    deleter(proj)
    assert [os.path.exists(p) for p in files] == [False, False, True]
    assert state(proj, "workunit", w) == DONE


def test_filters_app_mod_and_xml_doc_like(proj):
    other = add_app(proj.db, "other")
    mine = [add_wu(proj.db, proj.appid, "f%d" % i, file_delete_state=READY) for i in range(4)]
    theirs = add_wu(proj.db, other, "g", file_delete_state=READY)
    rmine = [add_result(proj.db, mine[0], proj.appid, "rf%d" % i, file_delete_state=READY)
             for i in range(4)]
    rtheirs = add_result(proj.db, theirs, other, "rg", file_delete_state=READY)
    deleter(proj, "--app", "worker", "--mod", "2", "0")
    for i in mine:
        assert state(proj, "workunit", i) == (DONE if i % 2 == 0 else READY)
    for i in rmine:
        assert state(proj, "result", i) == (DONE if i % 2 == 0 else READY)
    assert state(proj, "workunit", theirs) == READY and state(proj, "result", rtheirs) == READY
    deleter(proj, "--appid", str(other), "--xml_doc_like", "%nothing like this%")
    assert state(proj, "workunit", theirs) == READY and state(proj, "result", rtheirs) == DONE
    deleter(proj, "--xml_doc_like", "%<workunit>%")
    assert {state(proj, "workunit", i) for i in mine + [theirs]} == {DONE}
    with pytest.raises(AssertionError):
        deleter(proj, "--app", "nonesuch")


def test_download_dir_override(proj, tmp_path):
    fanout = proj.config.uldl_dir_fanout
    elsewhere = paths.dir_hier_path("alt_in", str(tmp_path), fanout, create=True)
    open(elsewhere, "w").close()
    here = download_path(proj, "alt_in", b"x")
    w = add_wu(proj.db, proj.appid, "walt", inputs=("alt_in",), file_delete_state=READY)
    r = deleter(proj, "--download_dir", str(tmp_path))
    assert "Overriding download_dir" in r.stderr
    assert not os.path.exists(elsewhere) and os.path.exists(here)
    assert state(proj, "workunit", w) == DONE


def test_unlink_failure_is_an_error(proj):
    stuck = upload_path(proj, "stuck")
    os.makedirs(os.path.join(stuck, "inside"))          # a directory can't be unlinked
    r_ = add_result(proj.db, add_wu(proj.db, proj.appid, "ws"), proj.appid, "rs",
                    outputs=("stuck",), file_delete_state=READY)
    r = deleter(proj, "-d", "4")
    assert state(proj, "result", r_) == ERROR
    assert re.search(r"\[RESULT#%d\] unlink .*stuck error" % r_, r.stderr)
    assert "[RESULT#%d] file deletion failed" % r_ in r.stderr


def test_one_query_is_1500_results_and_500_workunits(proj):
    w = add_wu(proj.db, proj.appid, "big", file_delete_state=READY)
    rows = [(w, proj.appid, "big_%d" % i, READY) for i in range(1600)]
    proj.db.executemany("INSERT INTO result (workunitid, appid, name, file_delete_state, "
                        "create_time, server_state, outcome, client_state, hostid, userid, "
                        "report_deadline, sent_time, received_time, cpu_time, batch, "
                        "validate_state, claimed_credit, granted_credit, opaque, random, "
                        "app_version_num, exit_status, teamid, priority, elapsed_time, "
                        "flops_estimate, app_version_id, runtime_outlier, "
                        "peak_working_set_size, peak_swap_size, peak_disk_usage) VALUES "
                        "(%s, %s, %s, %s, 0, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "
                        "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)", rows)
    for i in range(520):
        insert(proj.db, "workunit", name="many_%d" % i, appid=proj.appid,
               file_delete_state=READY, xml_doc="", size_class=-1)
    deleter(proj)
    count = proj.db.scalar
    assert count("SELECT COUNT(*) FROM result WHERE file_delete_state=2") == 1500
    assert count("SELECT COUNT(*) FROM workunit WHERE file_delete_state=2") == 500
    deleter(proj)
    assert count("SELECT COUNT(*) FROM result WHERE file_delete_state=1") == 0
    assert count("SELECT COUNT(*) FROM workunit WHERE file_delete_state=1") == 0


def test_file_infos():
    doc = ("<file_info><name> a </name><no_delete/></file_info>"
           "<file_info><name>b</name><no_delete>0</no_delete></file_info>"
           "<workunit><file_ref><file_name>a</file_name></file_ref></workunit>")
    assert file_infos(doc) == [("a", True), ("b", False)]
    assert file_infos("") == []
    assert file_infos("<file_info><name>c</name>") == [("c", False)]     # forgiving
