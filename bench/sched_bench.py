#!/usr/bin/env python3
"""Scheduler throughput: our scheduler under a private Apache, driven by bench/loadgen.py.

Makes a throw-away project (make_project, CGI or FastCGI, its own
``boinctest_bench_*`` database on the local MariaDB), an app with one app
version, ``--jobs`` jobs (no input files, one result each), starts the
feeder (and for --mode cycle the transitioner), serves the project with a
private Apache on 127.0.0.1, then runs the load generator for each
concurrency and prints one line of figures per run (also as JSON with
--json).  Not a test: CI only runs it briefly (tests/bench/).

    .venv/bin/python bench/sched_bench.py --server fcgi --mode nowork --concurrency 1 4 16
    .venv/bin/python bench/sched_bench.py --server cgi --mode fetch --duration 20
    .venv/bin/python bench/sched_bench.py --url URL --auth KEY ...   (any BOINC project, e.g. C++)
"""

import argparse
import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sched import accounts, apache, config as configmod, db as dbmod  # noqa: E402
from sched.tools import make_project  # noqa: E402

TEMPLATE_IN = """<input_template>
    <workunit>
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
        <max_nbytes>100000</max_nbytes>
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
    host = os.environ.get("BOINC_TEST_DB_ADMIN_HOST", "localhost")
    user = os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root")
    return dbmod.Database("", user, os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", ""),
                          host).connect()


def run(proj_dir, *argv, stdin=None):
    proc = subprocess.run([os.path.join(proj_dir, "bin", argv[0])] + list(argv[1:]),
                          cwd=proj_dir, input=stdin, capture_output=True, text=True)
    if proc.returncode:
        sys.exit("%s failed: %s%s" % (argv[0], proc.stdout, proc.stderr))
    return proc.stdout


class Project:
    def __init__(self, server, jobs, keep=False):
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="bench-sched-", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.db_name = "boinctest_bench_" + secrets.token_hex(3)
        self.db_user, self.db_pass = "bench_" + secrets.token_hex(3), secrets.token_hex(10)
        self.admin = admin()
        for h in ("localhost", "127.0.0.1"):
            self.admin.execute("CREATE USER %s@%s IDENTIFIED BY %s", (self.db_user, h, self.db_pass))
            self.admin.execute("GRANT ALL ON `%s`.* TO %%s@%%s" % self.db_name, (self.db_user, h))
        self.port = apache.free_port()
        self.name = "bench"
        self.dir = os.path.join(self.tmp, self.name)
        argv = ["--no_query", "--url_base", "http://127.0.0.1:%d/" % self.port,
                "--project_root", self.dir, "--db_host", "127.0.0.1", "--db_user", self.db_user,
                "--db_passwd", self.db_pass, "--db_name", self.db_name]
        if server == "fcgi":
            argv.append("--fcgi")
        with contextlib.redirect_stdout(io.StringIO()):
            if make_project.main(argv + [self.name]):
                sys.exit("make_project failed")
        apache.share_with_httpd(self.dir)
        cfg_path = os.path.join(self.dir, "config.xml")
        text = open(cfg_path).read()
        # As the C++ measurements: no pause between a host's RPCs; 10 jobs per RPC.
        text = text.replace("<min_sendwork_interval>6", "<min_sendwork_interval>0")
        text = text.replace("<max_wus_to_send>50", "<max_wus_to_send>10")
        text = text.replace("<daily_result_quota>500", "<daily_result_quota>0")
        open(cfg_path, "w").write(text)
        self.cfg = configmod.load(self.dir)
        self.db = dbmod.connect(self.cfg)
        self._app(jobs)
        self.user = accounts.make_user(self.db, "bench@example.com", "bench", "0" * 32)
        self.daemons = []
        self.web = None

    def _app(self, jobs):
        with open(os.path.join(self.dir, "project.xml")) as f:
            text = f.read()
        with open(os.path.join(self.dir, "project.xml"), "w") as f:
            f.write(text.replace("</boinc>", "<app><name>bench</name><user_friendly_name>Bench"
                                 "</user_friendly_name></app>\n</boinc>"))
        run(self.dir, "xadd")
        vdir = os.path.join(self.dir, "apps", "bench", "1.0", "x86_64-pc-linux-gnu")
        os.makedirs(vdir)
        prog = os.path.join(vdir, "bench_1.0_x86_64-pc-linux-gnu")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\necho 0 > boinc_finish_called\n")
        os.chmod(prog, 0o755)
        run(self.dir, "update_versions", "--noconfirm")
        for name, text in (("bench_in", TEMPLATE_IN), ("bench_out", TEMPLATE_OUT)):
            with open(os.path.join(self.dir, "templates", name), "w") as f:
                f.write(text)
        self.add_jobs(jobs)

    def add_jobs(self, n):
        stamp = secrets.token_hex(3)
        lines = "".join("--wu_name b%s_%d\n" % (stamp, i) for i in range(n))
        run(self.dir, "create_work", "--appname", "bench", "--stdin", stdin=lines)
        time.sleep(1.05 - time.time() % 1)
        run(self.dir, "transitioner", "--one_pass")

    def start(self, daemons):
        for cmd in daemons:
            log = open(os.path.join(self.dir, cmd[0] + ".bench.log"), "ab")
            self.daemons.append(subprocess.Popen([os.path.join(self.dir, "bin", cmd[0])]
                                                 + list(cmd[1:]), cwd=self.dir, stdout=log,
                                                 stderr=log))
        from sched.shmem import JobCache, ShmemError
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                cache = JobCache.attach(self.cfg)
                if cache.ready:
                    cache.detach()
                    break
                cache.detach()
            except ShmemError:
                pass
            time.sleep(0.2)
        conf = os.path.join(self.dir, "%s.httpd.conf" % self.name)
        self.web = apache.PrivateApache(os.path.join(self.tmp, "apache"), self.port,
                                        [conf]).start()

    def scheduler_url(self, server):
        return "http://127.0.0.1:%d/%s_cgi/%s" % (self.port, self.name,
                                                   "fcgi" if server == "fcgi" else "cgi")

    def close(self):
        if self.web:
            self.web.stop()
        for proc in self.daemons:
            proc.terminate()
        for proc in self.daemons:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.db.close()
        if not self.keep:
            self.admin.execute("DROP DATABASE IF EXISTS `%s`" % self.db_name)
            shutil.rmtree(self.tmp, ignore_errors=True)
        for h in ("localhost", "127.0.0.1"):
            self.admin.execute("DROP USER IF EXISTS %s@%s", (self.db_user, h))
        self.admin.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", choices=("cgi", "fcgi"), default="fcgi")
    p.add_argument("--mode", choices=("nowork", "fetch", "cycle"), default="nowork")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--jobs", type=int, default=0,
                   help="jobs to create (default: enough for the fetch/cycle runs)")
    p.add_argument("--url", help="benchmark this scheduler instead of a new project")
    p.add_argument("--auth", help="account key for --url")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the project and database")
    args = p.parse_args(argv)
    loadgen = [sys.executable, os.path.join(ROOT, "bench", "loadgen.py")]
    proj = None
    try:
        if args.url:
            url, auth, extra = args.url, args.auth, []
        else:
            jobs = args.jobs or (0 if args.mode == "nowork" else
                                 int(2000 * args.duration * len(args.concurrency)))
            proj = Project(args.server, jobs, args.keep)
            daemons = [("feeder", "-d", os.environ.get("BENCH_FEEDER_DEBUG", "2"), "--sleep_interval", "1")]
            if args.mode == "cycle":
                daemons.append(("transitioner", "-d", "2", "--sleep_interval", "1"))
            proj.start(daemons)
            url, auth = proj.scheduler_url(args.server), proj.user["authenticator"]
            extra = ["--project", proj.dir]
        for c in args.concurrency:
            out = subprocess.run(loadgen + ["--url", url, "--auth", auth, "--mode", args.mode,
                                            "--concurrency", str(c), "--hosts", str(max(16, 4 * c)),
                                            "--duration", str(args.duration), "--json"] + extra,
                                 capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr)
            figures = json.loads(out.stdout)
            figures["server"] = args.server if not args.url else "url"
            print(json.dumps(figures) if args.json else
                  "%(server)s %(mode)s c%(concurrency)d: %(rpc_per_s)s RPC/s, %(jobs_per_s)s jobs/s,"
                  " %(acked_per_s)s acked/s, p50 %(p50_ms)s ms, p99 %(p99_ms)s ms, errors %(errors)s"
                  % figures, flush=True)
    finally:
        if proj:
            proj.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
