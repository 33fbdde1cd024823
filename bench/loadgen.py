#!/usr/bin/env python3
"""A load generator for BOINC schedulers, ours or BOINC's own (like sched_driver).

A fleet of simulated hosts, each with its own host CPID, keeping the host id
the server gives it and honouring its replies, sends real-shaped
<scheduler_request>s to a project's scheduler:

  nowork   RPCs that ask for no work (the cheapest full RPC)
  fetch    RPCs asking for work; jobs are never reported
  cycle    fetch, upload each output through the upload handler with the
           file_info the server gave, report it in the next RPC, check result_ack

Each of --concurrency worker processes runs its share of the hosts with one
keep-alive HTTP connection to the scheduler.  Output: RPC/s, jobs/s, results
acked/s, latency percentiles, errors by kind, and (with --project, whose
config.xml names the DB) DB statements per RPC from the server's counters --
exact, with the DB's CPU time per RPC, where MariaDB's userstat is on.
--warmup S runs the hosts S seconds (and until each has had a reply) before
measuring, so that in cycle mode every host has jobs to report.

  bench/loadgen.py --url http://127.0.0.1:8080/proj_cgi/fcgi --auth KEY \\
      --mode fetch --concurrency 4 --duration 20 [--hosts 64] [--project DIR]
"""

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import re
import sys
import time
import urllib.parse

REQUEST = """<scheduler_request>
    <authenticator>{auth}</authenticator>
    <hostid>{hostid}</hostid>
    <rpc_seqno>{seqno}</rpc_seqno>
    <core_client_major_version>7</core_client_major_version>
    <core_client_minor_version>20</core_client_minor_version>
    <core_client_release>5</core_client_release>
    <resource_share_fraction>1.000000</resource_share_fraction>
    <duration_correction_factor>1.000000</duration_correction_factor>
    <allow_multiple_clients>0</allow_multiple_clients>
    <dont_send_work>{dont_send}</dont_send_work>
    <work_req_seconds>{req:f}</work_req_seconds>
    <cpu_req_secs>{req:f}</cpu_req_secs>
    <cpu_req_instances>{inst:f}</cpu_req_instances>
    <estimated_delay>0.000000</estimated_delay>
    <client_cap_plan_class>1</client_cap_plan_class>
    <platform_name>x86_64-pc-linux-gnu</platform_name>
<time_stats>
    <on_frac>1.000000</on_frac>
    <connected_frac>-1.000000</connected_frac>
    <active_frac>1.000000</active_frac>
    <gpu_active_frac>1.000000</gpu_active_frac>
</time_stats>
<net_stats>
    <bwup>1000000.000000</bwup>
    <bwdown>10000000.000000</bwdown>
</net_stats>
<host_info>
    <timezone>0</timezone>
    <domain_name>loadgen-{run}-{n}</domain_name>
    <ip_addr>10.{a}.{b}.{c}</ip_addr>
    <host_cpid>{cpid}</host_cpid>
    <p_ncpus>1</p_ncpus>
    <p_vendor>GenuineIntel</p_vendor>
    <p_model>Simulated CPU {n}</p_model>
    <p_fpops>1000000000.000000</p_fpops>
    <p_iops>1000000000.000000</p_iops>
    <m_nbytes>8000000000.000000</m_nbytes>
    <m_swap>0.000000</m_swap>
    <d_total>500000000000.000000</d_total>
    <d_free>200000000000.000000</d_free>
    <os_name>Linux Debian</os_name>
    <os_version>Debian GNU/Linux 12 (bookworm)</os_version>
</host_info>
<disk_usage>
    <d_boinc_used_total>0.000000</d_boinc_used_total>
    <d_boinc_used_project>0.000000</d_boinc_used_project>
</disk_usage>
{results}<other_results>
{others}</other_results>
</scheduler_request>
"""

