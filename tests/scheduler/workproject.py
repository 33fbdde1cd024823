"""A project ready to hand out work: app, signed app version, jobs, feeder running.

Built the way an operator would, with the project's own installed commands
(xadd, update_versions, stage_file, create_work, transitioner) and a real
feeder process filling a real shared-memory segment.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared")
from sched import db as dbmod

REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")
WORKER = b"""#!/bin/sh
# A BOINC app as a shell script: copy the input upper-cased, then say we finished.
resolve() { sed -n 's:.*<soft_link>\\(.*\\)</soft_link>.*:\\1:p' "$1"; }
in=$(resolve in); out=$(resolve out)
[ -n "$in" ] || in=in; [ -n "$out" ] || out=out
tr a-z A-Z < "$in" > "$out"
sleep 1     # a job that takes no time earns no credit
echo 0 > boinc_finish_called
exit 0
"""


def run(proj, *argv, stdin=None):
    proc = subprocess.run([os.path.join(proj.dir, "bin", argv[0])] + [str(a) for a in argv[1:]],
                          cwd=proj.dir, input=stdin, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, "%s failed: %s%s" % (argv, proc.stdout, proc.stderr)
    return proc.stdout


class Feeder:
    """bin/feeder as a real background process of the project."""

    def __init__(self, proj, *args):
        self.proj = proj
        log = open(os.path.join(proj.dir, "feeder_test.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(proj.dir, "bin", "feeder"), "-d", "3",
                                      "--sleep_interval", "1", *args],
                                     cwd=proj.dir, stdout=log, stderr=log)
        from sched.shmem import JobCache, ShmemError
        deadline = time.time() + 30
        while True:
            try:
                cache = JobCache.attach(proj.config)
                ready = cache.ready
                cache.detach()
                if ready:
                    break
            except ShmemError:
                pass
            assert self.proc.poll() is None, self.log()
            assert time.time() < deadline, "feeder never became ready:\n" + self.log()
            time.sleep(0.1)

    def log(self):
        with open(os.path.join(self.proj.dir, "feeder_test.log")) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class WorkProject:
    def __init__(self, proj):
        self.proj = proj
        self.dir = proj.dir
        self.config = proj.config
        self.db = dbmod.connect(proj.config)
        self.feeder = None

    def run(self, *argv, stdin=None):
        return run(self.proj, *argv, stdin=stdin)

    def add_jobs(self, n, prefix="job"):
        """n jobs (staged inputs + create_work), then one transitioner pass."""
        src_dir = os.path.join(self.dir, "inputs", prefix)
        os.makedirs(src_dir, exist_ok=True)
        names = []
        for i in range(n):
            name = "%s_in_%d.txt" % (prefix, i)
            with open(os.path.join(src_dir, name), "w") as f:
                f.write("input number %d\n" % i)
            names.append(name)
        self.run("stage_file", src_dir)          # all of them in one go
        lines = "".join("--wu_name %s_%d %s\n" % (prefix, i, names[i]) for i in range(n))
        self.run("create_work", "--appname", "worker", "--stdin", stdin=lines)
        # The transitioner takes jobs whose transition_time is *before* now;
        # create_work set it to this second.
        time.sleep(1.05 - time.time() % 1)
        self.run("transitioner", "--one_pass", "-d", "2")
        assert self.db.scalar("SELECT count(*) FROM result") >= n

    def start_feeder(self, *args):
        self.feeder = Feeder(self.proj, *args)
        return self.feeder

    def close(self):
        if self.feeder:
            self.feeder.stop()
        self.db.close()


@pytest.fixture
def work_ready(make_project):
    """Factory: a project with app 'worker' (a signed shell-script version) and n jobs."""
    made = []

    def factory(njobs=3, feeder=True, extra=(), **kw):
        proj = make_project("test", *extra, **kw)
        with open(os.path.join(proj.dir, "project.xml")) as f:
            text = f.read()
        text = text.replace("</boinc>", "<app><name>worker</name><user_friendly_name>Worker"
                            "</user_friendly_name></app>\n</boinc>")
        with open(os.path.join(proj.dir, "project.xml"), "w") as f:
            f.write(text)
        run(proj, "xadd")
        vdir = os.path.join(proj.dir, "apps", "worker", "1.0", "x86_64-pc-linux-gnu")
        os.makedirs(vdir)
        with open(os.path.join(vdir, "worker_1.0_x86_64-pc-linux-gnu.sh"), "wb") as f:
            f.write(WORKER)
        os.chmod(os.path.join(vdir, "worker_1.0_x86_64-pc-linux-gnu.sh"), 0o755)
        run(proj, "update_versions", "--noconfirm")
        for t in ("worker_in", "worker_out"):
            shutil.copy(os.path.join(REFPROJ, "templates", t),
                        os.path.join(proj.dir, "templates", t))
        wp = WorkProject(proj)
        made.append(wp)
        if njobs:
            wp.add_jobs(njobs)
        if feeder:
            wp.start_feeder()
        return wp

    yield factory
    for wp in made:
        wp.close()
