#!/usr/bin/env python3
"""The scheduler on a small and on a big database: do its figures stay flat?

For each --results size (default 10,000 and 1,000,000) makes a throw-away
FastCGI project as bench/sched_bench.py does, then fills its database with a
project's history (fill_history below: users, --hosts hosts, finished jobs
with two results each, some results still in progress on those hosts),
tops the unsent pool up to --pool jobs, and runs bench/loadgen.py in each
--mode.  Prints throughput, p50 and p99 per size, and p99(big)/p99(small).

    .venv/bin/python bench/scale_bench.py                     # 10k vs 1M results, 100k hosts
    .venv/bin/python bench/scale_bench.py --results 10000 200000 --hosts 20000 --duration 5
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import sched_bench  # noqa: E402
from sched import states  # noqa: E402

HOSTS_PER_USER = 10
IN_PROGRESS_EVERY = 20           # 1 in 20 history results is still out on a host
BATCH = 200000                   # rows per INSERT ... SELECT


def fill_history(db, nresults, nhosts, appid, app_version_id, log=print):
    """A project's past in bulk, with MariaDB's sequence tables: users, hosts,
    nresults/2 finished workunits of two results each (validated, assimilated,
    files deleted) of which every IN_PROGRESS_EVERY-th result is still in
    progress on its host.  Returns the seconds it took."""
    started = time.time()
    db.execute("SET SESSION sql_mode=''")         # unlisted columns: their zero values
    now = int(time.time())
    first_user = (db.scalar("SELECT MAX(id) FROM user") or 0) + 1
    nusers = max(1, nhosts // HOSTS_PER_USER)

    def seq(n, sql, *args):
        for lo in range(0, n, BATCH):
            hi = min(n, lo + BATCH)
            db.execute(sql.replace("SEQ", "seq_%d_to_%d" % (lo + 1, hi)), args)

    seq(nusers, "INSERT INTO user (id, create_time, email_addr, name, authenticator, "
        "cross_project_id, passwd_hash, expavg_time, send_email, show_hosts) "
        "SELECT %s + seq - 1, %s, CONCAT('u', seq, '@example.com'), CONCAT('user ', seq), "
        "MD5(CONCAT('auth', seq)), MD5(CONCAT('cpid', seq)), MD5(seq), %s, 1, 1 FROM SEQ",
        first_user, now, now)
    first_host = (db.scalar("SELECT MAX(id) FROM host") or 0) + 1
    seq(nhosts, "INSERT INTO host (id, create_time, userid, rpc_seqno, rpc_time, domain_name, "
        "last_ip_addr, host_cpid, p_ncpus, p_vendor, p_model, p_fpops, p_iops, m_nbytes, "
        "d_total, d_free, os_name, os_version, on_frac, connected_frac, active_frac, "
        "expavg_time, serialnum) "
        "SELECT %s + seq - 1, %s, %s + seq %% %s, 10, %s - seq %% 86400, CONCAT('h', seq), "
        "'10.0.0.1', MD5(CONCAT('host', seq)), 4, 'GenuineIntel', 'Simulated', 3e9, 1e10, "
        "8e9, 5e11, 2e11, 'Linux', '6.1', 1, 1, 1, %s, '[BOINC|7.20.5]' FROM SEQ",
        first_host, now, first_user, nusers, now, now)
    nwus = nresults // 2
    first_wu = (db.scalar("SELECT MAX(id) FROM workunit") or 0) + 1
    seq(nwus, "INSERT INTO workunit (id, create_time, appid, name, xml_doc, batch, "
        "rsc_fpops_est, rsc_fpops_bound, rsc_memory_bound, rsc_disk_bound, need_validate, "
        "canonical_resultid, canonical_credit, transition_time, delay_bound, error_mask, "
        "file_delete_state, assimilate_state, target_nresults, min_quorum, "
        "max_error_results, max_total_results, max_success_results, priority, "
        "rsc_bandwidth_bound, mod_time) "
        "SELECT %s + seq - 1, %s, %s, CONCAT('hist_', seq), "
        "'<workunit>\n</workunit>\n', 0, 1e10, 1e13, 1e8, 1e8, 0, 0, 1, 2147483647, 86400, "
        "0, 2, 2, 2, 2, 3, 10, 6, 0, 0, NOW() FROM SEQ",
        first_wu, now - 86400, appid)
    first_result = (db.scalar("SELECT MAX(id) FROM result") or 0) + 1
    seq(nwus * 2, "INSERT INTO result (id, create_time, workunitid, server_state, outcome, "
        "client_state, hostid, userid, report_deadline, sent_time, received_time, name, "
        "cpu_time, xml_doc_in, xml_doc_out, stderr_out, batch, file_delete_state, "
        "validate_state, claimed_credit, granted_credit, opaque, random, app_version_num, "
        "appid, exit_status, teamid, priority, mod_time, elapsed_time, flops_estimate, "
        "app_version_id, runtime_outlier, size_class, peak_working_set_size, "
        "peak_swap_size, peak_disk_usage) "
        "SELECT %s + seq - 1, %s, %s + (seq - 1) DIV 2, "
        "IF(seq %% %s = 0, %s, %s), IF(seq %% %s = 0, 0, %s), "
        "IF(seq %% %s = 0, 0, 5), %s + seq %% %s, %s + (seq %% %s + 1) %% %s, "
        "%s + 86400, %s - 3600, IF(seq %% %s = 0, 0, %s), "
        "CONCAT('hist_', (seq - 1) DIV 2 + 1, '_', (seq - 1) %% 2), 3600, "
        "'<result>\n</result>\n', '', '', 0, IF(seq %% %s = 0, 0, 2), "
        "IF(seq %% %s = 0, 0, 1), 0, 1, 0, RAND() * 2147483647, 100, %s, 0, 0, 0, NOW(), "
        "3600, 3e9, %s, 0, -1, 0, 0, 0 FROM SEQ",
        first_result, now - 86400, first_wu,
        IN_PROGRESS_EVERY, states.RESULT_SERVER_STATE_IN_PROGRESS,
        states.RESULT_SERVER_STATE_OVER, IN_PROGRESS_EVERY, states.RESULT_OUTCOME_SUCCESS,
        IN_PROGRESS_EVERY, first_host, nhosts, first_user, nhosts, nusers,
        now, now, IN_PROGRESS_EVERY, now - 600, IN_PROGRESS_EVERY, IN_PROGRESS_EVERY,
        appid, app_version_id)
    db.execute("UPDATE workunit SET canonical_resultid=%s + 2 * (id - %s) "
               "WHERE id >= %s", (first_result, first_wu, first_wu))
    db.query("ANALYZE TABLE user, host, workunit, result")
    took = time.time() - started
    log("  history: %d users, %d hosts, %d workunits, %d results in %.0f s"
        % (nusers, nhosts, nwus, nwus * 2, took))
    return took


def settle(admin, limit=300):
    """Until MariaDB has written out what the bulk inserts left dirty in its
    buffer pool and its checkpoint has caught up with its redo log (or
    ``limit`` seconds): else that background work would be measured as the
    scheduler being slower on the big database -- with the redo log nearly
    full, every commit waits while pages are flushed, up to a second (seen:
    p99 of 1 s on the big database without this wait, 45 ms with it).
    MariaDB flushes lazily, so it is told to flush everything meanwhile."""
    old = admin.scalar("SELECT @@GLOBAL.innodb_max_dirty_pages_pct")
    admin.execute("SET GLOBAL innodb_max_dirty_pages_pct=0")
    try:
        deadline = time.time() + limit
        while time.time() < deadline:
            status = {k: int(v) for k, v in admin.rows(
                "SHOW GLOBAL STATUS WHERE Variable_name IN "
                "('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total', "
                "'Innodb_checkpoint_age', 'Innodb_checkpoint_max_age')")}
            if status["Innodb_buffer_pool_pages_dirty"] * 100 < \
                    status["Innodb_buffer_pool_pages_total"] and \
                    status.get("Innodb_checkpoint_age", 0) * 10 < \
                    status.get("Innodb_checkpoint_max_age", 1):
                return
            time.sleep(2)
    finally:
        admin.execute("SET GLOBAL innodb_max_dirty_pages_pct=%s", (old,))


def run_size(args, nresults):
    proj = sched_bench.Project("fcgi", 0)
    out = []
    try:
        appid = proj.db.scalar("SELECT id FROM app WHERE name='bench'")
        avid = proj.db.scalar("SELECT id FROM app_version WHERE appid=%s", (appid,))
        print("%d results:" % nresults, flush=True)
        fill_history(proj.db, max(0, nresults - args.pool), args.hosts, appid, avid)
        settle(proj.admin)
        for mode in args.mode:
            proj.stop()
            proj.top_up(args.pool)
            proj.db.query("ANALYZE TABLE result, workunit")
            proj.start([sched_bench.FEEDER] + ([sched_bench.TRANSITIONER]
                                               if mode == "cycle" else []))
            for c in args.concurrency:
                fig = sched_bench.loadgen(proj.scheduler_url("fcgi"),
                                          proj.user["authenticator"], mode, c, args.duration,
                                          warmup=args.warmup)
                fig["results_in_db"] = proj.db.scalar("SELECT COUNT(*) FROM result")
                fig["hosts_in_db"] = proj.db.scalar("SELECT COUNT(*) FROM host")
                out.append(fig)
                sched_bench.report(fig, "fcgi %d results" % nresults, args.json)
    finally:
        proj.close()
    return out


METRIC = {"nowork": "rpc_per_s", "fetch": "jobs_per_s", "cycle": "acked_per_s"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=int, nargs=2, default=[10000, 1000000],
                   metavar=("SMALL", "BIG"))
    p.add_argument("--hosts", type=int, default=100000, help="history hosts in the big DB")
    p.add_argument("--pool", type=int, default=60000, help="unsent jobs at each run's start")
    p.add_argument("--mode", choices=("nowork", "fetch", "cycle"), nargs="+",
                   default=["nowork", "fetch", "cycle"])
    p.add_argument("--concurrency", type=int, nargs="+", default=[4])
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    hosts = args.hosts
    small_args = argparse.Namespace(**vars(args))
    small_args.hosts = max(1, hosts * args.results[0] // args.results[1])
    small = run_size(small_args, args.results[0])
    big = run_size(args, args.results[1])
    print("\n| mode | c | figure | %d results | %d results | p99 ms small | p99 ms big | "
          "p99 big/small |" % tuple(args.results))
    print("|---|---|---|---|---|---|---|---|")
    for s, b in zip(small, big):
        metric = METRIC[s["mode"]]
        print("| %s | %d | %s | %s | %s | %s | %s | %.2f |"
              % (s["mode"], s["concurrency"], metric, s[metric], b[metric], s["p99_ms"],
                 b["p99_ms"], b["p99_ms"] / s["p99_ms"] if s["p99_ms"] else 0))
    if args.json:
        print(json.dumps({"small": small, "big": big}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
