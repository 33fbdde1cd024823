"""Which daemons of config.xml run, as the status page and check_project see it.

A daemon started by bin/start (see :mod:`sched.start`) has a pid file and
holds an fcntl lock on its lock file in ``pid_HOST/`` for as long as it
runs.  It counts as running when the pid file names a live process and
that process holds the lock (a pid file left behind by a daemon that died
names a process that may since be some other program).  On another host
the process can't be looked at from here: its status is "unknown".
The enabled flag is ``run_state_HOST.xml``'s (bin/start sets it, bin/stop
clears it).
"""

import os
import re
from dataclasses import dataclass

from .. import paths
from ..start import launch
from ..start.runstate import RunState

RUNNING, NOT_RUNNING, DISABLED, UNKNOWN = "running", "not running", "disabled", "unknown"


@dataclass
class DaemonStatus:
    host: str
    cmd: str
    status: str             # RUNNING, NOT_RUNNING, DISABLED, UNKNOWN
    pid: int = 0
    pid_file: str = ""
    enabled: bool = True    # the project is ENABLED on that host (run_state)

    @property
    def display(self):
        return command_display(self.cmd)


def command_display(cmd):
    """The command up to its first option, and its --app if any (as BOINC's
    server_status shows it: ``sample_bitwise_validator (example_app)``)."""
    prog = cmd.split(" -")[0].strip()
    m = re.search(r"-app\s+(\S+)", cmd)
    return "%s (%s)" % (prog, m.group(1)) if m else prog


def host_dir(cfg, kind, host):
    """``pid_HOST`` etc. of any host (``<pid_HOST_dir>`` overrides, as bin/start)."""
    name = "%s_%s" % (kind, host)
    return cfg.get(name + "_dir") or cfg.project_path(name)


def files_of(cfg, daemon, host):
    """(pid file, lock file) of a daemon, named as bin/start names them."""
    base = launch.base_name(daemon.cmd)
    if daemon.lock_file:
        lock = daemon.lock_file
    elif daemon.output and not daemon.output.startswith("/dev/"):
        lock = daemon.output + ".lock"
    else:
        lock = base + ".lock"
    pid_dir = host_dir(cfg, "pid", host)
    return (os.path.join(pid_dir, daemon.pid_file or base + ".pid"),
            os.path.join(pid_dir, lock))


def run_state_enabled(cfg, host):
    path = cfg.project_path("run_state_%s.xml" % host)
    if not os.path.exists(path):
        return False
    return RunState.read(path).enabled


def daemon_status(cfg):
    """A :class:`DaemonStatus` for every ``<daemon>`` of config.xml."""
    here = paths.short_hostname()
    enabled = {}
    out = []
    for daemon in cfg.daemons:
        host = daemon.host or cfg.this_host
        short = host.split(".")[0]
        if short not in enabled:
            enabled[short] = run_state_enabled(cfg, short)
        pid_file, lock_file = files_of(cfg, daemon, short)
        pid = launch.read_pid(pid_file)
        if daemon.disabled:
            status = DISABLED
        elif short != here:
            status = UNKNOWN
        else:
            status = NOT_RUNNING
            if pid and launch.is_running(pid):
                holder = launch.lock_holder(lock_file)
                if holder is None or holder == pid:
                    status = RUNNING
        out.append(DaemonStatus(host=short, cmd=daemon.cmd, status=status, pid=pid,
                                pid_file=pid_file, enabled=enabled[short]))
    return out


def servers_status(cfg):
    """BOINC's pseudo-daemons: the scheduler and the upload server are up
    unless stop_sched / stop_upload exist; downloads are static files."""
    host = cfg.this_host.split(".")[0]
    return [
        DaemonStatus(host, "Scheduler", NOT_RUNNING if os.path.exists(
            cfg.project_path("stop_sched")) else RUNNING),
        DaemonStatus(host, "Upload server", NOT_RUNNING if os.path.exists(
            cfg.project_path("stop_upload")) else RUNNING),
        DaemonStatus(host, "Download server", RUNNING),
    ]