RESULT = """<result>
    <name>{name}</name>
    <final_cpu_time>1.000000</final_cpu_time>
    <final_elapsed_time>1.000000</final_elapsed_time>
    <exit_status>0</exit_status>
    <state>5</state>
    <platform>x86_64-pc-linux-gnu</platform>
    <version_num>{version}</version_num>
    <app_version_num>{version}</app_version_num>
<stderr_out>
<core_client_version>7.20.5</core_client_version>
<![CDATA[
<stderr_txt>
done
</stderr_txt>
]]>
</stderr_out>
{file_infos}</result>
"""

BARRIER_TIMEOUT = 900
_RESULT_RE = re.compile(r"<result>\n(.*?)</result>", re.S)
_FILE_INFO_RE = re.compile(r"<file_info>(.*?)</file_info>", re.S)


def tag(text, name):
    m = re.search(r"<%s>(.*?)</%s>" % (name, name), text, re.S)
    return m.group(1).strip() if m else None


class Host:
    def __init__(self, n, auth, run):
        # Each run is a new fleet: a server must not take a host for an earlier run's
        # "similar" host (BOINC's would, and mark that host's jobs as errors).
        self.n, self.auth, self.run = n, auth, run
        self.cpid = hashlib.md5(("loadgen-host-%d-%d" % (n, os.getpid())).encode()).hexdigest()
        self.hostid, self.seqno = 0, 0
        self.pending = []          # results computed, to report
        self.held = []             # result names the host holds (other_results)

    def request(self, want_work, jobs):
        results = "".join(RESULT.format(name=r["name"], version=r["version"],
                                        file_infos=r["file_infos"]) for r in self.pending)
        # As BOINC's client: results being reported are not "other" results (BOINC's
        # scheduler would tell the host to abort them).
        reporting = {r["name"] for r in self.pending}
        others = "".join("    <other_result>\n        <name>%s</name>\n    </other_result>\n"
                         % name for name in self.held if name not in reporting)
        n = self.n
        return REQUEST.format(auth=self.auth, hostid=self.hostid, seqno=self.seqno,
                              dont_send=0 if want_work else 1,
                              req=(jobs * 10.0 if want_work else 0.0),
                              inst=(1.0 if want_work else 0.0), n=n, run=self.run,
                              a=(n >> 16) & 255, b=(n >> 8) & 255, c=n & 255, cpid=self.cpid,
                              results=results, others=others)


class Connection:
    """One keep-alive HTTP connection, reopened after errors."""

    def __init__(self, url):
        self.url = urllib.parse.urlsplit(url)
        self.conn = None

    def post(self, path, body, content_type="application/x-www-form-urlencoded"):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port or 80,
                                                       timeout=60)
            try:
                self.conn.request("POST", path, body, {"Content-Type": content_type})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def upload_request(name, max_nbytes, data):
    """The body a BOINC client posts to upload ``data`` as file ``name``."""
    md5 = hashlib.md5(data).hexdigest()
    head = ("<data_server_request>\n    <core_client_major_version>7</core_client_major_version>\n"
            "    <core_client_minor_version>20</core_client_minor_version>\n"
            "    <core_client_release>5</core_client_release>\n<file_upload>\n<file_info>\n"
            "<name>%s</name>\n<xml_signature>\n</xml_signature>\n<max_nbytes>%s</max_nbytes>\n"
            "</file_info>\n<nbytes>%d</nbytes>\n<md5_cksum>%s</md5_cksum>\n<offset>0</offset>\n"
            "<data>\n" % (name, max_nbytes, len(data), md5))
    return head.encode() + data


def upload(conn, path, name, max_nbytes, data):
    return conn.post(path, upload_request(name, max_nbytes, data))


