#!/usr/bin/env python3
"""Benchmark of the feeder and the job cache (not a test).

Makes a throw-away project (temp dir, database ``boinctest_bench_*`` on the
local MariaDB as root, or BOINC_TEST_DB_ADMIN_* as in tests/conftest.py),
inserts unsent jobs, then measures:

* the feeder's pass that fills an empty cache (``--slots``), and the pass
  that refills it after a scheduler took every slot;
* a scheduler's view: attach, catalog decode, present_slots();
* claim + take latency in one process, and under contention from several
  processes claiming the same slots at once.

    .venv/bin/python bench/feeder_bench.py [--slots 100 1000] [--jobs 5000]
"""

import argparse
import io
import multiprocessing
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sched import config as configmod  # noqa: E402
from sched import db as dbmod  # noqa: E402
from sched import log as logmod  # noqa: E402
from sched import schema, shmem  # noqa: E402
from sched.feeder import Feeder  # noqa: E402


def admin():
    user = os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root")
    passwd = os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", "")
    host = os.environ.get("BOINC_TEST_DB_ADMIN_HOST", "localhost")
    return dbmod.Database("", user, passwd, host).connect()


def make_project(tmp, db_name, key, slots, a):
    (os.makedirs(os.path.join(tmp, "cgi-bin")))
    with open(os.path.join(tmp, "config.xml"), "w") as f:
        f.write("<boinc><config><shmem_key>0x%x</shmem_key><shmem_work_items>%d"
                "</shmem_work_items><db_name>%s</db_name><db_user>%s</db_user>"
                "<db_passwd>%s</db_passwd><db_host>%s</db_host></config></boinc>\n"
                % (key, slots, db_name, a.user, a.passwd, a.host))
    return configmod.load(tmp)


