"""bin/show_shmem: BOINC's printout of a cache a real feeder filled."""

import io
import os
import subprocess

import pytest

from testenv import ROOT
from jobcache_helpers import add_app, add_job, add_version, work_project  # noqa: F401
from sched import db as dbmod
from sched import log as logmod
from sched import shmem
from sched.feeder import Feeder
from sched.tools import show_shmem


def run_show(project, *argv):
    env = dict(os.environ, BOINC_PROJECT_DIR=str(project.dir))
    return subprocess.run([os.path.join(ROOT, "bin", "show_shmem")] + list(argv), env=env,
                          capture_output=True, text=True)


@pytest.fixture
def fed(work_project):
    """A feeder (in this process) that has made one pass over 30 slots."""
    db = work_project.db
    work_project.reconfigure("<shmem_work_items>30</shmem_work_items>\n")
    appid, pids = add_app(db, name="a_very_long_app_name", weight=2)
    add_version(db, appid, pids["x86_64-pc-linux-gnu"], 101, plan_class="cuda")
    jobs = [add_job(db, appid, batch=7, keywords="3 14", priority=5 - i)
            for i in range(3)]
    f = Feeder()
    f.args = f.make_parser().parse_args([])
    f.log = logmod.Log(stream=io.StringIO())
    f.config = work_project.config
    f.db = dbmod.connect(work_project.config)
    f.setup()
    f.do_pass()
    yield work_project, f, appid, jobs
    f.cleanup()
    f.db.close()


def test_prints_the_cache_as_boinc_does(fed):
    project, feeder, appid, jobs = fed
    reader = shmem.JobCache.attach(project.config)
    reader.claim(1, jobs[1][1][0], pid=31337)
    reader.detach()
    res = run_show(project)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    platform = project.db.scalar("SELECT id FROM platform")
    assert lines[:12] == [
        "apps:",
        "id: %d name: a_very_long_app_name hr: 0 weight: 2.00 beta: 0 hav: 0 nci: 0" % appid,
        "app versions:",
        "appid: %d platformid: %d version_num: 100 plan_class: " % (appid, platform),
        "appid: %d platformid: %d version_num: 101 plan_class: cuda" % (appid, platform),
        "have CPU apps: yes",
        "have NVIDIA GPU apps: yes",
        "have AMD/ATI GPU apps: no",
        "have Intel GPU apps: no",
        "have Apple GPU apps: no",
        "host fpops mean 2.20 GFLOPS stddev 0.70 GFLOPS",
        "host fpops 50th pctile 3.30 GFLOPS 95th pctile 3.30 GFLOPS",
    ]
    assert lines[12:14] == ["ready: 1", "max_wu_results: 30"]
    table = lines[14:]
    header = ("slot          app      WU ID  result ID      batch     kwds   priority "
              "in shmem   size class need reliable inf count   version")
    assert table[0] == header and table[25] == header      # every 24 slots
    assert len(table) == 30 + 2
    wuid, (rid,) = jobs[0]
    row = table[1].split()
    assert row[:7] == ["0", "a_very_long_", str(wuid), str(rid), "7", "3", "14"]
    assert row[7:8] == ["5"] and row[8].endswith("s")
    assert row[9:] == ["-1", "no", "0", "0"]
    assert table[1].startswith("   0 a_very_long_ ")
    assert table[2] == "   1: PID 31337: result %d" % jobs[1][1][0]
    assert table[4] == "   3: ---"
    assert table[26] == "  24: ---"


def test_show_function_matches_the_program(fed):
    project, feeder, appid, jobs = fed
    out = io.StringIO()
    reader = shmem.JobCache.attach(project.config)
    show_shmem.show(reader, out, now=reader.slot(0).time_added + 42)
    reader.detach()
    assert "     42s " in out.getvalue()


def test_without_a_segment_it_says_cant_attach(work_project):
    res = run_show(work_project)
    assert res.returncode == 1
    assert res.stdout == "can't attach shmem: key %x\n" % work_project.key


def test_unknown_argument(work_project):
    res = run_show(work_project, "--bogus")
    assert res.returncode == 1
    assert res.stderr.startswith("unknown command line argument: --bogus\n")
