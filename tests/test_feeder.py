"""The feeder against a real MariaDB and a real segment.

Most tests drive a Feeder in this process pass by pass; the life-cycle tests
run bin/feeder and wait (with a generous limit) for what it does.
"""

import io
import os
import signal
import struct
import subprocess
import time

import pytest
import sysv_ipc

from testenv import ROOT
from jobcache_helpers import add_app, add_job, add_version, insert, work_project  # noqa: F401
from sched import db as dbmod
from sched import log as logmod
from sched import schema, shmem, states
from sched.errors import BoincError
from sched.feeder import Feeder, weighted_interleave


def wait_for(predicate, what, limit=30.0):
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.05)


class Running:
    """A Feeder set up in this process, with its log in ``self.out``."""

    def __init__(self, project, argv=()):
        self.out = io.StringIO()
        f = self.feeder = Feeder()
        f.args = f.make_parser().parse_args(list(argv))
        f.log = logmod.Log(level=f.args.d, stream=self.out)
        f.config = project.config
        f.db = dbmod.connect(project.config)
        f.setup()
        self.reader = shmem.JobCache.attach(project.config)

    def do_pass(self):
        return self.feeder.do_pass()

    def log(self):
        return self.out.getvalue()

    def cached(self):
        return sorted(s.resultid for s in self.reader.present_slots())

    def close(self):
        self.reader.detach()
        self.feeder.cleanup()
        self.feeder.db.close()


@pytest.fixture
def start(work_project):
    started = []

    def factory(*argv, slots=None):
        if slots:
            work_project.reconfigure("<shmem_work_items>%d</shmem_work_items>\n" % slots)
        r = Running(work_project, argv)
        started.append(r)
        return r

    yield factory
    for r in started:
        r.close()


