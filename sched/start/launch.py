"""Starting daemons and tasks the way bin/start does, and finding them again.

Each program runs in a session of its own (fork, setsid, fork again) with
stdin on /dev/null, stdout and stderr appended to its log, cwd ``tmp_HOST``,
and an fcntl (lockf) lock on its lock file that the program's own process
takes before exec.  POSIX locks belong to a process and survive exec, so the
lock is held exactly as long as the program runs: a second start finds it
busy and leaves the program alone, and stop asks the kernel who holds it.

A pipe (closed on exec) tells the parent what happened in the child: lock
busy, the program's pid, or why exec failed; EOF after the pid means exec
succeeded.  So start reports results itself, in order, without guessing.
"""

import fcntl
import os
import shlex
import shutil
import signal
import struct
import sys
import time
from dataclasses import dataclass

SHELL_WORDS = ("|", ">", ">>", "<")
SHELL_PREFIXES = ("1>", "2>", "&>")

# struct flock as F_GETLK fills it on Linux (off_t is 64-bit in Python builds).
_FLOCK = struct.Struct("@hhqqi")


def timestamp(t):
    """bin/start's own timestamp format (local time)."""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(t))


def command_words(cmd):
    """Split ``cmd`` as a shell would; raises ValueError on a bad quote.

    A backslash-newline in a multi-line ``<cmd>`` leaves a newline at the
    start of the next word; it is dropped.
    """
    return [w[1:] if w.startswith("\n") else w for w in shlex.split(cmd)]


def needs_shell(words):
    """A pipe or redirection can't be exec'd; it needs ``<use_shell>``."""
    return any(w in SHELL_WORDS or w.startswith(SHELL_PREFIXES) for w in words)


def base_name(cmd):
    """Name for default log/pid/lock files: the program, past ``run_in_ops``."""
    words = cmd.split()
    first = words[1] if words[0] == "run_in_ops" and len(words) > 1 else words[0]
    return os.path.basename(first)


# ---------------------------------------------------------------- locks

def try_lock(fd):
    """Take an exclusive lockf lock on ``fd``; False if another process has it."""
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except (BlockingIOError, PermissionError):
        return False


def is_locked(path):
    """True if some process holds the lock on ``path``; None if we can't tell."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        return not try_lock(fd)
    finally:
        os.close(fd)        # also drops the lock if we just took it


def lock_holder(path):
    """PID of the process holding a lock on ``path``: 0 if none, None if unknown."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    except OSError:
        return None
    try:
        query = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        reply = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        kind, _, _, _, pid = _FLOCK.unpack(reply)
        return 0 if kind == fcntl.F_UNLCK else pid
    except (OSError, struct.error):
        return None
    finally:
        os.close(fd)


# ---------------------------------------------------------------- processes

def is_running(pid):
    """Whether ``pid`` is a live process (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return 0


def wait_gone(pid, tick=None):
    """Wait until ``pid`` has ended, calling ``tick()`` on each poll."""
    delay = 0.05
    while is_running(pid):
        if tick:
            tick()
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def send_hup(pid):
    """SIGHUP ``pid``; returns an error text, or None when it was sent."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return "no such process"
    except OSError as exc:
        return exc.strerror
    return None


# ---------------------------------------------------------------- commands

def interpreter_problem(path, show):
    """Why the interpreter named by ``path``'s ``#!`` line can't run, or None."""
    try:
        with open(path, "rb") as f:
            head = f.readline(256)
    except OSError as exc:
        return "can't read %s: %s" % (show, exc.strerror)
    if not head.startswith(b"#!"):
        return None
    words = head[2:].decode("utf-8", "replace").split()
    if not words:
        return None
    interp = words[0]
    if os.path.basename(interp) == "env":
        names = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if names and not shutil.which(names[0]):
            return "'%s' (the interpreter of %s) is not installed" % (names[0], show)
        return None
    if not os.access(interp, os.X_OK):
        return "'%s' (the interpreter of %s) is not installed" % (interp, show)
    return None


