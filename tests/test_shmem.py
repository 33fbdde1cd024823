"""sched.shmem on a real SysV segment and semaphore: layout, catalog, slots,
and the claim / release / take protocol (incl. processes racing for slots)."""

import multiprocessing
import os
import stat
import struct

import pytest
import sysv_ipc

from jobcache_helpers import ipc_project  # noqa: F401  (fixture)
from sched import shmem
from sched.errors import BoincError


def wu(wuid, name="wu", xml=b"<file_info>\n</file_info>\n<workunit>\n</workunit>\n", **kw):
    row = {c: 0 for c in shmem.WU_COLUMNS}
    row.update(id=wuid, appid=1, name=name, xml_doc=xml, keywords="1 7",
               result_template_file="templates/x_out", rsc_fpops_est=1e12,
               delay_bound=3600, size_class=-1)
    row.update(kw)
    return row


def fill(cache, slots):
    """Put jobs (resultid = 1000 + slot) in ``slots`` and publish them."""
    for i in slots:
        cache.put(i, 1000 + i, res_priority=i, res_server_state=2, res_report_deadline=0,
                  wu=wu(500 + i, name="wu_%d" % i), infeasible_count=0, need_reliable=False,
                  time_added=1.0)
    cache.publish(list(slots))


@pytest.fixture
def cache(ipc_project):
    c = shmem.FeederCache.create(ipc_project, 8)
    yield c
    c.destroy()


def test_attach_without_feeder_says_err_shmget(ipc_project):
    with pytest.raises(shmem.ShmemError) as exc:
        shmem.JobCache.attach(ipc_project)
    assert exc.value.code == shmem.ERR_SHMGET == -144
    assert "feeder not running?" in str(exc.value)
    assert isinstance(exc.value, BoincError)


def test_segment_and_semaphore_as_boinc_makes_them(ipc_project, cache):
    shm = sysv_ipc.SharedMemory(ipc_project.shmem_key)
    assert stat.S_IMODE(shm.mode) == 0o666
    assert shm.size == cache.header().segment_size
    shm.detach()
    sem = sysv_ipc.Semaphore(shmem.semaphore_key(ipc_project.project_dir))
    assert sem.value == 1
    assert sem.key == sysv_ipc.ftok(ipc_project.project_dir, ord("a"), True)
    h = cache.header()
    assert (h.magic, h.layout_version) == (shmem.MAGIC, shmem.LAYOUT_VERSION)
    assert (h.max_wu_results, h.ready, h.feeder_pid) == (8, 0, os.getpid())
    assert (h.max_platforms, h.max_apps, h.max_app_versions, h.max_assignments) == \
        (50, 10, 100, 10)
    assert h.host_fpops_mean == 2.2e9


def test_create_replaces_an_old_segment_and_semaphore(ipc_project, cache):
    old_sem = sysv_ipc.Semaphore(shmem.semaphore_key(ipc_project.project_dir))
    old_sem.acquire()               # a stale holder must not block the new feeder
    again = shmem.FeederCache.create(ipc_project, 3)
    try:
        assert sysv_ipc.Semaphore(shmem.semaphore_key(ipc_project.project_dir)).value == 1
        assert shmem.JobCache.attach(ipc_project).max_wu_results == 3
    finally:
        again.destroy()


def test_reader_refuses_another_layout_version(ipc_project, cache):
    struct.pack_into("=I", cache._mv, 8, shmem.LAYOUT_VERSION + 1)
    with pytest.raises(shmem.ShmemError) as exc:
        shmem.JobCache.attach(ipc_project)
    assert exc.value.code == shmem.ERR_SCHED_SHMEM
    assert "layout version %d" % (shmem.LAYOUT_VERSION + 1) in str(exc.value)
    assert "restart the feeder" in str(exc.value)


def test_reader_refuses_a_foreign_segment(ipc_project):
    shm = sysv_ipc.SharedMemory(ipc_project.shmem_key, sysv_ipc.IPC_CREX, size=8192)
    shm.write(b"\x01\x00\x00\x00" * 8)           # what BOINC's C++ header starts like
    try:
        with pytest.raises(shmem.ShmemError) as exc:
            shmem.JobCache.attach(ipc_project)
        assert "not made by this feeder" in str(exc.value)
    finally:
        shm.detach()
        shm.remove()


def test_slots_round_trip(ipc_project, cache):
    fill(cache, [0, 3])
    reader = shmem.JobCache.attach(ipc_project)
    present = reader.present_slots()
    assert [(s.index, s.resultid, s.workunitid, s.res_priority) for s in present] == \
        [(0, 1000, 500, 0), (3, 1003, 503, 3)]
    assert [s.state for s in reader.slots()] == [1, 0, 0, 1, 0, 0, 0, 0]
    job = reader.workunit(3)
    assert job["id"] == 503 and job["name"] == "wu_3"
    assert job["keywords"] == "1 7" and job["result_template_file"] == "templates/x_out"
    assert job["xml_doc"] == "<file_info>\n</file_info>\n<workunit>\n</workunit>\n"
    assert job["rsc_fpops_est"] == 1e12 and job["delay_bound"] == 3600
    assert set(shmem.WU_COLUMNS) <= set(job)
    reader.detach()


