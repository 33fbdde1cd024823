"""``bin/start``, ``bin/stop``, ``bin/status``: run a project's daemons and tasks.

One program; what it does by default follows the name it was called by
(``start`` enables, ``stop`` disables, ``status`` shows), as BOINC's.  The
``<daemons>`` and ``<tasks>`` of config.xml meant for this host are started
detached (see :mod:`.launch`), with logs in ``log_HOST/``, pid and lock files
in ``pid_HOST/``, cwd ``tmp_HOST/``; ``run_state_HOST.xml`` keeps the
enabled flag and when each task last ran (see :mod:`.runstate`).  On the
project's main host the same command is then run on every other ``<host>``
named in config.xml over ssh (``<ssh_exec>``, default /usr/bin/ssh).

``start`` waits 5 seconds (for the feeder to set up shared memory) before it
removes ``stop_sched``; the environment variable ``PYBOINC_START_DELAY``
(seconds) changes that wait, e.g. to 0 in tests.
"""

import getpass
import glob
import os
import shlex
import subprocess
import sys
import time

from .. import cli, config, paths
from ..errors import BoincError, ProjectDirError
from . import launch, report
from .runstate import RunState, interpret_period

START_DELAY_ENV = "PYBOINC_START_DELAY"
DEFAULT_START_DELAY = 5.0
DEFAULT_COMMANDS = {"start": "enable", "stop": "disable", "status": "status"}
STOP_DAEMONS, STOP_SCHED = "stop_daemons", "stop_sched"
CACHED_HOME_PAGE = os.path.join("html", "cache", "65", "index.php")

HELP = """usage: %(prog)s [options] [command]
Run, stop or show this host's daemons and periodic tasks of config.xml.

commands (by default the one the program's name says):
  -e, --enable, --start   mark the project ENABLED and start its daemons
  -c, --cron              when ENABLED: start daemons that aren't running
                          and run the tasks that are due (crontab: every
                          5 minutes); when DISABLED: only <always_run> tasks
  --cron-tasks            the tasks part of --cron only
  -d, --disable, --stop, -k, --kill
                          mark the project DISABLED and stop its daemons
  -s, --status            ENABLED or DISABLED; with -v a table of daemons
                          and tasks
  --show-config           the daemons and tasks of config.xml, their files

options:
  -q, --quiet             say little, even on a terminal
  -v, --verbose           say what is done, even when not on a terminal
  --config-file=FILE      read FILE instead of the project's config.xml
  --run-state-file=FILE   use FILE instead of run_state_HOST.xml
  --fork-delay=SECONDS    pause after starting each daemon (default 0.1)
  --ignore-timestamps     run every task now, due or not
  --prune-run-state       accepted; stale task entries are always pruned

environment: BOINC_PROJECT_DIR (the project directory); %(delay)s
(seconds start waits before removing stop_sched; default 5)
"""


def make_parser(prog):
    parser = cli.ArgumentParser(prog=prog, add_help=False)
    commands = (("enable", "-e", "--enable", "--start"), ("cron", "-c", "--cron"),
                ("cron_tasks", "--cron-tasks"),
                ("disable", "-d", "--disable", "--stop", "-k", "--kill"),
                ("status", "-s", "--status"), ("show_config", "--show-config"))
    for name, *flags in commands:
        parser.add_argument(*flags, dest="command", action="store_const", const=name)
    parser.add_argument("-q", "--quiet", dest="verbose", action="store_const", const=False)
    parser.add_argument("-v", "--verbose", dest="verbose", action="store_const", const=True)
    parser.add_argument("-h", "--help", "-?", action="store_true")
    parser.add_argument("--config-file")
    parser.add_argument("--run-state-file")
    parser.add_argument("--fork-delay", type=float, default=0.1)
    parser.add_argument("--ignore-timestamps", action="store_true")
    parser.add_argument("--prune-run-state", action="store_true")  # always done
    return parser


def find_project_dir(argv0, config_file=None):
    """Where config.xml is, looked for as BOINC's start does.

    ``$BOINC_PROJECT_DIR``; else the first of ``.``, ``..``, ``../..`` and
    the directory above the program's own that holds config.xml.
    """
    env = os.environ.get("BOINC_PROJECT_DIR")
    if env:
        return os.path.abspath(env)
    candidates = [os.curdir, os.pardir, os.path.join(os.pardir, os.pardir),
                  os.path.join(os.path.dirname(argv0), os.pardir)]
    for candidate in candidates:
        if (os.path.isfile(os.path.join(candidate, paths.CONFIG_FILE))
                and not paths.is_source_tree(candidate)):
            return os.path.abspath(candidate)
    if config_file:
        return os.path.dirname(os.path.abspath(config_file))
    raise ProjectDirError("can't find config.xml in ., .., ../.. or %s/..: run me from "
                          "the project directory or set BOINC_PROJECT_DIR"
                          % (os.path.dirname(os.path.abspath(argv0)) or "."))