def missing_reason(words, cwd, project_dir):
    """Why the command ``words`` can't run here, or None if it can.

    The program is looked up as execvp will from ``cwd`` (bin/ is first on
    PATH); for ``run_in_ops PROG`` also ``html/ops/PROG``; for scripts their
    ``#!`` interpreter (an ops .php script on a host without PHP).
    """
    prog = words[0]
    if "/" in prog:
        path = os.path.join(cwd, prog)
        found = path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    else:
        found = shutil.which(prog)
    if not found:
        return "'%s' not found in bin/ or PATH" % prog
    problem = interpreter_problem(found, prog)
    if problem or os.path.basename(prog) != "run_in_ops" or len(words) < 2:
        return problem
    show = os.path.normpath(os.path.join("html", "ops", words[1]))
    target = os.path.join(project_dir, show)
    if not os.path.isfile(target):
        return "%s not found" % show
    if not os.access(target, os.X_OK):
        return "%s is not executable" % show
    return interpreter_problem(target, show)


def shell_command(cmd):
    """The ``/bin/sh -c`` text for a ``<use_shell>`` command.

    The shell passes the stop signals on to everything it started.
    """
    return "trap 'kill 0' HUP INT QUIT TERM; %s & wait" % cmd


@dataclass
class Job:
    """One program to start: a daemon (with a pid file) or a task."""
    cmd: str
    use_shell: bool
    lock_path: str
    out_path: str
    pid_path: str = ""      # daemons only
    banner: bool = False    # write the "Executing command" line (daemons)


@dataclass
class Result:
    status: str             # "started", "running" (lock busy) or "failed"
    pid: int = 0
    message: str = ""


def note_in_log(job, message, now=None):
    """Append one line to the job's log, where the operator will look."""
    try:
        with open(job.out_path, "a") as f:
            f.write("[%s] %s\n" % (timestamp(now or time.time()), message))
    except OSError:
        pass


def spawn(job, cwd):
    """Start ``job`` detached, in ``cwd``; return what happened."""
    if job.use_shell:
        argv = ["/bin/sh", "-c", shell_command(job.cmd)]
    else:
        argv = command_words(job.cmd)
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()        # both close on exec
    child = os.fork()
    if child == 0:
        try:
            os.close(rfd)
            _child(job, argv, cwd, wfd)
        except BaseException as exc:    # noqa: B036 - nothing may escape a child
            _report(wfd, "E%s" % (exc,))
        finally:
            os._exit(1)
    os.close(wfd)
    data = b""
    while True:
        chunk = os.read(rfd, 4096)
        if not chunk:
            break
        data += chunk
    os.close(rfd)
    os.waitpid(child, 0)
    result = Result("failed", message="the program's process ended before exec")
    for line in data.decode("utf-8", "replace").splitlines():
        code, text = line[:1], line[1:]
        if code == "L":
            return Result("running")
        if code == "P":
            result = Result("started", int(text))
        elif code == "E":
            return Result("failed", result.pid, text)
    return result


def _report(fd, message):
    try:
        os.write(fd, (message.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _child(job, argv, cwd, report_fd):
    """In the forked child: detach, lock, redirect, exec.  Never returns."""
    os.setsid()
    if os.fork():
        os._exit(0)
    os.umask(0o002)
    lock_fd = os.open(job.lock_path, os.O_RDWR | os.O_CREAT, 0o664)
    if not try_lock(lock_fd):
        _report(report_fd, "L")
        os._exit(0)
    os.set_inheritable(lock_fd, True)       # the lock must outlive exec
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        out = os.open(job.out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o664)
    except OSError as exc:
        _report(report_fd, "Ecan't open %s: %s" % (job.out_path, exc.strerror))
        os._exit(1)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    pid = os.getpid()
    if job.pid_path:
        with open(job.pid_path, "w") as f:
            f.write("%d\n" % pid)
    if job.banner:
        os.write(1, ("[%s] Executing command: %s\n" % (timestamp(time.time()), job.cmd)).encode())
    os.chdir(cwd)
    _report(report_fd, "P%d" % pid)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        message = "Couldn't execute '%s': %s" % (job.cmd, exc.strerror)
        os.write(2, (message + "\n").encode())
        _report(report_fd, "E" + message)
    os._exit(1)