def populate(db, njobs):
    now = int(time.time())
    db.execute("INSERT INTO platform (create_time, name, user_friendly_name) "
               "VALUES (%s, 'x86_64-pc-linux-gnu', 'Linux')", (now,))
    db.execute("INSERT INTO app (create_time, name, user_friendly_name) "
               "VALUES (%s, 'bench', 'bench')", (now,))
    db.execute("INSERT INTO app_version (create_time, appid, version_num, platformid, "
               "xml_doc) VALUES (%s, 1, 100, 1, '<app_version/>')", (now,))
    doc = ("<file_info>\n    <name>in_%d</name>\n    <url>http://x/download/in</url>\n"
           "    <md5_cksum>0123456789abcdef0123456789abcdef</md5_cksum>\n"
           "    <nbytes>1000</nbytes>\n</file_info>\n<workunit>\n    <file_ref>\n"
           "        <file_name>in_%d</file_name>\n        <open_name>in</open_name>\n"
           "    </file_ref>\n</workunit>\n")
    wus = [(now, 1, "wu_%d" % i, doc % (i, i), 3.6e12, 8.64e13, 5e8, 1e9, now, 604800, 1, 1,
            1, 1, 1, "templates/bench_out", "") for i in range(njobs)]
    db.executemany("INSERT INTO workunit (create_time, appid, name, xml_doc, batch, "
                   "rsc_fpops_est, rsc_fpops_bound, rsc_memory_bound, rsc_disk_bound, "
                   "need_validate, canonical_resultid, canonical_credit, transition_time, "
                   "delay_bound, error_mask, file_delete_state, assimilate_state, hr_class, "
                   "opaque, min_quorum, target_nresults, max_error_results, max_total_results, "
                   "max_success_results, result_template_file, priority, rsc_bandwidth_bound, "
                   "fileset_id, app_version_id, transitioner_flags, keywords, app_version_num) "
                   "VALUES (%s, %s, %s, %s, 0, %s, %s, %s, %s, 0, 0, 0, %s, %s, 0, 0, 0, 0, 0, "
                   "%s, %s, %s, %s, %s, %s, 0, 0, 0, 0, 0, %s, 0)", wus)
    db.execute("INSERT INTO result (create_time, workunitid, server_state, outcome, "
               "client_state, hostid, userid, report_deadline, sent_time, received_time, "
               "name, cpu_time, xml_doc_in, batch, file_delete_state, validate_state, "
               "claimed_credit, granted_credit, opaque, random, app_version_num, appid, "
               "exit_status, teamid, priority, elapsed_time, flops_estimate, app_version_id, "
               "runtime_outlier, peak_working_set_size, peak_swap_size, peak_disk_usage) "
               "SELECT create_time, id, 2, 0, 0, 0, 0, 0, 0, 0, CONCAT(name, '_0'), 0, "
               "'<result>\n</result>\n', 0, 0, 0, 0, 0, 0, FLOOR(RAND()*1e9), 0, appid, 0, 0, "
               "0, 0, 0, 0, 0, 0, 0, 0 FROM workunit")


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def _contender(project_dir, nslots, barrier, queue):
    cache = shmem.JobCache.attach(configmod.load(project_dir))
    slots = cache.present_slots()
    barrier.wait()
    lat = []
    for s in slots:
        t = time.perf_counter()
        if cache.claim(s):
            cache.take(s)
        lat.append(time.perf_counter() - t)
    queue.put(lat)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def bench(slots, njobs, nclaims, a):
    db_name = "boinctest_bench_" + secrets.token_hex(3)
    tmp = tempfile.mkdtemp(prefix="feeder-bench-")
    key = 0x33330000 + secrets.randbelow(0xffff)
    cfg = make_project(tmp, db_name, key, slots, a)
    schema.create_database(a, db_name)
    feeder = None
    try:
        db = dbmod.connect(cfg)
        schema.load_schema(db)
        populate(db, njobs)
        feeder = Feeder()
        feeder.args = feeder.make_parser().parse_args([])
        feeder.log = logmod.Log(stream=io.StringIO())
        feeder.config, feeder.db = cfg, db
        t_setup, _ = timed(feeder.setup)
        t_fill, _ = timed(feeder.do_pass)
        reader = shmem.JobCache.attach(cfg)
        assert len(reader.present_slots()) == slots
        # a scheduler took every job: mark them sent and empty the slots.  The
        # first refill comes from the rows the last query buffered; the
        # second needs a new query.
        t_refill = []
        for _ in range(2):
            for s in reader.present_slots():
                reader.claim(s)
                db.execute("UPDATE result SET server_state=4 WHERE id=%s", (s.resultid,))
                reader.take(s)
            t_refill.append(timed(feeder.do_pass)[0])
            assert len(reader.present_slots()) == slots

        t_attach, r2 = timed(lambda: shmem.JobCache.attach(cfg))
        t_catalog, _ = timed(r2.catalog)
        t_present = min(timed(r2.present_slots)[0] for _ in range(50))
        t_wu = min(timed(lambda: r2.workunit(0))[0] for _ in range(50))
        r2.detach()

        # claim + release in one process (the slot goes back each time)
        s = reader.present_slots()[0]
        lat = []
        for _ in range(nclaims):
            t = time.perf_counter()
            reader.claim(s)
            lat.append(time.perf_counter() - t)
            reader.release(s)

        # contention: 8 processes claim+take the same slots at once
        ctx = multiprocessing.get_context("fork")
        nproc = 8
        barrier, queue = ctx.Barrier(nproc), ctx.Queue()
        procs = [ctx.Process(target=_contender, args=(tmp, slots, barrier, queue))
                 for _ in range(nproc)]
        for p in procs:
            p.start()
        contended = [x for _ in procs for x in queue.get(timeout=120)]
        for p in procs:
            p.join()
        reader.detach()

        us = 1e6
        print("slots=%d jobs=%d" % (slots, njobs))
        print("  feeder setup (create segment, scan tables)  %8.1f ms" % (t_setup * 1e3))
        print("  first fill of an empty cache                %8.1f ms" % (t_fill * 1e3))
        print("  refill after every slot was taken: from buffered rows %.1f ms, "
              "with a new query %.1f ms" % (t_refill[0] * 1e3, t_refill[1] * 1e3))
        print("  scheduler: attach %.0f us, catalog %.0f us, present_slots %.0f us, "
              "workunit() %.1f us" % (t_attach * us, t_catalog * us, t_present * us,
                                      t_wu * us))
        print("  claim, one process (n=%d): median %.1f us, p99 %.1f us, max %.1f us"
              % (nclaims, statistics.median(lat) * us, pct(lat, 99) * us, max(lat) * us))
        print("  claim+take, %d processes racing (n=%d): median %.1f us, p99 %.1f us"
              % (nproc, len(contended), statistics.median(contended) * us,
                 pct(contended, 99) * us))
    finally:
        if feeder is not None and feeder.cache is not None:
            feeder.cleanup()
        a.execute("DROP DATABASE IF EXISTS `%s`" % db_name)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slots", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--jobs", type=int, default=5000)
    p.add_argument("--claims", type=int, default=20000)
    args = p.parse_args()
    a = admin()
    for n in args.slots:
        bench(n, max(args.jobs, 3 * n), args.claims, a)


if __name__ == "__main__":
    main()
