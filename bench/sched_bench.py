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

BOINC's C++ server, side by side: --boinc DIR (a built BOINC source tree)
serves the same kind of project with BOINC's programs instead of ours --
make_project's cgi-bin/{cgi,fcgi,file_upload_handler,fcgi_file_upload_handler}
and bin/{feeder,transitioner} replaced by DIR/sched's, the drop-in in
reverse.  --versus DIR makes one project of each kind per --server and runs
every mode x concurrency cell --repeat times, the servers alternating
(BOINC's once per --boinc-feeder-sleep value), then prints the medians side
by side, with the CPU each part of the machine used during the measured
runs (MariaDB, Apache with the scheduler processes, the daemons, the load
generator; see docs/performance.md):

    .venv/bin/python bench/sched_bench.py --versus /tmp/boinc-cpp --boinc-feeder-sleep 1 0 \
        --server cgi fcgi --mode nowork fetch cycle --concurrency 1 4 16 --repeat 3
"""

import argparse
import contextlib
import io
import json
import os
import secrets
import statistics
import shutil
import subprocess
import sys
import tempfile
import threading
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


# BOINC's programs that replace ours in a --boinc project: (build file, project file).
BOINC_PROGRAMS = [("sched/" + n, "cgi-bin/" + n) for n in
                  ("cgi", "fcgi", "file_upload_handler", "fcgi_file_upload_handler")] + [
                  ("sched/" + n, "bin/" + n) for n in ("feeder", "transitioner")]

FEEDER = ("feeder", "-d", "2", "--sleep_interval", "1")
TRANSITIONER = ("transitioner", "-d", "2", "--sleep_interval", "1")


def run(proj_dir, *argv, stdin=None, prog_dir=None):
    prog = os.path.join(prog_dir or os.path.join(proj_dir, "bin"), argv[0])
    proc = subprocess.run([prog] + list(argv[1:]),
                          cwd=proj_dir, input=stdin, capture_output=True, text=True)
    if proc.returncode:
        sys.exit("%s failed: %s%s" % (argv[0], proc.stdout, proc.stderr))
    return proc.stdout


class Project:
    def __init__(self, server, jobs, keep=False, boinc=None, slots=None):
        self.keep, self.boinc = keep, boinc
        self.tmp = tempfile.mkdtemp(prefix="bench-sched-", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.db_name = "boinctest_bench_" + secrets.token_hex(3)
        self.db_user, self.db_pass = "bench_" + secrets.token_hex(3), secrets.token_hex(10)
        self.admin = admin()
        for h in ("localhost", "127.0.0.1"):
            self.admin.execute("CREATE USER %s@%s IDENTIFIED BY %s", (self.db_user, h, self.db_pass))
            self.admin.execute("GRANT ALL ON `%s`.* TO %%s@%%s" % self.db_name, (self.db_user, h))
            # loadgen reads this user's MariaDB user statistics (when userstat is on)
            self.admin.execute("GRANT PROCESS ON *.* TO %s@%s", (self.db_user, h))
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
        # No daily limit in effect (0 would mean none for ours, but for BOINC's: no jobs
        # once a host has its first batch).
        text = text.replace("<daily_result_quota>500", "<daily_result_quota>1000000")
        if slots:
            text = text.replace("<config>", "<config>\n    <shmem_work_items>%d"
                                "</shmem_work_items>" % slots, 1)
        open(cfg_path, "w").write(text)
        if boinc:
            self._install_boinc(boinc)
        self.cfg = configmod.load(self.dir)
        self.db = dbmod.connect(self.cfg)
        self._app(jobs)
        self.user = accounts.make_user(self.db, "bench@example.com", "bench", "0" * 32)
        self.daemons = {}
        self.web = self.cgroup = None

    def _install_boinc(self, build):
        for src, dst in BOINC_PROGRAMS:
            src = os.path.join(build, src)
            if not os.access(src, os.X_OK):
                sys.exit("--boinc %s: no %s (build BOINC's server there first)" % (build, src))
            dst = os.path.join(self.dir, dst)
            os.unlink(dst)
            shutil.copy(src, dst)

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
        # Setting up, not measured: our transitioner makes the results in either project.
        run(self.dir, "transitioner", "--one_pass", prog_dir=os.path.join(ROOT, "bin"))
        # Fresh tables' statistics make BOINC's feeder query quadratic (docs/performance.md).
        self.db.query("ANALYZE TABLE result, workunit")

    def top_up(self, n):
        """At least n unsent results (a transitioner daemon must not be running)."""
        have = self.db.scalar("SELECT COUNT(*) FROM result WHERE server_state = 2")
        if have < n:
            self.add_jobs(n - have)

    def daemon(self, cmd, on=True):
        """Start (or stop) a project daemon, bin/CMD[0] with CMD[1:]."""
        proc = self.daemons.pop(cmd[0], None)
        if proc and proc.poll() is not None:        # it ended on its own: say why
            with open(os.path.join(self.dir, cmd[0] + ".bench.log"), "rb") as f:
                tail = f.read()[-3000:].decode("utf-8", "replace")
            sys.stderr.write("%s exited with status %s during the run; its log ends:\n%s\n"
                             % (cmd[0], proc.returncode, tail))
        if proc:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if on:
            log = open(os.path.join(self.dir, cmd[0] + ".bench.log"), "ab")
            self.daemons[cmd[0]] = subprocess.Popen(
                [os.path.join(self.dir, "bin", cmd[0])] + list(cmd[1:]), cwd=self.dir,
                stdout=log, stderr=log)

    def _wait_for_feeder(self):
        """Until this feeder (not an earlier one) has made the segment and filled it."""
        pid = self.daemons["feeder"].pid
        deadline = time.time() + 60
        while time.time() < deadline:
            if self._feeder_ready(pid):
                return
            time.sleep(0.2)

    def _feeder_ready(self, pid):
        if self.boinc:
            # BOINC's segment has its own layout: made by this feeder, then its first fill.
            import sysv_ipc
            try:
                shm = sysv_ipc.SharedMemory(int(self.cfg.get("shmem_key"), 0))
            except sysv_ipc.ExistentialError:
                return False
            mine = shm.creator_pid == pid
            shm.detach()
            if mine:
                time.sleep(1)
            return mine
        from sched.shmem import JobCache, ShmemError
        try:
            cache = JobCache.attach(self.cfg)
        except ShmemError:
            return False
        try:
            return cache.ready and cache.header().feeder_pid == pid
        finally:
            cache.detach()

    def start(self, daemons, web=True):
        """Start the daemons, wait for the job cache, then serve the project."""
        for cmd in daemons:
            self.daemon(cmd)
        self._wait_for_feeder()
        if not web:
            return
        if self.web is None:
            conf = os.path.join(self.dir, "%s.httpd.conf" % self.name)
            self.web = apache.PrivateApache(os.path.join(self.tmp, "apache"), self.port, [conf])
        self.web.start()
        self.cgroup = cgroup_tree(self.tmp, os.path.join(self.web.run_dir, "httpd.pid"))

    def stop(self):
        if self.web:
            self.web.stop()
        if self.cgroup:
            cgroup_remove(self.cgroup)
            self.cgroup = None
        for name in list(self.daemons):
            self.daemon((name,), on=False)

    def scheduler_url(self, server):
        return "http://127.0.0.1:%d/%s_cgi/%s" % (self.port, self.name,
                                                   "fcgi" if server == "fcgi" else "cgi")

    def close(self):
        self.stop()
        if self.boinc:
            # BOINC's feeder leaves its segment (33 MB) behind when it exits.
            import sysv_ipc
            try:
                sysv_ipc.SharedMemory(int(self.cfg.get("shmem_key"), 0)).remove()
            except sysv_ipc.Error:
                pass
        self.db.close()
        if not self.keep:
            self.admin.execute("DROP DATABASE IF EXISTS `%s`" % self.db_name)
            shutil.rmtree(self.tmp, ignore_errors=True)
        for h in ("localhost", "127.0.0.1"):
            self.admin.execute("DROP USER IF EXISTS %s@%s", (self.db_user, h))
        self.admin.close()


LOADGEN = [sys.executable, os.path.join(ROOT, "bench", "loadgen.py")]
METRIC = {"nowork": "rpc_per_s", "fetch": "jobs_per_s", "cycle": "acked_per_s"}
TICK = os.sysconf("SC_CLK_TCK")
CPUACCT = "/sys/fs/cgroup/cpuacct"
PARTS = ("mariadbd", "apache", "sched", "daemons", "loadgen")


def loadgen(url, auth, mode, c, duration, extra=(), warmup=0):
    out = subprocess.run(LOADGEN + ["--url", url, "--auth", auth, "--mode", mode,
                                    "--concurrency", str(c), "--hosts", str(max(16, 4 * c)),
                                    "--duration", str(duration), "--warmup", str(warmup),
                                    "--json"] + list(extra),
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout)


def _stat(pid):
    """(comm, ppid, own CPU s, reaped children's CPU s, cmdline) of a process, or None."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            cmd = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    f = stat[stat.rindex(")") + 2:].split()
    return (stat[stat.index("(") + 1:stat.rindex(")")], int(f[1]),
            (int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK, cmd)


def cgroup_tree(tmp, pid_file):
    """A cpuacct cgroup holding Apache's process tree, or None where there is no
    writable cgroup-v1 cpuacct hierarchy.  It counts every member's CPU, also of
    the CGI processes, whose CPU otherwise reaches no process (mod_cgid does not
    wait for them)."""
    path = os.path.join(CPUACCT, os.path.basename(tmp))
    try:
        os.mkdir(path)
        with open(pid_file) as f:
            tree = {int(f.read().split()[0])}
        procs = [(int(p), _stat(p)) for p in os.listdir("/proc") if p.isdigit()]
        for _ in range(3):                      # children, grandchildren, ...
            tree |= {pid for pid, st in procs if st and st[1] in tree}
        for pid in tree:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        return path
    except OSError:
        return None


def cgroup_remove(path):
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.1)                     # processes still exiting


def cpu_seconds(projs):
    """CPU seconds used so far: the machine's busy total and the parts serving projs
    (their Apache, scheduler programs and daemons; MariaDB is shared)."""
    parts = dict.fromkeys(PARTS, 0.0)
    tmp_dirs = [p.tmp for p in projs]
    for pid in os.listdir("/proc"):
        st = pid.isdigit() and _stat(pid)
        if not st:
            continue
        comm, _, own, reaped, cmd = st
        if comm in ("mariadbd", "mysqld"):
            parts["mariadbd"] += own
        elif LOADGEN[1] in cmd:
            parts["loadgen"] += own + reaped        # its workers, once they have exited
        elif not any(d in cmd for d in tmp_dirs):
            continue
        elif comm == "apache2":
            parts["apache"] += own
        elif "/cgi-bin/" not in cmd:
            parts["daemons"] += own
    web = [p.cgroup for p in projs if p.cgroup]
    for path in web:                            # Apache and its CGI/FastCGI processes
        with open(os.path.join(path, "cpuacct.usage")) as f:
            parts["sched"] += int(f.read()) / 1e9
    parts["sched"] -= parts["apache"] if web else 0
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    parts["busy"] = (sum(v) - v[3] - v[4]) / TICK        # less idle and iowait
    return parts


class Sampler(threading.Thread):
    """cpu_seconds() of some projects twice a second, in the background."""

    def __init__(self, projs):
        super().__init__(daemon=True)
        self.projs, self.samples, self.done = projs, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.samples.append((time.time(), cpu_seconds(self.projs)))
            self.done.wait(0.5)

    def stop(self):
        self.done.set()
        self.join()

    def percent(self, t0, t1):
        """CPU % of one CPU per part between the samples closest inside [t0, t1]."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1] or self.samples
        (a, pa), (b, pb) = inside[0], inside[-1]
        cpu = {k: round(100 * (pb[k] - pa[k]) / max(b - a, 1e-3)) for k in pa}
        cpu["other"] = cpu["busy"] - sum(cpu[k] for k in PARTS)
        return cpu


def measure(proj, server, mode, c, args):
    """One measured loadgen run on proj: jobs topped up, its daemons and Apache started,
    the run (with its warm-up), all stopped again."""
    if mode != "nowork":
        # The same pool for every server (BOINC's feeder sorts all unsent
        # results: a bigger pool slows it), big enough not to run dry during
        # the run (that would be measured as a slow scheduler): 1.5 x the best
        # rate of any server in this cell so far, else 2.5 x the mode's best
        # at another concurrency.  proj.rates is shared by the servers.
        best = max([r for (m, _), r in proj.rates.items() if m == mode] or [0.0])
        rate = 1.5 * proj.rates[(mode, c)] if (mode, c) in proj.rates else 2.5 * best
        proj.top_up(max(args.pool, int(rate * (args.duration + args.warmup))))
    proj.start([FEEDER[:-1] + (str(proj.feeder_sleep),)]
               + ([TRANSITIONER] if mode == "cycle" else []))
    sampler = Sampler([proj])
    try:
        url, auth = proj.scheduler_url(server), proj.user["authenticator"]
        sampler.start()
        figures = loadgen(url, auth, mode, c, args.duration, ["--project", proj.dir],
                          args.warmup)
    finally:
        sampler.stop()
        proj.stop()
    figures.update(server=server, cpu=sampler.percent(*figures["window"]))
    if mode != "nowork":
        proj.rates[(mode, c)] = max(proj.rates.get((mode, c), 0.0), figures["jobs_per_s"])
    return figures


def compare(args):
    """Ours and BOINC's side by side: every cell --repeat times, the servers alternating.

    BOINC's server runs once per --boinc-feeder-sleep value (a project each; the
    feeder setting only matters where jobs are sent).  Only the project being
    measured runs (daemons and Apache), so that an idle spinning feeder costs nothing.
    """
    impls = {"ours": (None, args.feeder_sleep)}
    for sleep in args.boinc_feeder_sleep:
        impls["boinc-s%d" % sleep] = (args.versus, sleep)
    runs = []
    for server in args.server:
        projs, rates = {}, {}
        try:
            for name, (build, sleep) in impls.items():
                projs[name] = proj = Project(server, 0, args.keep, boinc=build,
                                             slots=None if build else args.slots)
                proj.rates, proj.feeder_sleep = rates, sleep
            for mode in args.mode:
                names = list(projs) if mode != "nowork" else list(projs)[:2]
                for c in args.concurrency:
                    for rep in range(args.repeat):
                        for name in names[rep % len(names):] + names[:rep % len(names)]:
                            figures = measure(projs[name], server, mode, c, args)
                            figures.update(impl=name, rep=rep)
                            runs.append(figures)
                            print(json.dumps(figures), flush=True)
        finally:
            for proj in projs.values():
                proj.close()
    print(summary(runs, list(impls)))


def summary(runs, impls):
    """Markdown: medians side by side with ratios, then the CPU split of every cell."""
    cells = {}
    for r in runs:
        cells.setdefault((r["mode"], r["concurrency"], r["server"], r["impl"]), []).append(r)

    def med(key, field):
        return statistics.median(r[field] for r in cells[key]) if key in cells else None

    servers = sorted({r["server"] for r in runs})
    label = {"cgi": "CGI", "fcgi": "FastCGI"}
    others = impls[1:]
    head = "| mode (figure) | c |"
    for s in servers:
        head += " %s ours |" % label[s] + "".join(" %s %s | ours/%s |" % (label[s], o, o)
                                                  for o in others)
    out = [head, "|" + "---|" * (2 + len(servers) * (1 + 2 * len(others)))]
    keys = sorted({k[:2] for k in cells}, key=lambda k: (list(METRIC).index(k[0]), k[1]))
    for mode, c in keys:
        row = "| %s (%s) | %d |" % (mode, METRIC[mode], c)
        for s in servers:
            ours = med((mode, c, s, "ours"), METRIC[mode])
            row += " %.0f |" % ours
            for o in others:
                theirs = med((mode, c, s, o), METRIC[mode])
                row += (" - | - |" if theirs is None else " %.0f | %s |" % (
                    theirs, "%.2f" % (ours / theirs) if theirs else "-"))
        out.append(row)
    out += ["", "CPU during the measured runs, % of one CPU (medians; busy = whole machine):",
            "", "| mode | c | server | impl | runs | jobs/RPC | p50 ms | errors | mariadbd |"
            " apache | sched | daemons | loadgen | other | busy |", "|" + "---|" * 15]
    for mode, c in keys:
        for s in servers:
            for impl in impls:
                rs = cells.get((mode, c, s, impl))
                if not rs:
                    continue
                cpu = {k: statistics.median(r["cpu"][k] for r in rs) for k in rs[0]["cpu"]}
                errors = sum(sum(r["errors"].values()) for r in rs)
                per_rpc = statistics.median(r["jobs_per_s"] / max(r["rpc_per_s"], 1e-9)
                                            for r in rs)
                out.append("| %s | %d | %s | %s | %s | %.1f | %.1f | %d | %s |" % (
                    mode, c, s, impl, " / ".join("%.0f" % r[METRIC[mode]] for r in rs),
                    per_rpc, med((mode, c, s, impl), "p50_ms"), errors, " | ".join(
                        "%.0f" % cpu[k] for k in PARTS + ("other", "busy"))))
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", choices=("cgi", "fcgi"), nargs="+", default=["fcgi"])
    p.add_argument("--mode", choices=("nowork", "fetch", "cycle"), nargs="+",
                   default=["nowork"])
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--jobs", type=int, default=0,
                   help="jobs to create (default: enough for the fetch/cycle runs)")
    p.add_argument("--url", help="benchmark this scheduler instead of a new project")
    p.add_argument("--auth", help="account key for --url")
    p.add_argument("--boinc", metavar="DIR",
                   help="serve the project with BOINC's C++ programs built in DIR")
    p.add_argument("--versus", metavar="DIR",
                   help="ours and BOINC's (built in DIR) side by side, alternating")
    p.add_argument("--repeat", type=int, default=3, help="runs per cell with --versus")
    p.add_argument("--pool", type=int, default=20000,
                   help="with --versus: unsent jobs at the start of each fetch/cycle run")
    p.add_argument("--boinc-feeder-sleep", type=int, nargs="+", default=[1],
                   help="with --versus: BOINC's feeder --sleep_interval, one project each")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="seconds of unmeasured load before each --versus run")
    p.add_argument("--feeder-sleep", type=int, default=1,
                   help="the feeder's --sleep_interval (0: BOINC's never sleeps)")
    p.add_argument("--slots", type=int,
                   help="our projects' <shmem_work_items> (default: none, the feeder's own)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the project and database")
    args = p.parse_args(argv)
    if args.versus:
        compare(args)
        return 0
    if args.url:
        for mode in args.mode:
            for c in args.concurrency:
                report(loadgen(args.url, args.auth, mode, c, args.duration), "url", args.json)
        return 0
    for server in args.server:
        for mode in args.mode:
            jobs = args.jobs or (0 if mode == "nowork" else
                                 int(6000 * args.duration * len(args.concurrency)))
            proj = Project(server, jobs, args.keep, args.boinc,
                           slots=None if args.boinc else args.slots)
            try:
                feeder = FEEDER[:-1] + (str(args.feeder_sleep),)
                proj.start([feeder] + ([TRANSITIONER] if mode == "cycle" else []))
                url, auth = proj.scheduler_url(server), proj.user["authenticator"]
                for c in args.concurrency:
                    report(loadgen(url, auth, mode, c, args.duration, ["--project", proj.dir]),
                           server, args.json)
            finally:
                proj.close()
    return 0


def report(figures, server, as_json):
    figures["server"] = server
    print(json.dumps(figures) if as_json else
          "%(server)s %(mode)s c%(concurrency)d: %(rpc_per_s)s RPC/s, %(jobs_per_s)s jobs/s,"
          " %(acked_per_s)s acked/s, p50 %(p50_ms)s ms, p99 %(p99_ms)s ms, errors %(errors)s"
          % figures, flush=True)


if __name__ == "__main__":
    sys.exit(main())
