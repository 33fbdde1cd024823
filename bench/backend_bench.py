#!/usr/bin/env python3
"""Benchmark of the back end's clean-up chain with a large backlog (not a test).

Makes a throw-away project (temp dir, database ``boinctest_bench_*`` on the
local MariaDB as root, or BOINC_TEST_DB_ADMIN_* as in tests/conftest.py)
holding ``--wus`` finished workunits with ``--results`` results each (one
output file per result, one input file per workunit, all real files in the
fan-out hierarchy), then times, each daemon draining the whole backlog:

* sample_dummy_assimilator (states written in groups);
* the same framework with a handler that writes each workunit's state
  right after it (``commit_every = 1``, every script or project handler),
  on the first ``--per-wu`` workunits;
* file_deleter (all inputs, outputs, .md5 companions);
* db_purge with archives.

Each daemon runs in this process, its log written to a file as under
bin/start.  The aim: each keeps up with 200 results/s.

    .venv/bin/python bench/backend_bench.py [--wus 50000] [--results 2]
"""

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sched import config as configmod  # noqa: E402
from sched import db as dbmod  # noqa: E402
from sched import log as logmod  # noqa: E402
from sched import paths, schema  # noqa: E402
from sched.assimilator import Assimilator  # noqa: E402
from sched.db_purge import DbPurge  # noqa: E402
from sched.file_deleter import FileDeleter  # noqa: E402
from sched.sample_dummy_assimilator import DummyAssimilator  # noqa: E402

FANOUT = 1024


def admin():
    user = os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root")
    passwd = os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", "")
    host = os.environ.get("BOINC_TEST_DB_ADMIN_HOST", "localhost")
    return dbmod.Database("", user, passwd, host).connect()


def make_project(tmp, db_name, a):
    os.makedirs(os.path.join(tmp, "cgi-bin"))
    for d in ("download", "upload", "archives"):
        os.makedirs(os.path.join(tmp, d))
    with open(os.path.join(tmp, "config.xml"), "w") as f:
        f.write("<boinc><config><db_name>%s</db_name><db_user>%s</db_user>"
                "<db_passwd>%s</db_passwd><db_host>%s</db_host>"
                "<upload_dir>%s/upload</upload_dir><download_dir>%s/download</download_dir>"
                "<uldl_dir_fanout>%d</uldl_dir_fanout><cache_md5_info>1</cache_md5_info>"
                "</config></boinc>\n" % (db_name, a.user, a.passwd, a.host, tmp, tmp, FANOUT))
    return configmod.load(tmp)


WU_DOC = ("<file_info>\n    <name>in_{i}</name>\n    <url>http://x/download/in_{i}</url>\n"
          "    <md5_cksum>0123456789abcdef0123456789abcdef</md5_cksum>\n"
          "    <nbytes>1000</nbytes>\n</file_info>\n<workunit>\n    <file_ref>\n"
          "        <file_name>in_{i}</file_name>\n        <open_name>in</open_name>\n"
          "    </file_ref>\n</workunit>\n")
RESULT_DOC = ("<file_info>\n    <name>{name}_out</name>\n    <generated_locally/>\n"
              "    <upload_when_present/>\n    <max_nbytes>100000</max_nbytes>\n"
              "    <url>http://x/upload</url>\n</file_info>\n<result>\n"
              "    <name>{name}</name>\n    <file_ref>\n        <file_name>{name}_out"
              "</file_name>\n        <open_name>out</open_name>\n    </file_ref>\n</result>\n")


def populate(db, cfg, nwus, nres):
    """Finished jobs, ready to assimilate, and their files on disk."""
    now = int(time.time())
    db.execute("INSERT INTO app (create_time, name, user_friendly_name) "
               "VALUES (%s, 'bench', 'bench')", (now,))
    wu_cols = dict(create_time=now, appid=1, batch=0, rsc_fpops_est=3.6e12,
                   rsc_fpops_bound=8.64e13, rsc_memory_bound=5e8, rsc_disk_bound=1e9,
                   need_validate=0, canonical_credit=0, transition_time=2147483647,
                   delay_bound=604800, error_mask=0, file_delete_state=0, assimilate_state=1,
                   hr_class=0, opaque=0, min_quorum=1, target_nresults=1, max_error_results=3,
                   max_total_results=5, max_success_results=3,
                   result_template_file="templates/bench_out", priority=0,
                   rsc_bandwidth_bound=0, fileset_id=0, app_version_id=0, transitioner_flags=0,
                   keywords="", app_version_num=0)
    res_cols = dict(create_time=now, server_state=5, outcome=1, client_state=5, hostid=1,
                    userid=1, report_deadline=0, sent_time=0, received_time=0, cpu_time=1.5,
                    xml_doc_out="<result/>", stderr_out="stderr", batch=0, file_delete_state=0,
                    validate_state=1, claimed_credit=0, granted_credit=1.0, opaque=0, random=0,
                    app_version_num=0, appid=1, exit_status=0, teamid=0, priority=0,
                    elapsed_time=100.0, flops_estimate=1e9, app_version_id=0,
                    runtime_outlier=0, peak_working_set_size=0, peak_swap_size=0,
                    peak_disk_usage=0)

    def insert_many(table, fixed, names, rows):
        cols = list(names) + list(fixed)
        db.executemany("INSERT INTO %s (%s) VALUES (%s)" % (
            table, ", ".join(cols), ", ".join(["%s"] * len(cols))),
            [tuple(r) + tuple(fixed.values()) for r in rows])

    batch = 2000
    for start in range(0, nwus, batch):
        ids = range(start, min(nwus, start + batch))
        insert_many("workunit", wu_cols, ("id", "name", "xml_doc", "canonical_resultid"),
                    [(i + 1, "wu_%d" % i, WU_DOC.format(i=i), i * nres + 1) for i in ids])
        rows = []
        for i in ids:
            for k in range(nres):
                name = "wu_%d_%d" % (i, k)
                rows.append((i * nres + k + 1, i + 1, name, RESULT_DOC.format(name=name)))
        insert_many("result", res_cols, ("id", "workunitid", "name", "xml_doc_in"), rows)
    for i in range(nwus):
        for name, root in [("in_%d" % i, cfg.download_dir)] + \
                [("wu_%d_%d_out" % (i, k), cfg.upload_dir) for k in range(nres)]:
            path = paths.dir_hier_path(name, root, FANOUT, create=True)
            with open(path, "wb") as f:
                f.write(b"x" * 100)
            if root == cfg.download_dir:
                with open(path + ".md5", "wb") as f:
                    f.write(b"0123456789abcdef0123456789abcdef 100\n")


