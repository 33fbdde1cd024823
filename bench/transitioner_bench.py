#!/usr/bin/env python3
"""Benchmark of the transitioner making results for new jobs (not a test).

Makes a throw-away project with make_project (temp dir, database
``boinctest_bench_*`` on the local MariaDB as root, or BOINC_TEST_DB_ADMIN_*
as in tests/conftest.py), puts ``--wus`` new workunits in (refproj's job
parameters and output template, one result each, due now), then times
``bin/transitioner --one_pass`` as a whole process (interpreter start
included) until every workunit has its result and its next transition time.
Each run starts from the same state (results deleted, WUs due again).
``--certificates`` turns upload certificates on (one RSA signature per
result).  Everything is removed afterwards unless --keep.

    .venv/bin/python bench/transitioner_bench.py [--wus 20000] [--runs 3] [--certificates]
"""

import argparse
import contextlib
import io
import os
import resource
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
from sched import xmlutil  # noqa: E402
from sched.tools import make_project  # noqa: E402
from sched.work import WU_COLUMNS, Workunit  # noqa: E402

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
WU_DOC = ("<file_info>\n    <name>%s_in</name>\n    <url>http://127.0.0.1:8081/bench/download/"
          "1a/%s_in</url>\n    <md5_cksum>8097306e473a290b8613bf27ac3ed899</md5_cksum>\n"
          "    <nbytes>77</nbytes>\n</file_info>\n<workunit>\n<command_line>\n\n"
          "</command_line>\n<file_ref>\n    <file_name>%s_in</file_name>\n"
          "    <open_name>in</open_name>\n</file_ref>\n</workunit>")


def admin():
    return dict(user=os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root"),
                passwd=os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", ""),
                host=os.environ.get("BOINC_TEST_DB_ADMIN_HOST", "localhost"))


def make(tmp, db_name, certificates):
    a = admin()
    proj = os.path.join(tmp, "bench")
    argv = ["--no_query", "--url_base", "http://127.0.0.1:8081/", "--project_root", proj,
            "--db_name", db_name, "--db_user", a["user"], "--db_passwd", a["passwd"],
            "--db_host", a["host"], "bench"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        if make_project.main(argv) != 0:
            raise SystemExit("make_project failed:\n" + out.getvalue())
    with open(os.path.join(proj, "templates", "bench_out"), "w") as f:
        f.write(TEMPLATE_OUT)
    if certificates:
        path = os.path.join(proj, "config.xml")
        root = xmlutil.parse_file(path)
        for elem in root.find("config").findall("dont_generate_upload_certificates"):
            elem.getparent().remove(elem)
        configmod.write_xml(root, path)
    db = dbmod.Database(db_name, a["user"], a["passwd"], a["host"]).connect()
    appid = db.insert("INSERT INTO app (create_time, name, user_friendly_name) "
                      "VALUES (%s, 'bench', 'bench')", (int(time.time()),))
    return proj, db, appid


def add_wus(db, appid, n):
    """n workunits as create_work makes them from refproj's worker_in."""
    now = int(time.time())
    rows = []
    for i in range(n):
        name = "bench_%d" % i
        wu = Workunit(create_time=now, appid=appid, name=name, xml_doc=WU_DOC % ((name,) * 3),
                      rsc_fpops_est=1e10, rsc_fpops_bound=1e13, rsc_memory_bound=1e8,
                      rsc_disk_bound=1e8, transition_time=now - 1, delay_bound=86400,
                      result_template_file="templates/bench_out")
        rows.append(tuple(getattr(wu, c) for c in WU_COLUMNS))
    with db.transaction():
        db.executemany("INSERT INTO workunit (%s) VALUES (%s)"
                       % (", ".join(WU_COLUMNS), ", ".join(["%s"] * len(WU_COLUMNS))), rows)


def reset(db):
    db.execute("DELETE FROM result")
    db.execute("UPDATE workunit SET transition_time = %s", (int(time.time()) - 1,))


def run_transitioner(proj):
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run([os.path.join(proj, "bin", "transitioner"), "--one_pass"],
                         cwd=proj, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit("transitioner failed:\n" + res.stderr[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--wus", type=int, default=20000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--certificates", action="store_true",
                   help="sign every output file (no <dont_generate_upload_certificates/>)")
    p.add_argument("--keep", action="store_true", help="keep the project and its DB")
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="boinc-tr-bench-")
    db_name = "boinctest_bench_" + secrets.token_hex(3)
    db = None
    try:
        proj, db, appid = make(tmp, db_name, args.certificates)
        add_wus(db, appid, args.wus)
        times = []
        for run in range(args.runs):
            if run:
                reset(db)
            time.sleep(1.1)         # due means transition_time < now, to the second
            elapsed, cpu = run_transitioner(proj)
            made = db.scalar("SELECT COUNT(*) FROM result WHERE server_state = 2")
            waiting = db.scalar("SELECT COUNT(*) FROM workunit WHERE transition_time < %s",
                                (int(time.time()) - 1,))
            assert made == args.wus and waiting == 0, (made, waiting)
            times.append(elapsed)
            print("transitioner --one_pass: %d WUs -> %d results in %.2f s (%.0f WUs/s), "
                  "process CPU %.2f s" % (args.wus, made, elapsed, args.wus / elapsed, cpu))
        best = min(times)
        print("best of %d: %.2f s = %.0f WUs/s%s" % (len(times), best, args.wus / best,
                                                    " (certificates on)" if args.certificates
                                                    else ""))
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
