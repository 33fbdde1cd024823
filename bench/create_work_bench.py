#!/usr/bin/env python3
"""Benchmark of ``create_work --stdin`` (not a test).

Makes a throw-away project with make_project (temp dir, database
``boinctest_bench_*`` on the local MariaDB as root, or BOINC_TEST_DB_ADMIN_*
as in tests/conftest.py), stages N small input files (stage_file's way:
file + .md5 cache), then times ``bin/create_work --appname bench --stdin``
making one job per file, as a whole process (interpreter start included),
and reports jobs/s.  Everything is removed afterwards unless --keep.

    .venv/bin/python bench/create_work_bench.py [--jobs 20000] [--runs 3] [--keep]
"""

import argparse
import contextlib
import io
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sched import db as dbmod  # noqa: E402
from sched.progress import Progress  # noqa: E402
from sched.stage import plan_staging, stage  # noqa: E402
from sched.tools import make_project  # noqa: E402

TEMPLATE_IN = """<input_template>
    <file_info>
        <number>0</number>
    </file_info>
    <workunit>
        <file_ref>
            <file_number>0</file_number>
            <open_name>in</open_name>
        </file_ref>
        <target_nresults>1</target_nresults>
        <min_quorum>1</min_quorum>
        <rsc_fpops_est>1e10</rsc_fpops_est>
        <rsc_fpops_bound>1e13</rsc_fpops_bound>
        <rsc_memory_bound>1e8</rsc_memory_bound>
        <rsc_disk_bound>1e8</rsc_disk_bound>
        <delay_bound>86400</delay_bound>
    </workunit>
</input_template>
"""
TEMPLATE_OUT = """<output_template>
    <file_info>
        <name><OUTFILE_0/></name>
        <generated_locally/>
        <upload_when_present/>
        <max_nbytes>1000000</max_nbytes>
        <url><UPLOAD_URL/></url>
    </file_info>
    <result>
        <file_ref>
            <file_name><OUTFILE_0/></file_name>
            <open_name>out</open_name>
        </file_ref>
    </result>
</output_template>
"""


def admin():
    return dict(user=os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root"),
                passwd=os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", ""),
                host=os.environ.get("BOINC_TEST_DB_ADMIN_HOST", "localhost"))


def make(tmp, db_name):
    a = admin()
    argv = ["--no_query", "--url_base", "http://127.0.0.1:8081/",
            "--project_root", os.path.join(tmp, "bench"), "--db_name", db_name,
            "--db_user", a["user"], "--db_passwd", a["passwd"], "--db_host", a["host"],
            "bench"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        if make_project.main(argv) != 0:
            raise SystemExit("make_project failed:\n" + out.getvalue())
    proj = os.path.join(tmp, "bench")
    for name, text in (("bench_in", TEMPLATE_IN), ("bench_out", TEMPLATE_OUT)):
        with open(os.path.join(proj, "templates", name), "w") as f:
            f.write(text)
    db = dbmod.Database(db_name, a["user"], a["passwd"], a["host"]).connect()
    db.execute("INSERT INTO app (create_time, name, user_friendly_name) "
               "VALUES (%s, 'bench', 'bench')", (int(time.time()),))
    return proj, db


def stage_inputs(proj, njobs, tmp):
    """N input files staged as stage_file does; returns (names, seconds)."""
    from sched import config
    cfg = config.load(proj)
    src = os.path.join(tmp, "inputs")
    os.makedirs(src)
    names = []
    for i in range(njobs):
        name = "bench_in_%d.txt" % i
        with open(os.path.join(src, name), "w") as f:
            f.write("input number %d of the create_work benchmark\n" % i)
        names.append(name)
    t = time.perf_counter()
    with Progress(njobs, "staging") as bar:
        plans = plan_staging([os.path.join(src, n) for n in names], cfg.download_dir,
                             cfg.uldl_dir_fanout)
        for plan in plans:
            stage(plan)
            bar.advance()
    return names, time.perf_counter() - t


def run_create_work(proj, names, prefix):
    lines = "".join("--wu_name %s_%d %s\n" % (prefix, i, n) for i, n in enumerate(names))
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    t = time.perf_counter()
    res = subprocess.run([os.path.join(ROOT, "bin", "create_work"), "--appname", "bench",
                          "--stdin"], input=lines, cwd=proj, env=env, capture_output=True,
                         text=True)
    elapsed = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit("create_work failed: %s" % res.stderr)
    return elapsed


def copy_rows(db):
    """Seconds the server needs to store the run0 rows again under new names."""
    cols = [r[0] for r in db.rows("SHOW COLUMNS FROM workunit")
            if r[0] not in ("id", "name", "mod_time")]
    t = time.perf_counter()
    with db.transaction():
        n = db.execute("INSERT INTO workunit (name, %s) SELECT CONCAT('copy_', name), %s "
                   "FROM workunit WHERE name LIKE 'run0\\_%%'" % (",".join(cols), ",".join(cols)))
    elapsed = time.perf_counter() - t
    assert n > 0, n
    return elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument("--runs", type=int, default=3, help="create_work runs (new names each)")
    p.add_argument("--keep", action="store_true", help="keep the project and its DB")
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="boinc-cw-bench-")
    db_name = "boinctest_bench_" + secrets.token_hex(3)
    db = None
    try:
        proj, db = make(tmp, db_name)
        names, staging = stage_inputs(proj, args.jobs, tmp)
        print("staged %d files in %.2f s (%.0f files/s)"
              % (args.jobs, staging, args.jobs / staging))
        times = []
        for run in range(args.runs):
            elapsed = run_create_work(proj, names, "run%d" % run)
            count = db.scalar("SELECT COUNT(*) FROM workunit WHERE name LIKE %s",
                              ("run%d\\_%%" % run,))
            assert count == args.jobs, count
            times.append(elapsed)
            print("create_work --stdin: %d jobs in %.2f s (%.0f jobs/s)"
                  % (args.jobs, elapsed, args.jobs / elapsed))
        best = min(times)
        print("best of %d: %d jobs in %.2f s = %.0f jobs/s"
              % (len(times), args.jobs, best, args.jobs / best))
        print("floor: MariaDB alone copies those %d rows (INSERT ... SELECT) in %.2f s"
              % (args.jobs, copy_rows(db)))
    finally:
        if db is not None:
            if not args.keep:
                db.execute("DROP DATABASE IF EXISTS `%s`" % db_name)
            db.close()
        if args.keep:
            print("kept %s and database %s" % (tmp, db_name))
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
