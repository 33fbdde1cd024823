"""What ``status`` and ``--show-config`` print (functions of a Starter).

The status table keeps BOINC's columns; a command that can't run on this
host (not in bin/ or PATH, an ops script or its interpreter missing) gets a
``[not provided: why]`` note at the end of its line.
"""

from . import launch
from .runstate import interpret_period


def status(starter):
    """BOINC is ENABLED|DISABLED; verbose: a table of daemons and of tasks."""
    print("BOINC is " + starter.enabled_word())
    if not starter.verbose:
        return
    print()
    print("DAEMON  pid  status      lockfile disabled  commandline")
    for n, daemon in enumerate(starter.daemons, 1):
        job = starter.job(daemon, True)
        pid = launch.read_pid(job.pid_path)
        running = ("           " if not pid else
                   " running   " if launch.is_running(pid) else "NOT RUNNING")
        lock = {True: " locked ", False: "UNLOCKED", None: "   ?    "}[
            launch.is_locked(job.lock_path)]
        print(" ".join(["  %2d" % n, " %5d" % pid, running, lock,
                        _disabled(daemon), " ", daemon.cmd]) + _note(starter, daemon))
    print()
    print("TASK       last run       period          next run        "
          "lock file disabled  commandline")
    for n, task in enumerate(starter.tasks, 1):
        entry = starter.state.lookup(task.cmd)
        last_run = launch.timestamp(entry.last_run) if entry.last_run else "?"
        try:
            due = entry.last_run + interpret_period(task.period)
            next_run = "NOW" if due <= starter.now else launch.timestamp(due)
        except ValueError:
            next_run = "bad period"
        lock = {True: " LOCKED ", False: "unlocked", None: "   ?    "}[
            launch.is_locked(starter.job(task, False).lock_path)]
        print(" ".join(["  %2d" % n, last_run.center(20), task.period.ljust(10),
                        next_run.center(20), lock, _disabled(task), " ",
                        task.cmd]) + _note(starter, task))


def _disabled(entry):
    return " yes    " if entry.disabled else " no     "


def _note(starter, entry):
    reason = starter.not_provided(entry)
    return "  [not provided: %s]" % reason if reason else ""


def show_config(starter):
    """The daemons and tasks of config.xml and where their files go."""
    cfg = starter.cfg
    print("project dir:    %s" % starter.project_dir)
    print("config file:    %s" % cfg.path)
    print("run state file: %s" % starter.state.path)
    print("main host:      %s (this host: %s)" % (cfg.this_host, starter.host))
    for kind in ("bin", "log", "pid", "tmp"):
        print("%-15s %s" % (kind + " dir:", cfg.dir(kind)))
    for title, entries, daemon in (("DAEMONS", cfg.daemons, True),
                                   ("TASKS", cfg.tasks, False)):
        print()
        print(title)
        for entry in entries:
            job = starter.job(entry, daemon)
            flags = [name for name in ("disabled", "use_shell", "always_run",
                                       "silent_start") if getattr(entry, name, False)]
            print("  %s" % entry.cmd)
            print("      host %s%s%s" % (entry.host or cfg.this_host,
                                         "" if daemon else ", period " + entry.period,
                                         "".join(", " + f for f in flags)))
            print("      output %s, lock %s%s" % (job.out_path, job.lock_path,
                                                 ", pid " + job.pid_path if daemon else ""))
