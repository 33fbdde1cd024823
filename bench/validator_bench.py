#!/usr/bin/env python3
"""Benchmark of the validator (not a test): results validated per second
with a large backlog.

Makes a throw-away project (temp dir, database ``boinctest_bench_*`` on the
local MariaDB as root, or BOINC_TEST_DB_ADMIN_* as in tests/conftest.py),
inserts ``--results`` returned results of quorum-1 jobs (``need_validate=1``)
spread over ``--hosts`` hosts with their owners, teams and host_app_version
rows, then runs ``bin/sample_trivial_validator --one_pass`` (a real process,
interpreter start included) and times it.  ``--validator bitwise`` writes
one small output file per result and uses sample_bitwise_validator instead.
``--quorum 2`` makes jobs of two agreeing results.

    .venv/bin/python bench/validator_bench.py [--results 100000] [--hosts 1000]
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sched import config as configmod  # noqa: E402
from sched import db as dbmod  # noqa: E402
from sched import paths, schema  # noqa: E402


def admin():
    user = os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root")
    passwd = os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", "")
    host = os.environ.get("BOINC_TEST_DB_ADMIN_HOST", "localhost")
    return dbmod.Database("", user, passwd, host).connect()


def make_project(tmp, db_name, a):
    for d in ("cgi-bin", "bin", "upload", "tmp_" + paths.short_hostname()):
        os.makedirs(os.path.join(tmp, d))
    with open(os.path.join(tmp, "config.xml"), "w") as f:
        f.write("<boinc><config><db_name>%s</db_name><db_user>%s</db_user>"
                "<db_passwd>%s</db_passwd><db_host>%s</db_host>"
                "<upload_dir>%s</upload_dir><uldl_dir_fanout>1024</uldl_dir_fanout>"
                "<daily_result_quota>100</daily_result_quota></config></boinc>\n"
                % (db_name, a.user, a.passwd, a.host, os.path.join(tmp, "upload")))
    return configmod.load(tmp)


_COLUMNS = {}


def insert(db, table, **values):
    """INSERT with 0 / '' in every NOT NULL column that has no default."""
    row = {}
    if table not in _COLUMNS:
        _COLUMNS[table] = db.query(
            "SELECT column_name AS name, data_type AS type FROM information_schema.columns "
            "WHERE table_schema=DATABASE() AND table_name=%s AND is_nullable='NO' AND "
            "column_default IS NULL AND extra NOT LIKE '%%auto_increment%%'", (table,))
    for c in _COLUMNS[table]:
        row[c["name"]] = "" if "char" in c["type"] or "text" in c["type"] else 0
    row.update(values)
    db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(row),
                                                    ", ".join(["%s"] * len(row))),
               list(row.values()))


def populate(db, cfg, nresults, nhosts, quorum, with_files):
    now = int(time.time())
    db.execute("INSERT INTO platform (create_time, name, user_friendly_name) "
               "VALUES (%s, 'x86_64-pc-linux-gnu', 'Linux')", (now,))
    db.execute("INSERT INTO app (create_time, name, user_friendly_name) "
               "VALUES (%s, 'bench', 'bench')", (now,))
    db.execute("INSERT INTO app_version (create_time, appid, version_num, platformid, "
               "xml_doc) VALUES (%s, 1, 100, 1, '<app_version/>')", (now,))
    nteams = max(1, nhosts // 20)
    with db.transaction():
        for i in range(nteams):
            insert(db, "team", create_time=now, name="team%d" % i)
        for i in range(nhosts):
            insert(db, "user", create_time=now, email_addr="u%d@x" % i, name="u%d" % i,
                   authenticator=secrets.token_hex(16),
                   teamid=(i % nteams) + 1 if i % 3 else 0)
            insert(db, "host", create_time=now, userid=i + 1)
    db.execute("INSERT INTO host_app_version (host_id, app_version_id, pfc_n, pfc_avg, et_n, "
               "et_avg, et_var, et_q, max_jobs_per_day, n_jobs_today, turnaround_n, "
               "turnaround_avg, turnaround_var, turnaround_q, consecutive_valid) "
               "SELECT id, 1, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0 FROM host")
    njobs = nresults // quorum
    batch = 5000
    for start in range(0, njobs, batch):
        rows = [(now, "job_%d" % i, quorum, quorum)
                for i in range(start, min(njobs, start + batch))]
        db.executemany(
            "INSERT INTO workunit (create_time, appid, name, xml_doc, batch, rsc_fpops_est, "
            "rsc_fpops_bound, rsc_memory_bound, rsc_disk_bound, need_validate, "
            "canonical_resultid, canonical_credit, transition_time, delay_bound, error_mask, "
            "file_delete_state, assimilate_state, hr_class, opaque, min_quorum, "
            "target_nresults, max_error_results, max_total_results, max_success_results, "
            "result_template_file, priority, rsc_bandwidth_bound, fileset_id, "
            "app_version_id, transitioner_flags, keywords, app_version_num) "
            "VALUES (%s, 1, %s, '<workunit/>', 0, 1e10, 1e13, 1e8, 1e8, 1, 0, 0, 2147483647, "
            "86400, 0, 0, 0, 0, 0, %s, %s, 3, 10, 6, 'templates/bench_out', 0, 0, 0, 0, 0, "
            "'', 0)", rows)
    doc = ("CONCAT('<file_info>\\n    <name>', workunit.name, '_', n.k, '_r1_0</name>\\n"
           "    <generated_locally/>\\n    <upload_when_present/>\\n"
           "    <max_nbytes>1000000</max_nbytes>\\n</file_info>\\n<result>\\n"
           "    <file_ref>\\n        <file_name>', workunit.name, '_', n.k, '_r1_0</file_name>\\n"
           "        <open_name>out</open_name>\\n    </file_ref>\\n</result>')")
    for k in range(quorum):
        db.execute(
            "INSERT INTO result (create_time, workunitid, server_state, outcome, client_state, "
            "hostid, userid, report_deadline, sent_time, received_time, name, cpu_time, "
            "xml_doc_in, xml_doc_out, stderr_out, batch, file_delete_state, validate_state, "
            "claimed_credit, granted_credit, opaque, random, app_version_num, appid, "
            "exit_status, teamid, priority, elapsed_time, flops_estimate, app_version_id, "
            "runtime_outlier, size_class, peak_working_set_size, peak_swap_size, "
            "peak_disk_usage) SELECT %s, workunit.id, 5, 1, 5, "
            "(workunit.id * %s + n.k) %% %s + 1, 0, %s, %s, %s, "
            "CONCAT(workunit.name, '_', n.k), 90, " + doc + ", '', "
            "'<stderr_txt>done</stderr_txt>', 0, 0, 0, 0, 0, 0, 0, 100, 1, 0, 0, 0, 100, 2e9, "
            "1, 0, -1, 0, 0, 0 FROM workunit JOIN (SELECT %s AS k) n",
            (now, quorum, nhosts, now + 86400, now - 3600, now - 60, k))
    db.execute("UPDATE result JOIN host ON host.id = result.hostid JOIN user ON "
               "user.id = host.userid SET result.userid = user.id, result.teamid = user.teamid")
    if with_files:
        for (name,) in db.rows("SELECT name FROM result"):
            phys = name + "_r1_0"
            with open(paths.dir_hier_path(phys, cfg.upload_dir, 1024, create=True), "w") as f:
                f.write("the same answer\n")
    return njobs


def bench(a, admin_db):
    db_name = "boinctest_bench_" + secrets.token_hex(3)
    tmp = tempfile.mkdtemp(prefix="validator-bench-")
    cfg = make_project(tmp, db_name, admin_db)
    schema.create_database(admin_db, db_name)
    try:
        db = dbmod.connect(cfg)
        schema.load_schema(db)
        t0 = time.time()
        njobs = populate(db, cfg, a.results, a.hosts, a.quorum, a.validator == "bitwise")
        print("populated %d jobs, %d results in %.1f s" % (njobs, njobs * a.quorum,
                                                            time.time() - t0))
        prog = {"trivial": "sample_trivial_validator",
                "bitwise": "sample_bitwise_validator"}[a.validator]
        env = dict(os.environ, BOINC_PROJECT_DIR=tmp)
        log = os.path.join(tmp, "validator.log")
        with open(log, "w") as out:
            t0 = time.time()
            c0 = os.times()
            status = subprocess.call([os.path.join(ROOT, "bin", prog), "--app", "bench",
                                      "--one_pass", "-d", "2"], cwd=os.path.join(
                                          tmp, "tmp_" + paths.short_hostname()),
                                     env=env, stdout=out, stderr=out)
            wall = time.time() - t0
            c1 = os.times()
        cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
        if status != 0:
            with open(log) as f:
                sys.stderr.write(f.read()[-3000:])
            raise SystemExit("validator failed (%d)" % status)
        nvalid = db.scalar("SELECT COUNT(*) FROM result WHERE validate_state=1")
        left = db.scalar("SELECT COUNT(*) FROM workunit WHERE need_validate<>0")
        total = db.scalar("SELECT SUM(total_credit) FROM host")
        granted = db.scalar("SELECT SUM(granted_credit) FROM result")
        print("%s: %d results valid, %d jobs left, host credit %.3f = granted %.3f"
              % (prog, nvalid, left, total, granted))
        print("wall %.1f s, validator CPU %.1f s: %.0f results/s (%.0f jobs/s)"
              % (wall, cpu, nvalid / wall, njobs / wall))
        db.close()
        return nvalid / wall
    finally:
        admin_db.execute("DROP DATABASE IF EXISTS `%s`" % db_name)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=int, default=100000)
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--quorum", type=int, default=1)
    p.add_argument("--validator", choices=("trivial", "bitwise"), default="trivial")
    p.add_argument("--runs", type=int, default=1)
    a = p.parse_args()
    admin_db = admin()
    rates = [bench(a, admin_db) for _ in range(a.runs)]
    print("best: %.0f results/s" % max(rates))


if __name__ == "__main__":
    main()
