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

With --fastcgi the project's own ``cgi-bin/fcgi`` program runs as mod_fcgid
runs it (a listening Unix socket as its stdin) and each RPC goes to it over
the FastCGI protocol, a new connection per request as mod_fcgid makes them:
the CPU per RPC is then that process's whole cost, FastCGI layer and kernel
included (still no Apache, no load generator); --profile runs it under
cProfile and --sample samples it (including its start and the first RPCs).

    .venv/bin/python bench/sched_profile.py --fastcgi --mode nowork --count 3000
"""

import argparse
import cProfile
import io
import os
import pstats
import socket
import struct
import subprocess
import sys
import tempfile
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


class FastCGIChild:
    """The project's cgi-bin/fcgi as mod_fcgid starts it; ``application`` sends
    one request over FastCGI (the same call as the WSGI application's)."""

    # The child under CPUSampler: started through this file, counts dumped at exit.
    SAMPLED = ("import atexit, marshal, runpy, sys; sys.path.insert(0, %r); "
               "from sched_profile import CPUSampler; s = CPUSampler(); s.enable(); "
               "out = sys.argv.pop(); del sys.argv[0]; atexit.register(lambda: marshal.dump(s.dump(), "
               "open(out, 'wb'))); runpy.run_path(sys.argv[0], run_name='__main__')"
               % os.path.dirname(os.path.abspath(__file__)))

    def __init__(self, proj, profile_to=None, sample_to=None):
        self.path = os.path.join(tempfile.mkdtemp(prefix="fcgi-", dir=proj.tmp), "sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(16)
        program = os.path.join(proj.dir, "cgi-bin", "fcgi")
        with open(program) as f:
            python = f.readline()[2:].split()      # the #! line, flags included
        argv = python + (["-m", "cProfile", "-o", profile_to] if profile_to else []) + [program]
        if sample_to:
            argv = [python[0], "-c", self.SAMPLED, program, sample_to]
        self.proc = subprocess.Popen(argv, stdin=listener, cwd=os.path.dirname(program),
                                     env={"PATH": "/usr/bin:/bin",
                                          "BOINC_PROJECT_DIR": proj.dir})
        listener.close()

    def cpu(self):
        """The child's CPU seconds so far (user + system)."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def application(self, environ, start_response):
        body = environ["wsgi.input"].read()
        params = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
                  "CONTENT_TYPE": "application/x-www-form-urlencoded",
                  "SCRIPT_NAME": "/bench_cgi/fcgi", "REQUEST_URI": "/bench_cgi/fcgi",
                  "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                  "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                  "GATEWAY_INTERFACE": "CGI/1.1", "HTTP_HOST": "127.0.0.1",
                  "HTTP_USER_AGENT": "BOINC client (x86_64-pc-linux-gnu 7.20.5)",
                  "HTTP_ACCEPT": "*/*", "HTTP_ACCEPT_ENCODING": "deflate, gzip"}
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        sock.sendall(fcgi_request(params, body))
        out, reply = b"", b""
        while True:
            data = sock.recv(1 << 16)
            if not data:
                break
            out += data
        sock.close()
        pos = 0
        while pos + 8 <= len(out):
            _, kind, _, length, pad = struct.unpack("!BBHHBx", out[pos:pos + 8])
            if kind == 6:                   # FCGI_STDOUT
                reply += out[pos + 8:pos + 8 + length]
            pos += 8 + length + pad
        head, _, text = reply.partition(b"\r\n\r\n")
        start_response(head.split(b"\r\n")[0].decode(), [])
        return [text]

    def close(self):
        self.proc.terminate()        # flup ends its loop on SIGTERM (cProfile writes)
        self.proc.wait(30)


class CPUSampler:
    """A statistical profiler on CPU time: SIGPROF every ``interval`` seconds of
    the process's CPU (user + system), so time spent waiting for MariaDB counts
    for nothing, unlike cProfile's wall clock; each sample charges every
    function on the stack (inclusive) and the innermost one (own)."""

    def __init__(self, interval=0.0005):
        import collections
        import signal
        self.interval, self.signal = interval, signal
        self.inclusive, self.own = collections.Counter(), collections.Counter()
        self.samples = 0

    def _sample(self, signum, frame):
        self.samples += 1
        seen = set()
        inner = True
        while frame is not None:
            code = frame.f_code
            key = "%s:%d(%s)" % (os.path.relpath(code.co_filename, ROOT), code.co_firstlineno,
                                 code.co_name)
            if inner:
                self.own[key] += 1
                inner = False
            if key not in seen:
                seen.add(key)
                self.inclusive[key] += 1
            frame = frame.f_back

    def enable(self):
        self.signal.signal(self.signal.SIGPROF, self._sample)
        self.signal.setitimer(self.signal.ITIMER_PROF, self.interval, self.interval)

    def disable(self):
        self.signal.setitimer(self.signal.ITIMER_PROF, 0, 0)

    def dump(self):
        return dict(inclusive=dict(self.inclusive), own=dict(self.own), samples=self.samples)

    @classmethod
    def load(cls, data):
        sampler = cls()
        sampler.inclusive.update(data["inclusive"])
        sampler.own.update(data["own"])
        sampler.samples = data["samples"]
        return sampler

    def print(self, top):
        for title, counts in (("inclusive", self.inclusive), ("own", self.own)):
            print("CPU samples (%s), %d in all:" % (title, self.samples))
            for key, n in counts.most_common(top):
                print("  %5.1f%%  %s" % (100.0 * n / self.samples, key))


def _record(kind, content, request_id=1):
    pad = -len(content) & 7
    return struct.pack("!BBHHBx", 1, kind, request_id, len(content), pad) + content + b"\0" * pad


def _pair(name, value):
    name, value = name.encode(), value.encode()
    size = lambda n: bytes([n]) if n < 128 else struct.pack("!L", n | 0x80000000)
    return size(len(name)) + size(len(value)) + name + value


def fcgi_request(params, body):
    """A whole FastCGI request, as mod_fcgid sends it (responder role, no keep-alive)."""
    out = [_record(1, struct.pack("!HB5x", 1, 0))]           # FCGI_BEGIN_REQUEST
    out.append(_record(4, b"".join(_pair(k, v) for k, v in params.items())))
    out.append(_record(4, b""))                              # end of FCGI_PARAMS
    for i in range(0, len(body), 65528):
        out.append(_record(5, body[i:i + 65528]))
    out.append(_record(5, b""))                              # end of FCGI_STDIN
    return b"".join(out)


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
    p.add_argument("--sample", action="store_true",
                   help="sample the stack every 0.5 ms of CPU instead of cProfile")
    p.add_argument("--fastcgi", action="store_true",
                   help="send the RPCs to the project's cgi-bin/fcgi over FastCGI")
    args = p.parse_args(argv)

    jobs = args.count * 10 + 1000 if args.mode == "fetch" else 0
    proj = sched_bench.Project("fcgi", jobs)
    try:
        proj.start([sched_bench.FEEDER], web=False)
        hosts = [loadgen.Host(i, proj.user["authenticator"], 0) for i in range(args.hosts)]
        if args.fastcgi:
            profile_to = os.path.join(proj.tmp, "fcgi.prof") if args.profile else None
            sample_to = os.path.join(proj.tmp, "fcgi.samples") if args.sample else None
            child = FastCGIChild(proj, profile_to, sample_to)
            application, cpu_now, profiler = child.application, child.cpu, None
        else:
            os.environ["BOINC_PROJECT_DIR"] = proj.dir
            from sched.scheduler import app

            def application(environ, start_response):     # as a FastCGI worker runs it
                out = b"".join(app.application(environ, start_response))
                app.after_request()
                return [out]
            cpu_now = time.process_time
            profiler = CPUSampler() if args.sample else \
                cProfile.Profile() if args.profile else None
        drive(application, hosts, args.mode, len(hosts))       # each host registered
        cpu, wall = cpu_now(), time.perf_counter()
        if profiler:
            profiler.enable()
        n, jobs = drive(application, hosts, args.mode, args.count)
        if profiler:
            profiler.disable()
        cpu, wall = cpu_now() - cpu, time.perf_counter() - wall
        print("%s%s: %d RPCs, %d jobs; scheduler CPU %.3f ms per RPC, wall %.2f ms per RPC%s"
              % (args.mode, " (FastCGI)" if args.fastcgi else "", n, jobs, 1000 * cpu / n,
                 1000 * wall / n, " (profiled)" if args.profile or args.sample else ""))
        if args.fastcgi:
            child.close()
            if args.profile:
                profiler = profile_to
            elif args.sample:
                import marshal
                with open(sample_to, "rb") as f:
                    profiler = CPUSampler.load(marshal.load(f))
        if isinstance(profiler, CPUSampler):
            profiler.print(args.top)
        elif profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
    finally:
        proj.close()


if __name__ == "__main__":
    main()
