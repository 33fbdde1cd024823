#!/usr/bin/env python3
"""Where the scheduler's own CPU goes: its WSGI application called in-process.

Makes a throw-away project as bench/sched_bench.py does (feeder running, no
Apache), builds scheduler requests with bench/loadgen.py's simulated hosts,
and calls the scheduler's ``application`` directly --count times, as one
FastCGI worker would.  Prints the CPU per RPC (the process's own; MariaDB's is
not in it) and, with --profile, cProfile's top functions.  What it shows is
the Python part of docs/performance.md's "sched" CPU, free of Apache and the
load generator.

    .venv/bin/python bench/sched_profile.py --mode nowork --count 3000 --profile
    .venv/bin/python bench/sched_profile.py --mode fetch --count 1000
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import loadgen  # noqa: E402
import sched_bench  # noqa: E402


def call(application, body):
    """One scheduler RPC in-process; the reply text."""
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body), "REMOTE_ADDR": "127.0.0.1"}
    status = []
    chunks = application(environ, lambda s, h: status.append(s))
    return b"".join(chunks).decode("utf-8", "replace")


def drive(application, hosts, mode, count):
    """``count`` RPCs round the hosts; (RPCs, jobs) done."""
    jobs = 0
    for i in range(count):
        host = hosts[i % len(hosts)]
        text = call(application, host.request(mode != "nowork", 10).encode())
        hostid = loadgen.tag(text, "hostid")
        if hostid:
            host.hostid, host.seqno = int(hostid), 0
        host.seqno += 1
        jobs += text.count("<result>\n")
    return count, jobs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=("nowork", "fetch"), default="nowork")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--hosts", type=int, default=64)
    p.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)

    jobs = args.count * 10 + 1000 if args.mode == "fetch" else 0
    proj = sched_bench.Project("fcgi", jobs)
    try:
        proj.start([sched_bench.FEEDER], web=False)
        os.environ["BOINC_PROJECT_DIR"] = proj.dir
        from sched.scheduler import app
        hosts = [loadgen.Host(i, proj.user["authenticator"], 0) for i in range(args.hosts)]
        drive(app.application, hosts, args.mode, len(hosts))       # each host registered
        profiler = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        n, jobs = drive(app.application, hosts, args.mode, args.count)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print("%s: %d RPCs, %d jobs; scheduler CPU %.2f ms per RPC, wall %.2f ms per RPC%s"
              % (args.mode, n, jobs, 1000 * cpu / n, 1000 * wall / n,
                 " (profiled)" if profiler else ""))
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
    finally:
        proj.close()


if __name__ == "__main__":
    main()
