"""bin/submit_batch against our server (in-process HTTP), the jobs finished by hand."""

import os
import subprocess
import sys
import threading
import time

from pyboinc_submit.cli import Bar
from sched import db as dbmod
from sched.paths import dir_hier_path
from submitproject import submit_project  # noqa: F401 (fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROG = os.path.join(ROOT, "bin", "submit_batch")


def finisher(p, njobs, fail=()):
    """In the background: once ``njobs`` unfinished jobs exist, finish them (outputs:
    the inputs upper-cased; those at the indices in ``fail`` fail)."""
    def work():
        db = dbmod.connect(p.config)
        try:
            for _ in range(600):
                wus = db.query("SELECT id, name, xml_doc FROM workunit WHERE "
                               "canonical_resultid = 0 AND error_mask = 0 ORDER BY id")
                if len(wus) >= njobs:
                    break
                time.sleep(0.1)
            for i, wu in enumerate(wus[:njobs]):
                doc = wu["xml_doc"].decode()
                name = doc.split("<name>")[1].split("</name>")[0]
                with open(dir_hier_path(name, p.config.download_dir,
                                        p.config.uldl_dir_fanout), "rb") as f:
                    data = f.read()
                p.finish_job(wu["id"], data.upper(), ok=i not in fail)
        finally:
            db.close()
    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t


def test_submit_batch_collects_outputs(submit_project, tmp_path):
    p = submit_project()
    _, key = p.user("sci@example.org")
    indir = tmp_path / "inputs"
    indir.mkdir()
    for n in ("a.txt", "b.txt", "c.txt"):
        (indir / n).write_text("contents of %s" % n)
    (tmp_path / "key").write_text(key + "\n")
    t = finisher(p, 3)
    proc = subprocess.run([sys.executable, PROG, "--url", p.serve(), "--auth_file",
                           str(tmp_path / "key"), "--poll", "0.2", "--retire", "worker",
                           str(indir)], capture_output=True, text=True, timeout=300)
    t.join()
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "inputs_out"
    assert sorted(os.listdir(out)) == ["a.txt", "b.txt", "c.txt"]
    assert (out / "b.txt" / "out").read_text() == "CONTENTS OF B.TXT"
    assert "3 of 3 jobs done" in proc.stderr
    assert p.db.scalar("SELECT state FROM batch") == 4          # retired


def test_submit_batch_failures_and_no_wait(submit_project, tmp_path):
    p = submit_project()
    _, key = p.user("sci@example.org")
    indir = tmp_path / "in"
    indir.mkdir()
    for n in ("x", "y"):
        (indir / n).write_text(n)
    t = finisher(p, 2, fail=(1,))
    env = dict(os.environ, BOINC_AUTHENTICATOR=key)
    proc = subprocess.run([sys.executable, PROG, "-url", p.serve(), "-poll", "0.2", "worker",
                           str(indir), "-out", str(tmp_path / "o")], capture_output=True,
                          text=True, timeout=300, env=env)
    t.join()
    assert proc.returncode == 1
    assert "y: job " in proc.stderr and "1 of 2 jobs done" in proc.stderr
    assert os.listdir(tmp_path / "o") == ["x"]
    proc = subprocess.run([sys.executable, PROG, "--url", p.serve(), "--no_wait", "worker",
                           str(indir)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0 and int(proc.stdout) == p.db.scalar("SELECT max(id) FROM batch")
    proc = subprocess.run([sys.executable, PROG, "--url", p.serve(), "nosuchapp", str(indir)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "app not found: nosuchapp" in proc.stderr


def test_progress_bar():
    import io
    out = io.StringIO()
    bar = Bar(4, out, enabled=True)
    bar.show(1, 1, 2)
    bar.show(1, 1, 2)                   # unchanged: not drawn again
    bar.show(4, 0, 0)
    bar.close()
    assert out.getvalue() == (
        "\r[%s%s] 1/4 done, 1 failed, 2 running\033[K" % ("#" * 15, "." * 15) +
        "\r[%s] 4/4 done, 0 failed, 0 running\033[K\n" % ("#" * 30))
    quiet = io.StringIO()
    Bar(4, quiet).show(1, 0, 0)         # not a terminal: nothing
    assert quiet.getvalue() == ""