def daemon(cls, cfg, argv, log):
    d = cls()
    d.args = d.make_parser().parse_args(argv)
    if d.args.sleep_interval is not None:
        d.sleep_interval = d.args.sleep_interval
    d.log = logmod.Log(level=d.args.d, stream=log)
    d.config = cfg
    d.db = dbmod.connect(cfg)
    d.setup()
    return d


def drain(d, remaining):
    """Run passes until ``remaining()`` is 0; return elapsed seconds."""
    t = time.perf_counter()
    while remaining():
        d.do_pass()
    elapsed = time.perf_counter() - t
    d.cleanup()
    d.db.close()
    return elapsed


class OneByOne(Assimilator):
    """A handler doing nothing, its state written right after it (the default)."""
    name = "per_wu_assimilator"

    def assimilate(self, wu, results, canonical):
        return 0


def count(db, sql):
    return lambda: db.scalar(sql)


def bench(nwus, nres, per_wu, a):
    db_name = "boinctest_bench_" + secrets.token_hex(3)
    tmp = tempfile.mkdtemp(prefix="backend-bench-")
    cfg = make_project(tmp, db_name, a)
    schema.create_database(a, db_name)
    out = []
    try:
        db = dbmod.connect(cfg)
        schema.load_schema(db)
        t = time.perf_counter()
        populate(db, cfg, nwus, nres)
        print("backlog: %d workunits, %d results, %d files (made in %.0f s)"
              % (nwus, nwus * nres, nwus * (nres + 2), time.perf_counter() - t))
        log = open(os.path.join(tmp, "daemons.log"), "w")

        # the same framework, one state write (commit) per workunit, on a slice
        d = daemon(OneByOne, cfg, ["--app", "bench", "--one_pass_N_WU", str(per_wu)], log)
        t = time.perf_counter()
        d.do_pass()
        el = time.perf_counter() - t
        d.db.close()
        out.append(("assimilator, state written per WU (%d WUs)" % per_wu, per_wu, el, nres))

        d = daemon(DummyAssimilator, cfg, ["--app", "bench"], log)
        left = nwus - per_wu
        el = drain(d, count(db, "SELECT COUNT(*) FROM workunit WHERE assimilate_state=1"))
        out.append(("sample_dummy_assimilator (%d WUs)" % left, left, el, nres))

        db.execute("UPDATE workunit SET file_delete_state=1")
        db.execute("UPDATE result SET file_delete_state=1")
        d = daemon(FileDeleter, cfg, [], log)
        el = drain(d, count(db, "SELECT (SELECT COUNT(*) FROM workunit WHERE file_delete_state"
                                "=1) + (SELECT COUNT(*) FROM result WHERE file_delete_state=1)"))
        left_files = sum(len(files) for top in (cfg.download_dir, cfg.upload_dir)
                         for _, _, files in os.walk(top))
        out.append(("file_deleter (%d files)" % (nwus * (nres + 2)), nwus, el, nres))

        d = daemon(DbPurge, cfg, [], log)
        el = drain(d, count(db, "SELECT COUNT(*) FROM workunit"))
        out.append(("db_purge with archives", nwus, el, nres))
        log.close()

        print("%-48s %9s %9s %12s" % ("", "seconds", "WUs/s", "results/s"))
        for what, n, el, k in out:
            print("%-48s %9.1f %9.0f %12.0f" % (what, el, n / el, n * k / el))
        print("files left in download/ and upload/ after file_deleter: %d" % left_files)
    finally:
        a.execute("DROP DATABASE IF EXISTS `%s`" % db_name)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wus", type=int, default=50000, help="workunits in the backlog")
    p.add_argument("--results", type=int, default=2, help="results per workunit")
    p.add_argument("--per-wu", type=int, default=2000,
                   help="workunits assimilated with a state write each")
    args = p.parse_args()
    bench(args.wus, args.results, min(args.per_wu, args.wus // 2), admin())


if __name__ == "__main__":
    main()
