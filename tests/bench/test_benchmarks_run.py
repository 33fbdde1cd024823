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