def test_big_xml_doc_overflows_to_the_db(cache):
    big = b"<file_info>" + b"x" * shmem.SLOT_TEXT_BYTES + b"</file_info>"
    cache.put(1, 77, 0, 2, 0, wu(9, xml=big), 0, False, 1.0)
    cache.publish([1])
    s = cache.slot(1)
    assert s.xml_overflow == 1 and s.xml_len == 0
    assert cache.workunit(1)["xml_doc"] is None
    assert cache.workunit(1)["name"] == "wu"


def test_claim_release_take(ipc_project, cache):
    fill(cache, [2])
    reader = shmem.JobCache.attach(ipc_project)
    slot = reader.present_slots()[0]
    assert not reader.claim(2, 999, pid=4242)           # not the result we scanned
    assert not reader.claim(1, 1001, pid=4242)          # an empty slot
    assert reader.claim(2, 1002, pid=4242)
    assert reader.slot(2).state == 4242
    assert not reader.claim(slot, pid=4343)             # already reserved
    assert reader.present_slots() == []
    assert not reader.release(2, pid=4343)              # not ours
    assert reader.release(2, pid=4242)
    assert reader.slot(2).state == shmem.PRESENT
    assert reader.claim(slot)                           # Slot carries index and resultid
    assert reader.slot(2).state == os.getpid()
    assert reader.take(2)
    assert reader.slot(2).state == shmem.EMPTY
    assert not reader.take(2)
    with pytest.raises(ValueError):
        reader.claim(2, 1002, pid=1)


def test_note_infeasible(cache):
    fill(cache, [0])
    cache.note_infeasible(0)
    cache.note_infeasible(cache.slot(0))
    assert cache.slot(0).infeasible_count == 2


def _racer(cfg_dir, nslots, barrier, queue):
    from sched import config
    cache = shmem.JobCache.attach(config.load(cfg_dir))
    barrier.wait()
    won = [i for i in range(nslots) if cache.claim(i, 1000 + i)]
    queue.put((os.getpid(), won))


def test_processes_racing_for_slots_get_each_exactly_once(ipc_project, cache):
    nslots, nprocs = cache.max_wu_results, 6
    fill(cache, range(nslots))
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(nprocs), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(ipc_project.project_dir, nslots, barrier, queue))
             for _ in range(nprocs)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    winners = {}
    for pid, won in results:
        for i in won:
            assert i not in winners, "slot %d claimed twice" % i
            winners[i] = pid
    assert sorted(winners) == list(range(nslots))
    assert [cache.slot(i).state for i in range(nslots)] == [winners[i] for i in range(nslots)]


def test_catalog_is_cached_by_generation(ipc_project, cache):
    data = dict(platforms=[{"id": 1, "name": "linux"}], apps=[{"id": 3, "name": "a"}],
                app_versions=[{"id": 9, "appid": 3, "platformid": 1, "version_num": 100,
                               "xml_doc": "<app_version/>"}], assignments=[])
    cache.write_catalog(data, {"napps": 1, "have_cpu_apps": 1})
    reader = shmem.JobCache.attach(ipc_project)
    first = reader.catalog()
    assert first.generation == 1 == reader.generation
    assert reader.catalog() is first
    assert first.app(3)["name"] == "a" and first.platform_by_name("linux")["id"] == 1
    assert first.app_versions_for(3, 1)[0]["xml_doc"] == "<app_version/>"
    assert first.have_apps_for_proc_type == [True, False, False, False, False]
    data["apps"].append({"id": 4, "name": "b"})
    cache.write_catalog(data, {"napps": 2})
    second = reader.catalog()
    assert second is not first and second.generation == 2
    assert second.app(4)["name"] == "b"
    assert reader.header().napps == 2


def test_catalog_too_big_is_an_operator_error(ipc_project):
    small = shmem.FeederCache.create(ipc_project, 1, catalog_capacity=64)
    try:
        with pytest.raises(BoincError, match="shmem_catalog_bytes"):
            small.write_catalog(dict(platforms=[], apps=[{"name": "x" * 100}],
                                     app_versions=[], assignments=[]), {})
    finally:
        small.destroy()


def test_destroy_removes_segment_and_semaphore(ipc_project):
    c = shmem.FeederCache.create(ipc_project, 2)
    c.destroy()
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.SharedMemory(ipc_project.shmem_key)
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.Semaphore(shmem.semaphore_key(ipc_project.project_dir))


def test_claim_after_the_feeder_left_is_false(ipc_project):
    c = shmem.FeederCache.create(ipc_project, 2)
    fill(c, [0])
    reader = shmem.JobCache.attach(ipc_project)
    assert not reader.removed
    c.destroy()
    assert reader.removed
    assert not reader.claim(0, 1000)
    assert not reader.release(0) and not reader.take(0)
    assert not reader.ready
    with pytest.raises(shmem.ShmemError) as exc:
        reader.catalog()
    assert exc.value.code == shmem.ERR_SEMGET
    reader.detach()


def test_plan_class_to_proc_type():
    assert [shmem.plan_class_to_proc_type(p) for p in
            ("", "mt", "cuda_fermi", "nvidia_opencl", "ati14", "opencl_amd", "intel_gpu",
             "apple_gpu", "sse3")] == [0, 0, 1, 1, 2, 2, 3, 4, 0]
