"""``show_shmem``: print the feeder's job cache as BOINC's show_shmem does.

Apps, app versions, which processor types have apps, host FLOPS
statistics, ``ready``, ``max_wu_results``, then one line per slot with a
column header every 24 slots; an empty slot prints as ``N: ---`` and a
reserved one as ``N: PID p: result r``.
"""

import sys
import time

from .. import __version__, cli, config, shmem
from ..errors import ConfigError, ProjectDirError

USAGE = """Displays the work_item part of shared-memory structure.

Usage: %s [OPTION]

Options:
  [ -h | --help ]        Show this help text.
  [ -v | --version ]     Shows version information.
"""

TABLE_HEADER = "%4s %12s %10s %10s %10s %8s %10s %8s %12s %12s %9s %9s" % (
    "slot", "app", "WU ID", "result ID", "batch", "kwds", "priority", "in shmem",
    "size class", "need reliable", "inf count", "version")


def show(cache, out, now=None):
    """Write the cache's contents to ``out`` in BOINC's format."""
    now = time.time() if now is None else now
    catalog = cache.catalog()
    header = cache.header()
    w = out.write
    w("apps:\n")
    for app in catalog.apps:
        w("id: %d name: %s hr: %d weight: %.2f beta: %d hav: %d nci: %d\n" % (
            app["id"], app["name"], app["homogeneous_redundancy"], app["weight"],
            app["beta"], app["homogeneous_app_version"], app["non_cpu_intensive"]))
    w("app versions:\n")
    for av in catalog.app_versions:
        w("appid: %d platformid: %d version_num: %d plan_class: %s\n" % (
            av["appid"], av["platformid"], av["version_num"], av["plan_class"]))
    for name, have in zip(shmem.PROC_TYPES, catalog.have_apps_for_proc_type):
        w("have %s apps: %s\n" % (name, "yes" if have else "no"))
    w("host fpops mean %.2f GFLOPS stddev %.2f GFLOPS\n"
      % (header.host_fpops_mean / 1e9, header.host_fpops_stddev / 1e9))
    w("host fpops 50th pctile %.2f GFLOPS 95th pctile %.2f GFLOPS\n"
      % (header.host_fpops_50_percentile / 1e9, header.host_fpops_95_percentile / 1e9))
    w("ready: %d\n" % header.ready)
    w("max_wu_results: %d\n" % header.max_wu_results)
    for s in cache.slots():
        if s.index % 24 == 0:
            w(TABLE_HEADER + "\n")
        if s.state == shmem.PRESENT:
            app = catalog.app(s.appid)
            keywords = cache.workunit(s)["keywords"]
            w("%4d %12.12s %10d %10d %10d %8s %10d %7ds %9d %12s %9d %9d\n" % (
                s.index, app["name"] if app else "missing", s.workunitid, s.resultid,
                s.batch, keywords, s.res_priority, int(now - s.time_added), s.size_class,
                "yes" if s.need_reliable else "no", s.infeasible_count, s.app_version_num))
        elif s.state == shmem.EMPTY:
            w("%4d: ---\n" % s.index)
        else:
            w("%4d: PID %d: result %d\n" % (s.index, s.state, s.resultid))


def main(argv):
    prog = cli.prog_name()
    for arg in argv:
        if arg in ("-h", "--help"):
            sys.stderr.write(USAGE % prog)
            return 0
        if arg in ("-v", "--version"):
            print(__version__)
            return 0
        sys.stderr.write("unknown command line argument: %s\n\n" % arg)
        sys.stderr.write(USAGE % prog)
        return 1
    try:
        cfg = config.load()
    except (ConfigError, ProjectDirError) as exc:
        print("Can't parse config.xml: %s" % exc)
        return 1
    try:
        cache = shmem.JobCache.attach(cfg)
    except shmem.ShmemError as exc:
        if exc.code == shmem.ERR_SHMGET:
            print("can't attach shmem: key %x" % cfg.shmem_key)
            return 1
        raise
    try:
        show(cache, sys.stdout)
    finally:
        cache.detach()
    return 0


def run():
    cli.run(main)
