"""Small process and permission helpers the demo's parts share."""

import errno
import os
import pwd
import signal
import socket
import subprocess
import time

from ..errors import BoincError


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def alive(pid):
    """Is ``pid`` a live process (a zombie counts as gone)?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid):
    """The command line of ``pid`` as one string ('' if gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def ours(pid, expect):
    """Is ``pid`` alive and running a command that mentions ``expect``?  A pid
    file outliving its process (a reboot) may name somebody else's by now."""
    return alive(pid) and expect in cmdline(pid)


def end(pid, expect, sig=signal.SIGTERM, timeout=60, group=False):
    """Stop process ``pid`` if it is ours (see :func:`ours`): ``sig``, then
    SIGKILL after ``timeout`` seconds.  With ``group``, what is left of its
    process group (a client's apps) is killed too.  True if it was running."""
    if not ours(pid, expect):
        return False
    kill = os.killpg if group else os.kill
    try:
        kill(pid, sig)
    except OSError:
        pass
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid) or group:
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass
        while alive(pid):
            time.sleep(0.05)
    return True


def port_in_use(port, host="127.0.0.1"):
    """Does anything accept connections on host:port?"""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def check_port(port, what, option):
    if not 1024 <= port <= 65535:
        raise BoincError("%s port %d: use an unprivileged port (1024-65535) with %s"
                         % (what, port, option))
    if port_in_use(port):
        raise BoincError("127.0.0.1:%d (for the %s) is in use by another program; "
                         "choose a free port with %s" % (port, what, option))


def user_can_enter(user, path):
    """Can the account ``user`` reach ``path`` (search every directory on the
    way)?  Asked of the kernel itself, as that user, so modes, groups and
    ACLs all count.  Only root can ask for others; anyone else reaches their
    own files."""
    if os.geteuid() != 0:
        return True
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return True             # no such account: nobody to worry about
    res = subprocess.run(["/usr/bin/test", "-x", path], user=pw.pw_uid, group=pw.pw_gid,
                         extra_groups=os.getgrouplist(user, pw.pw_gid),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return res.returncode == 0


def first_closed_dir(user, path):
    """The first directory on the way to ``path`` that ``user`` can't enter."""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        d = os.sep.join(parts[:i]) or os.sep
        if not user_can_enter(user, d):
            return d
    return path


def tail(path, n=5):
    """The last lines of a log file, joined with ' | ' for a one-line error."""
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f.readlines() if line.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])
