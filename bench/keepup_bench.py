#!/usr/bin/env python3
"""Do the back-end daemons keep up with the scheduler's cycle rate?

Makes a throw-away FastCGI project as bench/sched_bench.py does, with enough
unsent jobs for the run, starts the feeder, the transitioner,
sample_trivial_validator, sample_dummy_assimilator and file_deleter, and runs
bench/loadgen.py in cycle mode (fetch, upload, report) for --duration
seconds.  Every --every seconds it counts each daemon's backlog:

  transitioner   workunits whose transition_time has passed
  validator      workunits with need_validate set
  assimilator    workunits ready to assimilate
  file_deleter   workunits and results whose files are ready to delete

A work generator keeps --pool unsent jobs in the database meanwhile.

and prints the samples, then each backlog's first, largest and last value
and the slope of a line fitted through the samples (per minute).  A daemon
keeps up when its backlog stays small and doesn't grow.

    .venv/bin/python bench/keepup_bench.py --duration 600 --concurrency 16
"""

import argparse
import os
import secrets
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import sched_bench  # noqa: E402
from sched import states  # noqa: E402

DAEMONS = [sched_bench.FEEDER, sched_bench.TRANSITIONER,
           ("sample_trivial_validator", "-d", "2", "--app", "bench", "--sleep_interval", "1"),
           ("sample_dummy_assimilator", "-d", "2", "--app", "bench", "--sleep_interval", "1"),
           ("file_deleter", "-d", "2", "--sleep_interval", "1")]

BACKLOGS = {
    "transitioner": "SELECT COUNT(*) FROM workunit WHERE transition_time < UNIX_TIMESTAMP()",
    "validator": "SELECT COUNT(*) FROM workunit WHERE need_validate > 0",
    "assimilator": "SELECT COUNT(*) FROM workunit WHERE assimilate_state = %d"
                   % states.ASSIMILATE_READY,
    "file_deleter": "SELECT (SELECT COUNT(*) FROM workunit WHERE file_delete_state = %d) + "
                    "(SELECT COUNT(*) FROM result WHERE file_delete_state = %d)"
                    % (states.FILE_DELETE_READY, states.FILE_DELETE_READY),
}


def slope_per_minute(points):
    """Least-squares slope of (t, value) points, per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def generate(proj, pool, runner):
    """A work generator: while the load runs, more jobs whenever the unsent
    ones fall under 3/4 of the pool (the transitioner daemon makes their
    results, as in a live project)."""
    db = sched_bench.dbmod.connect(proj.cfg)
    try:
        while runner.is_alive():
            unsent = db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s",
                               (states.RESULT_SERVER_STATE_UNSENT,))
            if unsent < pool * 3 // 4:
                stamp = secrets.token_hex(3)
                lines = "".join("--wu_name g%s_%d\n" % (stamp, i) for i in range(pool // 2))
                sched_bench.run(proj.dir, "create_work", "--appname", "bench", "--stdin",
                                stdin=lines)
            runner.join(5)
    finally:
        db.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=int, default=600)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--every", type=int, default=30, help="seconds between backlog samples")
    p.add_argument("--pool", type=int, default=20000,
                   help="unsent jobs kept in the DB (a work generator tops them up)")
    args = p.parse_args(argv)
    proj = sched_bench.Project("fcgi", args.pool)
    samples = []
    try:
        proj.start(DAEMONS)
        out = {}

        def load():
            out["figures"] = sched_bench.loadgen(
                proj.scheduler_url("fcgi"), proj.user["authenticator"], "cycle",
                args.concurrency, args.duration, warmup=3)
        runner = threading.Thread(target=load)
        started = time.time()
        runner.start()
        threading.Thread(target=generate, args=(proj, args.pool, runner), daemon=True).start()
        print("%6s  %s" % ("t (s)", "  ".join("%12s" % k for k in BACKLOGS)), flush=True)
        while runner.is_alive():
            row = {k: proj.db.scalar(sql) for k, sql in BACKLOGS.items()}
            t = time.time() - started
            samples.append((t, row))
            print("%6.0f  %s" % (t, "  ".join("%12d" % row[k] for k in BACKLOGS)), flush=True)
            runner.join(args.every)
        fig = out.get("figures", {})
        print("\ncycle c%d for %d s: %s results acked/s, %s jobs/s, errors %s"
              % (args.concurrency, args.duration, fig.get("acked_per_s"), fig.get("jobs_per_s"),
                 fig.get("errors")))
        done = proj.db.scalar("SELECT COUNT(*) FROM workunit WHERE assimilate_state=%s",
                              (states.ASSIMILATE_DONE,))
        print("workunits assimilated: %d" % done)
        print("\n| daemon | backlog first | largest | last | slope per minute |")
        print("|---|---|---|---|---|")
        # the warm-up minute is the load starting up, not a trend
        steady = [(t, r) for t, r in samples if t >= 60] or samples
        for k in BACKLOGS:
            values = [r[k] for _, r in samples]
            print("| %s | %d | %d | %d | %+.1f |"
                  % (k, values[0], max(values), values[-1],
                     slope_per_minute([(t, r[k]) for t, r in steady])))
        for name in (d[0] for d in DAEMONS):
            proc = proj.daemons.get(name)
            if proc is not None and proc.poll() is not None:
                print("%s exited with status %s" % (name, proc.returncode))
    finally:
        proj.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
