#!/usr/bin/env python3
"""What one CGI request costs our programs: a process each, as under mod_cgid.

Makes a throw-away project as bench/sched_bench.py does (feeder running, no
Apache) and runs its installed ``cgi-bin/cgi`` (a scheduler RPC asking for no
work, from a registered host) and ``cgi-bin/file_upload_handler`` (one small
upload) --count times each, as Apache's user when run as root, with the
environment mod_cgid gives them.  For comparison it also runs the project's
Python doing nothing (``-c pass``) and only importing each program's modules.
Prints the CPU (user + system) per process, the median of the runs:

    .venv/bin/python bench/cgi_startup.py --count 40

With --boinc DIR (a built BOINC source tree, see docs/performance.md) the
project runs BOINC's own cgi, file_upload_handler and feeder instead, and
the same two requests are measured on them.
"""

import argparse
import os
import pwd
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import loadgen  # noqa: E402
import sched_bench  # noqa: E402
from sched import apache  # noqa: E402


def as_httpd_user():
    """preexec_fn: become Apache's user (when we are root), as mod_cgid's children."""
    if os.getuid() != 0:
        return None
    pw = pwd.getpwnam(apache.httpd_user())

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def cpu_of(argv, stdin=b"", env=None, cwd=None):
    """CPU seconds (user + system) of one child process, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, input=stdin, env=env, cwd=cwd, capture_output=True,
                          preexec_fn=as_httpd_user())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime), proc


def cgi_env(project, program, body, content_type):
    return {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": content_type,
            "SCRIPT_NAME": "/%s_cgi/%s" % (project.name, program),
            "SCRIPT_FILENAME": os.path.join(project.dir, "cgi-bin", program),
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1"}


def measure(label, count, make_run, check):
    times = []
    for i in range(count):
        cpu, proc = make_run(i)
        check(proc)
        times.append(cpu)
    print("%-44s %6.1f ms CPU (min %.1f, %d runs)"
          % (label, 1000 * statistics.median(times), 1000 * min(times), count))
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--boinc", metavar="DIR", help="measure BOINC's C++ programs built in DIR")
    args = p.parse_args(argv)
    proj = sched_bench.Project("cgi", 0, boinc=args.boinc)
    try:
        proj.start([sched_bench.FEEDER], web=False)
        cgi = os.path.join(proj.dir, "cgi-bin", "cgi")
        fuh = os.path.join(proj.dir, "cgi-bin", "file_upload_handler")
        bindir = os.path.dirname(cgi)               # mod_cgid runs a program in its directory
        with open(os.path.join(proj.dir, "bin", "start")) as f:
            python = f.readline()[2:].split()[0]     # the interpreter make_project named

        def ok(proc):
            if proc.returncode:
                sys.exit("failed: %s" % proc.stderr.decode(errors="replace"))

        def replied(tag):
            def check(proc):
                ok(proc)
                if tag.encode() not in proc.stdout:
                    sys.exit("no %s in the reply:\n%s%s" % (tag, proc.stdout.decode(errors="replace"),
                                                            proc.stderr.decode(errors="replace")))
            return check

        host = loadgen.Host(1, proj.user["authenticator"], 0)
        first = host.request(False, 0).encode()
        _, proc = cpu_of([cgi], first, cgi_env(proj, "cgi", first, "text/xml"), cwd=bindir)
        hostid = loadgen.tag(proc.stdout.decode(), "hostid")
        if not hostid:
            sys.exit("the first RPC got no host id:\n%s%s" % (proc.stdout.decode(errors="replace"),
                                                             proc.stderr.decode(errors="replace")))
        host.hostid = int(hostid)
        host.seqno = 1

        for flags in ([], ["-S"]):
            measure(" ".join(["python"] + flags + ["-c pass"]), args.count,
                    lambda i: cpu_of([python] + flags + ["-c", "pass"]), ok)
        for module in () if args.boinc else ("sched.scheduler.app", "sched.upload"):
            measure("python: import %s" % module, args.count, lambda i: cpu_of(
                [python, "-c", "import sys; sys.path.insert(0, %r); import %s"
                 % (proj.dir, module)]), ok)

        def rpc(i):
            body = host.request(False, 0).encode()
            host.seqno += 1
            return cpu_of([cgi], body, cgi_env(proj, "cgi", body, "text/xml"), cwd=bindir)
        measure("cgi-bin/cgi: a nowork RPC", args.count, rpc, replied("</scheduler_reply>"))

        def upload(i):
            data = b"output %d\n" % i
            name = "cgi_startup_%d_%d" % (os.getpid(), i)
            body = loadgen.upload_request(name, "100000", data)
            return cpu_of([fuh], body, cgi_env(proj, "file_upload_handler", body,
                                                "application/x-www-form-urlencoded"), cwd=bindir)
        measure("cgi-bin/file_upload_handler: an upload", args.count, upload,
                replied("<status>0</status>"))
    finally:
        proj.close()


if __name__ == "__main__":
    started = time.time()
    main()
    print("(%.0f s)" % (time.time() - started))
