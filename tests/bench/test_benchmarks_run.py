"""The benchmarks run (a short smoke run each); their speed is not judged here."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("server,mode", [("fcgi", "cycle"), ("cgi", "nowork")])
def test_scheduler_benchmark_runs(server, mode):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "sched_bench.py"),
                           "--server", server, "--mode", mode, "--concurrency", "2",
                           "--duration", "2", "--jobs", "200", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.splitlines()[-1])
    assert figures["rpcs"] > 0 and figures["errors"] == {}, figures
    if mode == "cycle":
        assert figures["acked_per_s"] > 0 and figures["uploads"] > 0


def bench(name, *argv, timeout=900):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", name)] + list(argv),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_scheduler_profile_runs():
    out = bench("sched_profile.py", "--mode", "fetch", "--count", "20", "--hosts", "4",
                "--profile", "--top", "5")
    assert "fetch: 20 RPCs, 200 jobs; scheduler CPU" in out and "cumulative" in out


def test_cgi_startup_benchmark_runs():
    out = bench("cgi_startup.py", "--count", "2")
    for label in ("python -c pass", "cgi-bin/cgi: a nowork RPC",
                  "cgi-bin/file_upload_handler: an upload"):
        assert label in out, out


def test_scale_benchmark_runs():
    out = bench("scale_bench.py", "--results", "1000", "3000", "--hosts", "300", "--pool", "300",
                "--mode", "nowork", "cycle", "--duration", "2", "--warmup", "1")
    assert "| cycle | 4 | acked_per_s |" in out and "history: 30 users, 300 hosts" in out, out


def test_keepup_benchmark_runs():
    out = bench("keepup_bench.py", "--duration", "20", "--every", "5", "--concurrency", "2",
                "--pool", "2000")
    assert "| validator |" in out and "exited" not in out, out


@pytest.mark.parametrize("argv", [
    ("create_work_bench.py", "--jobs", "200", "--runs", "1"),
    ("transitioner_bench.py", "--wus", "200", "--runs", "1"),
    ("feeder_bench.py", "--slots", "50", "--jobs", "300", "--claims", "200"),
    ("validator_bench.py", "--results", "200", "--hosts", "20"),
    ("backend_bench.py", "--wus", "200", "--per-wu", "100"),
])
def test_backend_benchmarks_run(argv):
    assert bench(*argv).strip()