def _start_delay():
    text = os.environ.get(START_DELAY_ENV)
    if not text:
        return DEFAULT_START_DELAY
    try:
        return max(0.0, float(text))
    except ValueError:
        raise BoincError("%s=%r is not a number of seconds" % (START_DELAY_ENV, text)) from None


def _ensure_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise BoincError("can't create %s: %s" % (path, exc.strerror)) from None
    return path


def _remove(path, verbose_note=None):
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        sys.stderr.write("Couldn't unlink %s: %s\n" % (path, exc.strerror))
        return
    if verbose_note:
        print(verbose_note)


def _write_stop(path):
    """A trigger file: daemons (stop_daemons) or the scheduler (stop_sched) stop."""
    try:
        with open(path, "w") as f:
            f.write("<stop/>\n")
    except OSError as exc:
        raise BoincError("can't write %s: %s" % (path, exc.strerror)) from None


class Starter:
    """One run of start/stop/status on this host."""

    def __init__(self, cfg, opts, verbose, run_state_path):
        # The run state is read once start.lock is ours (see main).
        self.cfg = cfg
        self.opts = opts
        self.verbose = verbose
        self.now = int(time.time())
        self.status = 0
        self.host = paths.short_hostname()
        self.project_dir = cfg.project_dir
        self.bin_dir = cfg.dir("bin")
        self.tmp_dir = _ensure_dir(cfg.dir("tmp"))
        self.log_dir = _ensure_dir(cfg.dir("log"))
        self.pid_dir = _ensure_dir(cfg.dir("pid"))
        self.start_lock_path = os.path.join(self.pid_dir, "start.lock." + self.host)
        self.daemons = cfg.local_entries(cfg.daemons, self.host)
        self.tasks = cfg.local_entries(cfg.tasks, self.host)
        self.state = RunState(run_state_path)

    def say(self, *words):
        if self.verbose:
            print(*words)

    def warn(self, text):
        sys.stdout.flush()
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def project_path(self, name):
        return os.path.join(self.project_dir, name)

    # -- files of one entry (names as BOINC's start makes them)
    def job(self, entry, daemon):
        base = launch.base_name(entry.cmd)
        output = entry.output
        if entry.lock_file:
            lock = entry.lock_file
        elif output and not output.startswith("/dev/"):
            lock = output + ".lock"
        else:
            lock = base + ".lock"
        return launch.Job(
            cmd=entry.cmd, use_shell=entry.use_shell,
            lock_path=os.path.join(self.pid_dir, lock),
            out_path=os.path.join(self.log_dir, output or base + (".log" if daemon else ".out")),
            pid_path=os.path.join(self.pid_dir, entry.pid_file or base + ".pid") if daemon else "",
            banner=daemon)

    def not_provided(self, entry):
        """Why ``entry``'s command can't run here, or None (shell: not checked)."""
        if entry.use_shell:
            return None
        try:
            words = launch.command_words(entry.cmd)
        except ValueError as exc:
            return "can't split the command: %s" % exc
        return launch.missing_reason(words, self.tmp_dir, self.project_dir)

    def launch(self, entry, daemon, announce, indent):
        """Start one daemon or task unless it is running; report as BOINC's."""
        job = self.job(entry, daemon)
        if launch.is_locked(job.lock_path):
            if self.verbose:
                self.warn(indent + ("Daemon already running: %s" if daemon
                                    else "Task currently running! (%s)") % entry.cmd)
            return
        what = "daemon" if daemon else "task"
        if entry.use_shell:
            self.warn("%sUsing shell encapsulation for: %s" % (indent, entry.cmd))
        elif not self.can_exec(entry, job, what, indent):
            return
        result = launch.spawn(job, self.tmp_dir)
        if result.status == "running":
            if self.verbose:
                self.warn("%s%s already running: %s" % (indent, what.capitalize(), entry.cmd))
        elif result.status == "failed":
            self.warn("%sCouldn't start %s '%s': %s" % (indent, what, entry.cmd, result.message))
        else:
            if announce:
                print("%sStarting %s: %s" % (indent, what, entry.cmd))
            if daemon:
                time.sleep(self.opts.fork_delay)

    def can_exec(self, entry, job, what, indent):
        """Check a command before it is started; say why not, also in its log."""
        try:
            words = launch.command_words(entry.cmd)
        except ValueError as exc:
            reason = "can't split the command: %s" % exc
        else:
            if launch.needs_shell(words):
                self.warn("%sCouldn't start: %s  <use_shell> is required but was not specified"
                          % (indent, entry.cmd))
                return False
            reason = launch.missing_reason(words, self.tmp_dir, self.project_dir)
        if reason:
            self.warn("%sCan't start %s '%s': %s" % (indent, what, entry.cmd, reason))
            launch.note_in_log(job, "Can't execute command: %s: %s" % (entry.cmd, reason))
            return False
        return True

    # -- daemons
    def run_daemons(self, cron=False):
        self.say("Starting daemons")
        _remove(self.project_path(STOP_DAEMONS))
        for daemon in self.daemons:
            if not daemon.disabled:
                announce = self.verbose or (cron and not daemon.silent_start)
                self.launch(daemon, True, announce, "  ")
        return bool(self.daemons)

    def stop_daemons(self):
        self.say("Stopping all daemons")
        _write_stop(self.project_path(STOP_DAEMONS))
        # A pid whose process holds no lock in pid_HOST isn't a daemon we
        # started (a stale pid file, the pid reused since): leave it alone.
        lock_files = set(glob.glob(os.path.join(self.pid_dir, "*")))
        lock_files.update(self.job(d, True).lock_path for d in self.cfg.daemons)
        # Opening and closing start.lock here would drop our own lock on it.
        lock_files.discard(self.start_lock_path)
        holders = set()
        for path in lock_files:
            holder = launch.lock_holder(path)
            if holder is None:
                holders = None
                break
            holders.add(holder)
        stopped = []
        for pid_file in sorted(glob.glob(os.path.join(self.pid_dir, "*.pid"))):
            pid = launch.read_pid(pid_file)
            _remove(pid_file)
            if pid in stopped or pid == os.getpid() or not launch.is_running(pid):
                continue
            if holders is not None and pid not in holders:
                self.warn("  Not signalling pid %d of %s: it holds no lock in %s "
                          "(stale pid file?)" % (pid, os.path.basename(pid_file), self.pid_dir))
                continue
            error = launch.send_hup(pid)
            if error:
                self.warn("Warning: couldn't kill pid %d: %s" % (pid, error))
                continue
            self.say("  Killed process", pid)
            stopped.append(pid)
        for pid in stopped:
            if not launch.is_running(pid):
                continue
            if self.verbose:
                sys.stdout.write("  Waiting for process %d to end: " % pid)
                sys.stdout.flush()
            launch.wait_gone(pid, self._dot if self.verbose else None)
            self.say(" ok")
        if not stopped:
            self.say("  (No processes stopped)")

    def _dot(self):
        sys.stdout.write(".")
        sys.stdout.flush()

    # -- tasks
    def run_tasks(self):
        self.say("Running tasks")
        self.state.forget_seen()
        for task in self.tasks:
            if not task.disabled and (task.always_run or self.state.enabled):
                self.run_task(task)
        self.state.prune()

    def run_task(self, task):
        entry = self.state.lookup(task.cmd)
        try:
            period = interpret_period(task.period)
        except ValueError:
            self.warn('Invalid task period "%s" of task: %s' % (task.period, task.cmd))
            self.status = 1
            return
        if not (self.opts.ignore_timestamps or self.now >= entry.last_run + period):
            self.say("  Not running task because not time yet:", task.cmd)
            return
        self.say("  Running task:", task.cmd)
        entry.last_run = self.now
        self.launch(task, False, False, "    ")

    # -- commands
    def enable(self):
        self.say("Staying in ENABLED mode" if self.state.enabled else "Entering ENABLED mode")
        self.state.enabled = True
        if not self.run_daemons():
            print("No daemons for this host found - check host name in config.xml")
        time.sleep(_start_delay())      # the feeder sets up shared memory
        _remove(self.project_path(STOP_SCHED))
        self.remove_cached_home_page()

    def disable(self):
        self.say("Entering DISABLED mode" if self.state.enabled else "Staying in DISABLED mode")
        self.state.enabled = False
        _write_stop(self.project_path(STOP_SCHED))     # before the feeder goes
        self.stop_daemons()
        self.remove_cached_home_page()

    def cron(self):
        self.say("Verbose cron-start: status ==", self.enabled_word())
        if self.state.enabled:
            self.run_daemons(cron=True)
        self.run_tasks()

    def cron_tasks(self):
        self.say("Verbose cron-start: status ==", self.enabled_word())
        self.run_tasks()

    def enabled_word(self):
        return "ENABLED" if self.state.enabled else "DISABLED"

    def remove_cached_home_page(self):
        path = self.project_path(CACHED_HOME_PAGE)
        _remove(path, "removing " + path)

    # -- other hosts
    def delegate(self, prog, argv):
        """On the main host, run the same command on each other host."""
        if self.cfg.this_host != self.host:
            return
        hosts = []
        for entry in self.cfg.daemons + self.cfg.tasks:
            if entry.host and entry.host != self.host and entry.host not in hosts:
                hosts.append(entry.host)
        ssh = self.cfg.get("ssh_exec") or "/usr/bin/ssh"
        remote_dir = os.path.join(self.cfg.get("project_dir") or self.project_dir, "bin")
        for host in hosts:
            command = [ssh, host, "cd", shlex.quote(remote_dir), "&&", "./" + prog]
            command += [shlex.quote(a) for a in argv] + (["-v"] if self.verbose else [])
            self.say("running ", " ".join(command))
            sys.stdout.flush()
            try:
                subprocess.call(command)
            except OSError as exc:
                self.warn("Couldn't run %s for host %s: %s" % (ssh, host, exc.strerror))
                self.status = 1