def worker(args, index, out, barrier=None):
    random.seed(os.getpid())
    sched = Connection(args.url)
    path = urllib.parse.urlsplit(args.url).path
    up = None
    hosts = [Host(index * 100000 + i, args.auth, args.run)
             for i in range(max(1, args.hosts // args.concurrency))]
    stats = dict(rpcs=0, jobs=0, acked=0, uploads=0, latencies=[], errors={})

    def error(kind):
        stats["errors"][kind] = stats["errors"].get(kind, 0) + 1

    # Warming up: at least --warmup seconds and a reply for every host (so that in
    # cycle mode each has jobs to report), then all workers start measuring together.
    warm_until = time.time() + args.warmup if barrier else None
    deadline = time.time() + args.duration if args.duration else None
    count = args.count // args.concurrency if args.count else None
    i = 0
    while True:
        if warm_until is not None and time.time() >= warm_until and i >= len(hosts):
            barrier.wait(BARRIER_TIMEOUT)
            warm_until = None
            stats.update(rpcs=0, jobs=0, acked=0, uploads=0, latencies=[], errors={})
            deadline = time.time() + args.duration if args.duration else None
        if warm_until is None and not ((deadline is None or time.time() < deadline)
                                       and (count is None or stats["rpcs"] < count)):
            break
        host = hosts[i % len(hosts)]
        i += 1
        want = args.mode != "nowork"
        body = host.request(want, args.jobs_per_rpc).encode()
        reported = [r["name"] for r in host.pending]
        t0 = time.perf_counter()
        try:
            status, data = sched.post(path, body)
        except (http.client.HTTPException, OSError) as exc:
            error("connection: %s" % type(exc).__name__)
            continue
        stats["latencies"].append(time.perf_counter() - t0)
        stats["rpcs"] += 1
        if status != 200:
            error("HTTP %d" % status)
            continue
        text = data.decode("utf-8", "replace")
        if "</scheduler_reply>" not in text:
            error("truncated reply")
            continue
        if "<project_is_down/>" in text:
            error("project down: %s" % (tag(text, 'message') or ''))
            continue
        hostid = tag(text, "hostid")
        if hostid:
            host.hostid, host.seqno = int(hostid), 0
        host.seqno += 1
        for _ in re.findall(r"<result_abort>", text):
            error("result_abort")
        acks = set(re.findall(r"<result_ack>\s*<name>(.*?)</name>", text))
        for name in reported:
            if name in acks:
                stats["acked"] += 1
            else:
                error("report not acked")
        host.pending = [r for r in host.pending if r["name"] not in acks]
        host.held = [n for n in host.held if n not in acks]
        new = _RESULT_RE.findall(text)
        stats["jobs"] += len(new)
        if args.mode == "fetch":
            continue
        outs = {}
        for fi in _FILE_INFO_RE.findall(text):
            url = tag(fi, "url")
            if url and "file_upload_handler" in url:
                outs[tag(fi, "name")] = (url, tag(fi, "max_nbytes") or "10000")
        for block in new:
            name = tag(block, "name")
            version = tag(block, "version_num") or "0"
            infos = []
            for fname in re.findall(r"<file_name>(.*?)</file_name>", block):
                if fname not in outs:
                    continue
                url, max_nbytes = outs[fname]
                if up is None:
                    up = Connection(url)
                payload = ("output of %s\n" % fname).encode()
                try:
                    ustatus, reply = upload(up, urllib.parse.urlsplit(url).path, fname,
                                            max_nbytes, payload)
                except (http.client.HTTPException, OSError) as exc:
                    error("upload connection: %s" % type(exc).__name__)
                    continue
                st = tag(reply.decode("utf-8", "replace"), "status")
                if ustatus != 200 or st != "0":
                    error("upload status %s" % st)
                    continue
                stats["uploads"] += 1
                infos.append("<file_info>\n    <name>%s</name>\n    <nbytes>%d.000000</nbytes>\n"
                             "    <max_nbytes>%s</max_nbytes>\n    <md5_cksum>%s</md5_cksum>\n"
                             "    <upload_url>%s</upload_url>\n</file_info>\n"
                             % (fname, len(payload), max_nbytes,
                                hashlib.md5(payload).hexdigest(), url))
            host.pending.append(dict(name=name, version=version, file_infos="".join(infos)))
            host.held.append(name)
    out.put(stats)


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))
    return values[k]


def db_counters(project):
    """The DB server's counters, or None: (statements, CPU seconds or None, exact).

    Exact: with MariaDB's user statistics on (SET GLOBAL userstat=1) and a DB
    user allowed to read them (PROCESS privilege), the statements and CPU time
    of the project's DB user alone (its daemons included).  Otherwise the
    server's statement counter (SHOW GLOBAL STATUS 'Questions'), which also
    counts everyone else's.
    """
    if not project:
        return None
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from sched import config, db
    cfg = config.load(project)
    with db.connect(cfg) as conn:
        if conn.rows("SHOW GLOBAL VARIABLES LIKE 'userstat'")[0][1].upper() == "ON":
            row = conn.query_one("SELECT SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS AS n,"
                                 " CPU_TIME FROM information_schema.USER_STATISTICS"
                                 " WHERE USER = %s", (cfg.db_user,))
            if row:
                return int(row["n"]), float(row["CPU_TIME"]), True
        return int(conn.rows("SHOW GLOBAL STATUS LIKE 'Questions'")[0][1]), None, False


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="scheduler URL (.../cgi or .../fcgi)")
    p.add_argument("--auth", required=True, help="account key of the simulated hosts' user")
    p.add_argument("--mode", choices=("nowork", "fetch", "cycle"), default="nowork")
    p.add_argument("--hosts", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--duration", type=float, default=0, help="seconds to run")
    p.add_argument("--count", type=int, default=0, help="RPCs to send (instead of --duration)")
    p.add_argument("--warmup", type=float, default=0,
                   help="seconds of load before measuring (and until every host had a reply)")
    p.add_argument("--jobs-per-rpc", type=int, default=10)
    p.add_argument("--project", help="project dir: read DB statement counts from its DB")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if not args.duration and not args.count:
        args.duration = 10.0
    args.run = "%x" % os.getpid()
    out = multiprocessing.Queue()
    barrier = multiprocessing.Barrier(args.concurrency + 1) if args.warmup else None
    procs = [multiprocessing.Process(target=worker, args=(args, i, out, barrier))
             for i in range(args.concurrency)]
    for proc in procs:
        proc.start()
    if barrier:
        barrier.wait(BARRIER_TIMEOUT)
    q0 = db_counters(args.project)
    t0 = time.time()
    parts = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.time() - t0
    q1 = db_counters(args.project)
    lat = [x for s in parts for x in s["latencies"]]
    errors = {}
    for s in parts:
        for k, v in s["errors"].items():
            errors[k] = errors.get(k, 0) + v
    rpcs = sum(s["rpcs"] for s in parts)
    figures = dict(mode=args.mode, concurrency=args.concurrency, seconds=round(elapsed, 2),
                   window=[round(t0, 2), round(t0 + (args.duration or elapsed), 2)],
                   rpcs=rpcs, rpc_per_s=round(rpcs / elapsed, 1),
                   jobs_per_s=round(sum(s["jobs"] for s in parts) / elapsed, 1),
                   acked_per_s=round(sum(s["acked"] for s in parts) / elapsed, 1),
                   uploads=sum(s["uploads"] for s in parts),
                   p50_ms=round(1000 * percentile(lat, 50), 1),
                   p90_ms=round(1000 * percentile(lat, 90), 1),
                   p99_ms=round(1000 * percentile(lat, 99), 1), errors=errors)
    if q0 is not None and rpcs:
        if q0[2]:
            figures["db_statements_per_rpc"] = round((q1[0] - q0[0]) / rpcs, 1)
            figures["db_cpu_ms_per_rpc"] = round(1000 * (q1[1] - q0[1]) / rpcs, 2)
        else:
            # everyone's statements (counter reads, daemons, other clients): an upper bound
            figures["db_statements_per_rpc_upper"] = round((q1[0] - q0[0]) / rpcs, 1)
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print("%-22s %s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