def test_fills_slots_from_unsent_results(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    wuid, rids = add_job(db, appid, nresults=2, priority=3)
    _, sent = add_job(db, appid, server_state=states.RESULT_SERVER_STATE_IN_PROGRESS)
    _, flagged = add_job(db, appid, transitioner_flags=states.TRANSITION_NO_NEW_RESULTS)
    f = start("-d", "4", slots=5)
    assert not f.reader.ready
    assert f.do_pass() is True
    assert f.reader.ready
    assert f.cached() == rids
    job = f.reader.workunit(f.reader.present_slots()[0])
    row = db.query_one("SELECT * FROM workunit WHERE id=%s", (wuid,))
    for col in shmem.WU_COLUMNS:
        want = row[col].decode() if isinstance(row[col], bytes) else row[col]
        assert job[col] == want, col
    s = f.reader.present_slots()[0]
    assert (s.res_priority, s.res_server_state, s.infeasible_count, s.need_reliable) == \
        (3, 2, 0, 0)
    assert "adding result [RESULT#%d] in slot 0" % rids[0] in f.log()
    # the next pass finds them cached already: nothing added, time to sleep
    assert f.do_pass() is False
    assert "results already in array" in f.log()
    assert f.cached() == rids


def test_catalog_keeps_only_the_newest_version_per_plan_class(work_project, start):
    db = work_project.db
    appid, pids = add_app(db, platforms=("x86_64-pc-linux-gnu", "windows_x86_64"),
                          versions=(100, 102, 101))
    linux = pids["x86_64-pc-linux-gnu"]
    mt = add_version(db, appid, linux, 99, plan_class="mt")
    gone = add_version(db, appid, linux, 200, deprecated=1)
    old_app, _ = add_app(db, name="old", deprecated=1)
    cat = start().reader.catalog()
    got = sorted((av["platformid"], av["version_num"], av["plan_class"])
                 for av in cat.app_versions)
    win = pids["windows_x86_64"]
    assert got == sorted([(linux, 102, ""), (linux, 99, "mt"), (win, 102, "")])
    assert cat.app_version(mt)["xml_doc"].startswith("<app_version>")
    assert cat.app_version(gone) is None
    assert [a["name"] for a in cat.apps] == ["worker"] and cat.app(old_app) is None
    assert {p["name"] for p in cat.platforms} == {"x86_64-pc-linux-gnu", "windows_x86_64"}
    assert cat.have_apps_for_proc_type == [True, False, False, False, False]


def test_min_version_keeps_older_versions_flagged(work_project, start):
    db = work_project.db
    appid, pids = add_app(db, versions=(90, 100, 105), min_version=100)
    cat = start().reader.catalog()
    got = sorted((av["version_num"], av["deprecated"]) for av in cat.app_versions)
    assert got == [(100, 1), (105, 0)]
    assert [av["superseded"] for av in sorted(cat.app_versions,
                                              key=lambda a: a["version_num"])] == [True, False]


def test_jobs_of_deprecated_apps_are_not_cached(work_project, start):
    db = work_project.db
    live, _ = add_app(db)
    dead, _ = add_app(db, name="retired", deprecated=1)
    _, keep = add_job(db, live)
    add_job(db, dead, nresults=3)
    f = start()
    f.do_pass()
    assert f.cached() == keep


def test_results_of_errored_workunits_are_retired(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    _, bad = add_job(db, appid, error_mask=states.WU_ERROR_CANCELLED)
    _, good = add_job(db, appid)
    f = start()
    f.do_pass()
    assert f.cached() == good
    row = db.query_one("SELECT server_state, outcome FROM result WHERE id=%s", bad)
    assert (row["server_state"], row["outcome"]) == (states.RESULT_SERVER_STATE_OVER,
                                                     states.RESULT_OUTCOME_DIDNT_NEED)
    assert "[RESULT#%d] WU had error, marking as DIDNT_NEED" % bad[0] in f.log()


def test_refills_slots_the_scheduler_took(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    rids = [add_job(db, appid, priority=10 - i)[1][0] for i in range(4)]
    f = start(slots=2)
    f.do_pass()
    assert f.cached() == rids[:2]           # priority desc
    first = f.reader.present_slots()[0]
    assert f.reader.claim(first)
    db.execute("UPDATE result SET server_state=4 WHERE id=%s", (first.resultid,))
    assert f.reader.take(first)
    f.do_pass()
    assert f.cached() == [rids[1], rids[2]]


def test_slot_of_a_dead_scheduler_goes_back_to_present(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    add_job(db, appid)
    f = start()
    f.do_pass()
    child = subprocess.Popen(["true"])
    child.wait()                            # its PID is now free
    slot = f.reader.present_slots()[0]
    assert f.reader.claim(slot, pid=child.pid)
    live = f.reader.present_slots()
    f.do_pass()
    assert f.reader.slot(slot.index).state == shmem.PRESENT
    assert "Result reserved by non-existent process PID %d; resetting" % child.pid in f.log()
    assert live == []
    # a living holder keeps its slot
    assert f.reader.claim(slot)
    f.do_pass()
    assert f.reader.slot(slot.index).state == os.getpid()


def test_purge_stale_empties_and_uncommits_old_jobs(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    wuid, rids = add_job(db, appid, hr_class=2, target_nresults=1)
    f = start("--purge_stale", "1", slots=1)
    f.do_pass()
    assert f.cached() == rids
    assert f.reader.slot(0).infeasible_count == 1   # committed to an HR class
    # pretend it was cached two minutes ago
    where = f.feeder.cache._off(0) + shmem._offset(shmem._SLOT_FIELDS, "time_added")
    struct.pack_into("=d", f.feeder.cache._mv, where, time.time() - 120)
    f.do_pass()
    assert "remove result [RESULT#%d] from slot 0 because it is stale" % rids[0] in f.log()
    row = db.query_one("SELECT hr_class, target_nresults FROM workunit WHERE id=%s", (wuid,))
    assert (row["hr_class"], row["target_nresults"]) == (0, 2)
    assert f.cached() == rids               # and it comes straight back, freshly timed
    assert f.reader.slot(0).time_added > time.time() - 60


def test_reread_db_bumps_generation_and_sees_new_versions(work_project, start):
    db = work_project.db
    appid, pids = add_app(db, versions=(100,))
    add_job(db, appid)
    f = start()
    f.do_pass()
    gen = f.reader.generation
    assert [av["version_num"] for av in f.reader.catalog().app_versions] == [100]
    add_version(db, appid, pids["x86_64-pc-linux-gnu"], 101)
    f.do_pass()
    assert f.reader.generation == gen        # nothing happens without the trigger
    open(work_project.path("reread_db"), "w").close()
    f.do_pass()
    assert f.reader.generation == gen + 1
    assert [av["version_num"] for av in f.reader.catalog().app_versions] == [101]
    assert not os.path.exists(work_project.path("reread_db"))
    assert "Found trigger file reread_db; re-scanning database tables." in f.log()
    assert len(f.cached()) == 1


def test_order_and_selection_options(work_project, start):
    db = work_project.db
    a1, _ = add_app(db, name="one")
    a2, _ = add_app(db, name="two")
    jobs = [add_job(db, a, priority=p)[1][0] for a, p in ((a1, 1), (a2, 5), (a1, 9), (a2, 0))]
    f = start("--priority_asc", slots=2)
    f.do_pass()
    assert f.cached() == sorted([jobs[3], jobs[0]])
    g = start("--appids", "%d" % a2, slots=4)
    g.do_pass()
    assert g.cached() == sorted([jobs[1], jobs[3]])
    h = start("--mod", "2", "1", slots=4)
    h.do_pass()
    assert h.cached() == sorted(r for r in jobs if r % 2 == 1)


def _fill_order(f):
    return [int(line.split("[RESULT#")[1].split("]")[0])
            for line in f.log().splitlines() if "adding result" in line]


def test_enumeration_order_is_the_same_with_and_without_res_feeder(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    old, _ = add_app(db, name="old", deprecated=1)
    wu_a, (a0,) = add_job(db, appid, priority=0)
    wu_b, (b0,) = add_job(db, appid, priority=5)
    wu_c, (c0,) = add_job(db, appid, priority=0)
    add_job(db, old, priority=9)                            # a deprecated app's job
    add_job(db, appid, priority=9, transitioner_flags=states.TRANSITION_NO_NEW_RESULTS)
    # a job's second result, made later (a higher id than the jobs after it)
    a1 = insert(db, "result", workunitid=wu_a, appid=appid, server_state=2, priority=0,
                name="late_retry", xml_doc_in="<result>\n</result>\n")
    b1 = insert(db, "result", workunitid=wu_b, appid=appid, server_state=2, priority=7,
                name="urgent_retry", xml_doc_in="<result>\n</result>\n")
    want = [b1, b0, a0, a1, c0]             # priority DESC, workunitid, id
    f = start("-d", "3", slots=8)
    assert "reading unsent results in order from index res_feeder" in f.log()
    f.do_pass()
    assert _fill_order(f) == want
    db.execute("ALTER TABLE result DROP INDEX res_feeder")
    g = start("-d", "3", slots=8)
    assert "no index res_feeder" in g.log()
    g.do_pass()
    assert _fill_order(g) == want
    # an order the index doesn't give: BOINC's index, sorted
    db.execute(schema.add_index_sql("result", "res_feeder"))
    h = start("-d", "3", "--priority_asc", slots=8)
    assert "res_feeder" not in h.log()
    h.do_pass()
    assert _fill_order(h)[:3] == [a0, c0, a1]


def test_allapps_interleaves_by_weight(work_project, start):
    db = work_project.db
    a1, _ = add_app(db, name="heavy", weight=3)
    a2, _ = add_app(db, name="light", weight=1)
    for _ in range(6):
        add_job(db, a1)
        add_job(db, a2)
    f = start("--allapps", slots=8)
    f.do_pass()
    apps = [s.appid for s in f.reader.slots()]
    assert apps.count(a1) == 6 and apps.count(a2) == 2
    assert weighted_interleave([3, 1], 8) == [0, 1, 0, 0, 0, 1, 0, 0]
    assert apps == [[a1, a2][k] for k in weighted_interleave([3, 1], 8)]


def test_by_batch_takes_one_job_of_every_batch_first(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    by_batch = {}
    for batch in (1, 2, 3):
        for _ in range(3):
            wuid, rids = add_job(db, appid, batch=batch)
            db.execute("UPDATE result SET batch=%s WHERE id=%s", (batch, rids[0]))
            by_batch.setdefault(batch, []).append(rids[0])
    f = start("--by_batch", slots=3)
    f.do_pass()
    assert f.cached() == sorted(ids[0] for ids in by_batch.values())


def test_overflowing_xml_doc_is_read_from_the_db(work_project, start):
    db = work_project.db
    appid, _ = add_app(db)
    doc = "<file_info>\n" + "<x/>" * 5000 + "</file_info>\n<workunit>\n</workunit>\n"
    add_job(db, appid, xml_doc=doc)
    f = start()
    f.do_pass()
    slot = f.reader.present_slots()[0]
    assert slot.xml_overflow
    assert f.reader.workunit(slot)["xml_doc"] is None
    assert f.reader.workunit(slot, db)["xml_doc"] == doc


def test_host_flops_statistics(work_project, start):
    db = work_project.db
    add_app(db)
    for i in range(12):
        insert(db, "host", create_time=0, p_fpops=1e9 * (i + 1), expavg_credit=20 if i else 0)
    h = start().reader.header()
    flops = [1e9 * (i + 1) for i in range(1, 12)]
    mean = sum(flops) / len(flops)
    assert h.host_fpops_mean == pytest.approx(mean)
    assert h.host_fpops_stddev == pytest.approx(
        (sum((x - mean) ** 2 for x in flops) / len(flops)) ** 0.5)
    assert h.host_fpops_50_percentile == flops[int(11 * 0.5)]
    assert h.host_fpops_95_percentile == flops[int(11 * 0.95)]


def test_too_many_apps_is_a_clear_error(work_project):
    for i in range(3):
        add_app(work_project.db, name="app%d" % i)
    work_project.reconfigure("<shmem_max_apps>2</shmem_max_apps>\n")
    with pytest.raises(BoincError) as exc:
        Running(work_project)
    assert "room for 2 apps" in str(exc.value) and "<shmem_max_apps>" in str(exc.value)


# ------------------------------------------------------------ bin/feeder

def run_feeder(project, *argv):
    env = dict(os.environ, BOINC_PROJECT_DIR=str(project.dir))
    return subprocess.Popen([os.path.join(ROOT, "bin", "feeder"), "-d", "4",
                             "--sleep_interval", "1"] + list(argv),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def attached_and_ready(project):
    try:
        cache = shmem.JobCache.attach(project.config)
    except shmem.ShmemError:
        return False
    try:
        return cache.ready
    finally:
        cache.detach()


def gone(project):
    for make, key in ((sysv_ipc.SharedMemory, project.key),
                      (sysv_ipc.Semaphore, shmem.semaphore_key(str(project.dir)))):
        try:
            obj = make(key)
        except sysv_ipc.ExistentialError:
            continue
        if hasattr(obj, "detach"):
            obj.detach()
        return False
    return True


@pytest.mark.parametrize("how", ["stop_daemons", "SIGHUP"])
def test_bin_feeder_runs_and_removes_its_segment_on_stop(work_project, how):
    db = work_project.db
    appid, _ = add_app(db)
    _, rids = add_job(db, appid)
    open(work_project.path("reread_db"), "w").close()       # left from before: removed
    proc = run_feeder(work_project)
    try:
        wait_for(lambda: attached_and_ready(work_project) or proc.poll() is not None,
                 "the feeder to fill the cache")
        assert proc.poll() is None, proc.communicate()
        assert not os.path.exists(work_project.path("reread_db"))
        cache = shmem.JobCache.attach(work_project.config)
        assert [s.resultid for s in cache.present_slots()] == rids
        cache.detach()
        if how == "SIGHUP":
            proc.send_signal(signal.SIGHUP)
        else:
            open(work_project.path("stop_daemons"), "w").close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "read 1 platforms, 1 apps, 1 app_versions, 0 assignments" in err
    assert "Using 1000 job slots" in err          # our default (BOINC: 100)
    assert gone(work_project)


def test_bin_feeder_picks_up_reread_db(work_project):
    db = work_project.db
    appid, pids = add_app(db)
    proc = run_feeder(work_project)
    try:
        wait_for(lambda: attached_and_ready(work_project) or proc.poll() is not None,
                 "the feeder to start")
        cache = shmem.JobCache.attach(work_project.config)
        gen = cache.generation
        add_version(db, appid, pids["x86_64-pc-linux-gnu"], 200)
        open(work_project.path("reread_db"), "w").close()
        wait_for(lambda: cache.generation > gen, "the rescan")
        assert [av["version_num"] for av in cache.catalog().app_versions] == [200]
        cache.detach()
        proc.send_signal(signal.SIGHUP)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert gone(work_project)


def test_bin_feeder_without_shmem_key_says_so(work_project):
    (work_project.dir / "config.xml").write_text(
        (work_project.dir / "config.xml").read_text().replace(
            "<shmem_key>0x%x</shmem_key>" % work_project.key, ""))
    proc = run_feeder(work_project)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "[CRITICAL]" in err and "no <shmem_key>" in err


def test_installed_feeder_and_show_shmem_in_a_made_project(project):
    """make_project's project: its bin/feeder (run from tmp_HOST as bin/start
    does) feeds from its DB, and its bin/show_shmem shows the job."""
    from sched import paths
    db = dbmod.connect(project.config)
    appid, _ = add_app(db, name="made_app")
    _, rids = add_job(db, appid)
    tmp = paths.host_dir(project.dir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    proc = subprocess.Popen([os.path.join(project.dir, "bin", "feeder"), "-d", "3"], cwd=tmp,
                            env=env, stderr=subprocess.PIPE, text=True)
    sem_key = shmem.semaphore_key(project.dir)
    try:
        wait_for(lambda: attached_and_ready(project) or proc.poll() is not None,
                 "the installed feeder")
        assert proc.poll() is None, proc.communicate()
        res = subprocess.run([os.path.join(project.dir, "bin", "show_shmem")],
                             cwd=project.dir, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert "ready: 1" in res.stdout
        assert " made_app " in res.stdout and " %d " % rids[0] in res.stdout
        open(os.path.join(project.dir, "stop_daemons"), "w").close()
        proc.communicate(timeout=60)
        assert proc.returncode == 0
        with pytest.raises(sysv_ipc.ExistentialError):       # removed by the feeder
            sysv_ipc.SharedMemory(project.config.shmem_key)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shmem.destroy(project.config.shmem_key, sem_key)
        db.close()


def test_sleep_ends_early_when_schedulers_drain_the_cache(work_project, start):
    """With jobs waiting, a quarter of the slots emptied wakes the feeder at once
    instead of after its whole sleep interval."""
    import threading
    db = work_project.db
    appid, _ = add_app(db)
    for i in range(12):
        add_job(db, appid)
    f = start("--sleep_interval", "300", slots=4)
    f.do_pass()
    f.do_pass()                     # collisions: jobs wait, cache full
    assert f.feeder.work_waiting and len(f.cached()) == 4
    f.feeder.check_stop = lambda: None
    woke = threading.Event()
    t = threading.Thread(target=lambda: (f.feeder.sleep(300), woke.set()), daemon=True)
    t.start()
    assert not woke.wait(0.3)       # nothing taken yet: still asleep
    first = f.reader.present_slots()[0]
    assert f.reader.claim(first) and f.reader.take(first)
    assert woke.wait(30), "the feeder slept on while its cache drained"


def test_sleep_is_whole_when_no_jobs_wait(work_project, start):
    db = work_project.db
    add_app(db)
    f = start("--sleep_interval", "1", slots=4)
    f.do_pass()
    assert not f.feeder.work_waiting
    f.feeder.check_stop = lambda: None
    t0 = time.monotonic()
    f.feeder.sleep(0.5)
    assert time.monotonic() - t0 >= 0.5