def main(argv, argv0=None):
    argv0 = argv0 or sys.argv[0]
    prog = os.path.basename(argv0)
    parser = make_parser(prog)
    opts, extra = parser.parse_known_args(argv)
    if extra:
        parser.error("unrecognized arguments: %s" % " ".join(extra))
    if opts.help:
        sys.stderr.write(HELP % dict(prog=argv0, delay=START_DELAY_ENV))
        if prog in DEFAULT_COMMANDS:
            sys.stderr.write("Called as '%s', the default command is --%s.\n"
                             % (prog, DEFAULT_COMMANDS[prog]))
        return 1
    command = opts.command or DEFAULT_COMMANDS.get(prog)
    if not command:
        raise BoincError('No command specified and script name is not "start", "stop", '
                         'or "status"')
    verbose = opts.verbose if opts.verbose is not None else os.isatty(sys.stdout.fileno())

    try:
        return _run(prog, argv, argv0, opts, command, verbose)
    except OSError as exc:      # whatever the checks above didn't foresee: one line
        where = "%s: " % exc.filename if exc.filename else ""
        raise BoincError("%s%s" % (where, exc.strerror or exc)) from None


def _run(prog, argv, argv0, opts, command, verbose):
    config_file = opts.config_file and os.path.abspath(opts.config_file)
    project_dir = find_project_dir(argv0, config_file)
    if config_file:
        cfg = config.parse_config(config_file, project_dir)
    else:
        cfg = config.load(project_dir)
    user = cfg.get("project_user_name")
    if user and getpass.getuser() != user:
        raise BoincError('The script must be run by user "%s"' % user)
    run_state_path = os.path.abspath(
        opts.run_state_file or os.path.join(cfg.project_dir,
                                            "run_state_%s.xml" % paths.short_hostname()))
    try:
        os.chdir(cfg.project_dir)
    except OSError as exc:
        raise BoincError("can't enter the project directory %s: %s"
                         % (cfg.project_dir, exc.strerror)) from None
    starter = Starter(cfg, opts, verbose, run_state_path)
    os.environ["PATH"] = starter.bin_dir + (
        ":" + os.environ["PATH"] if os.environ.get("PATH") else "")
    os.environ["BOINC_PROJECT_DIR"] = cfg.project_dir   # what the daemons look for

    # Held until we exit: one start/stop/status at a time on this host.
    lock_fd = os.open(starter.start_lock_path, os.O_RDWR | os.O_CREAT, 0o664)
    if not launch.try_lock(lock_fd):
        sys.stderr.write("start is currently running!\n")
        return 1
    starter.state = RunState.read(run_state_path)
    if command in ("status", "show_config"):
        getattr(report, command)(starter)
    else:
        getattr(starter, command)()
    starter.state.write()
    starter.delegate(prog, argv)
    os.close(lock_fd)
    return starter.status


def run():
    cli.run(main)
