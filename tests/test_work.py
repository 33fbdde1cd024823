"""sched/work.py as a library (what remote job submission will call)."""

import os

import pytest

from jobs_helpers import wproj  # noqa: F401 (fixture)
from sched import states
from sched.input_template import InputFile, InputTemplate, TemplateError
from sched.work import (Assignment, Job, WorkCreator, WorkError, Workunit, cancel_batch,
                        cancel_job, cancel_jobs, create_work, find_app)


def test_create_work_one_job(wproj):
    wproj.put_staged("lib_in", b"library\n")
    notes = []
    wu = create_work(wproj.db, wproj.cfg, "worker", Workunit(name="lib_1", priority=4),
                     wproj.path("templates", "worker_in"), [InputFile("lib_in")],
                     command_line="-q", sub_appname="sub", notify=notes.append)
    assert wu.id > 0 and notes == []
    (row,) = wproj.wus()
    assert (row["id"], row["name"], row["priority"], row["rsc_fpops_est"]) == \
        (wu.id, "lib_1", 4, 1e10)
    assert row["xml_doc"].decode() == wu.xml_doc
    assert "<command_line>\n-q\n</command_line>" in wu.xml_doc
    assert wu.xml_doc.endswith("   <sub_appname>sub</sub_appname>\n</workunit>")


def test_create_work_default_name_and_assignment(wproj):
    wproj.put_staged("lib_in", b"x")
    wu = create_work(wproj.db, wproj.cfg, find_app(wproj.db, "worker"), Workunit(),
                     InputTemplate.from_file(wproj.path("templates", "worker_in")),
                     [InputFile("lib_in")],
                     assignment=Assignment(states.ASSIGN_HOST, 3, False))
    assert wu.name.startswith("worker_")
    assert wu.transitioner_flags == states.TRANSITION_NO_NEW_RESULTS
    assert wproj.db.scalar("SELECT workunitid FROM assignment WHERE target_id = 3") == wu.id


def test_create_work_refuses(wproj):
    with pytest.raises(WorkError, match="app not found"):
        create_work(wproj.db, wproj.cfg, "nosuch", Workunit(name="x"),
                    wproj.path("templates", "worker_in"))
    with pytest.raises(TemplateError, match="Too few var input files"):
        create_work(wproj.db, wproj.cfg, "worker", Workunit(name="x"),
                    wproj.path("templates", "worker_in"))
    assert wproj.wus() == []


def test_create_many_continue_on_error(wproj):
    tmpl = InputTemplate.from_file(wproj.path("templates", "worker_in"))
    jobs = []
    for i in range(2500):                       # several chunks of names and INSERTs
        name = "many_%d" % i
        if i % 1000 != 7:
            wproj.put_staged("in_%d" % i, b"%d" % i)
        jobs.append(Job(Workunit(name=name, appid=wproj.app_id), tmpl,
                        [InputFile("in_%d" % i)], "templates/worker_out", label="job %d" % i))
    failed = []
    creator = WorkCreator(wproj.db, wproj.cfg)
    report = creator.create_many(iter(jobs), continue_on_error=True,
                                 on_error=lambda job, exc: failed.append(str(exc)))
    assert report.created == 2497
    assert failed == ["job %d: input file in_%d is not staged: %s doesn't exist "
                      "(stage it with bin/stage_file)" % (i, i, wproj.hier("in_%d" % i))
                      for i in (7, 1007, 2007)]
    assert wproj.db.scalar("SELECT COUNT(*) FROM workunit") == 2497
    # the same jobs again: every name is taken now
    report = creator.create_many(jobs[:3], continue_on_error=True)
    assert report.created == 0 and len(report.failures) == 3
    with pytest.raises(WorkError, match="job 0: a workunit named 'many_0' already exists"):
        creator.create_many(jobs[:3])


def test_cancel_functions(wproj):
    for i in range(4):
        wproj.put_staged("c_%d" % i, b"c")
        create_work(wproj.db, wproj.cfg, "worker", Workunit(name="c_%d" % i, batch=i % 2 + 1),
                    wproj.path("templates", "worker_in"), [InputFile("c_%d" % i)])
    ids = [w["id"] for w in wproj.wus()]
    assert cancel_jobs(wproj.db, ids[0], ids[1]) == (2, 0)
    assert cancel_job(wproj.db, ids[2]) == (1, 0)
    assert cancel_batch(wproj.db, 2)[0] >= 1
    masks = [w["error_mask"] for w in wproj.wus()]
    assert masks == [states.WU_ERROR_CANCELLED] * 4
    assert os.path.exists(wproj.hier("c_0"))    # cancelling leaves files to the file_deleter
