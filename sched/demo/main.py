"""``scripts/demo [options]``: set up a demo project, run real jobs, keep it running.

One run: make the project (``bin/make_project``) with its database on a
private MariaDB server and its URLs on a private Apache, both inside the
project directory and on 127.0.0.1; add the sample app (a wrapped program,
``samples/wrapper``) and a volunteer account; start the daemons
(``bin/start``); submit a batch of jobs; run the real BOINC client until
every job is validated and assimilated, showing progress; print the
outcome, and last the two lines ``MASTER_URL=...`` and ``AUTHENTICATOR=...``.
The project keeps running; ``scripts/demo --stop`` stops everything the demo
started (client, daemons, Apache, MariaDB) and keeps the files.

A second run reuses the project (starting what is not running) and runs a
new batch; options not given keep their earlier values.  A project left
half-made by an interrupted run, or changed options (``--port`` ...),
make the run stop the old one and start afresh; so does ``--recreate``.

Where the project lives: started by root, Apache's children run as
www-data and the private MariaDB as mysql, and both must enter the project
directory.  Root's home is closed to them (``/root`` is 0700), so root's
default is ``/var/lib/pyboinc/demo``; anyone else's is ``~/projects/demo``
(then the servers run as that user).  A ``--project_root`` they can't reach
is refused before anything is made.
"""

import contextlib
import fcntl
import glob
import io
import json
import os
import pwd
import secrets
import shutil
import sys
import time
import urllib.request

from .. import accounts, apache, cli, config, schema, states
from .. import db as dbmod
from ..errors import BoincError
from ..passwd import md5_hex
from ..tools import make_project
from . import app, procs
from .client import FILES_UPLOADED, Client
from .mariadb import PrivateMariaDB
from .web import PrivateWeb, SystemWeb

NAME = "demo"
LONG_NAME = "pyboinc demo"
STATE_FILE = "demo.json"
DEFAULT_PORT = 8780
DEFAULT_DB_NAME = "pyboinc_demo"
PROJECT_DB_USER = "boincadm"
DEMO_EMAIL = "demo@example.com"
DEMO_USER_NAME = "Demo volunteer"
ROOT_DEFAULT_DIR = "/var/lib/pyboinc/demo"
NUDGE_AFTER = 10          # seconds without progress before asking the client for an RPC


def say(text=""):
    print(("demo: " + text) if text else "")
    sys.stdout.flush()


def default_root():
    if os.geteuid() == 0:
        return ROOT_DEFAULT_DIR
    return os.path.join(pwd.getpwuid(os.geteuid()).pw_dir, "projects", NAME)


def _parser():
    p = cli.ArgumentParser(
        prog="scripts/demo",
        description="Set up and run a demo BOINC project on this machine: private "
        "MariaDB and Apache on 127.0.0.1, the sample app, real jobs run by the real "
        "BOINC client.  Ends with MASTER_URL=... and AUTHENTICATOR=...; the project "
        "keeps running until 'scripts/demo --stop'.")
    p.add("project_root", metavar="DIR",
          help="the project directory (default %s as root, else ~/projects/%s)"
          % (ROOT_DEFAULT_DIR, NAME))
    p.add("port", type=int, metavar="N",
          help="the web server's port on 127.0.0.1 (default %d; 80 with --system_apache)"
          % DEFAULT_PORT)
    p.add("db_port", type=int, metavar="N",
          help="the private MariaDB's port on 127.0.0.1 (default: PORT+1)")
    p.add("db_host", metavar="HOST[:PORT]",
          help="use this existing MariaDB server instead of a private one")
    p.add("db_user", metavar="USER", help="with --db_host: an account that may create "
          "the database (the project uses it)")
    p.add("db_passwd", metavar="PASSWD", help="with --db_host: its password")
    p.add("db_name", metavar="NAME", help="the database (default %s)" % DEFAULT_DB_NAME)
    p.add("system_apache", action="store_true", default=None,
          help="serve the project with the system's Apache (root; writes "
          "/etc/apache2/conf-available/pyboinc-%s.conf) instead of a private one" % NAME)
    p.add("fcgi", action="store_true", default=None,
          help="run the scheduler and upload handler under FastCGI (mod_fcgid)")
    p.add("jobs", type=int, default=10, metavar="N", help="jobs in the batch (default 10)")
    p.add("timeout", type=int, default=900, metavar="SECONDS",
          help="give up waiting for the jobs after this long (default 900)")
    p.add("recreate", action="store_true",
          help="delete the demo project and start afresh (options not given take their "
          "defaults, not the previous run's values)")
    p.add("stop", action="store_true",
          help="stop everything the demo started (client, daemons, Apache, MariaDB); "
          "the files stay")
    return p


# ---------------------------------------------------------------- state

class State:
    """``PROJECT/demo.json``: what the demo made, so later runs can reuse or undo it."""

    def __init__(self, root, settings, complete=False, batches=0, db_created=False):
        self.root, self.settings = root, settings
        self.complete, self.batches, self.db_created = complete, batches, db_created

    @classmethod
    def load(cls, root):
        try:
            with open(os.path.join(root, STATE_FILE)) as f:
                data = json.load(f)
            return cls(root, data["settings"], data.get("complete", False),
                       data.get("batches", 0), data.get("db_created", False))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            # unreadable: treat as a half-made demo (it will be recreated)
            return cls(root, {}, complete=False)

    def save(self):
        path = os.path.join(self.root, STATE_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(settings=self.settings, complete=self.complete,
                           batches=self.batches, db_created=self.db_created), f, indent=1)
            f.write("\n")
        os.replace(tmp, path)

    @property
    def private_db(self):
        return not self.settings.get("db_host")

    def mariadb(self):
        return PrivateMariaDB(os.path.join(self.root, "mysql"), self.settings.get("db_port", 0))

    def web(self):
        if self.settings.get("system_apache"):
            return SystemWeb(self.root, NAME, "fcgi" if self.settings.get("fcgi") else "cgi")
        return PrivateWeb(self.root, NAME, self.settings.get("port", 0))

    @property
    def master_url(self):
        return url_base(self.settings["port"]) + NAME + "/"


def url_base(port):
    return "http://127.0.0.1%s/" % ("" if port == 80 else ":%d" % port)


def resolve_settings(opts, prev):
    """The run's settings: the options given, else the previous run's, else defaults."""
    prev = prev or {}

    def pick(name, default=None):
        value = getattr(opts, name)
        return value if value is not None else prev.get(name, default)

    system_apache = bool(pick("system_apache", False))
    port = opts.port if opts.port is not None else (
        prev.get("port") if prev and bool(prev.get("system_apache")) == system_apache
        else (80 if system_apache else DEFAULT_PORT))
    s = dict(port=port, system_apache=system_apache, fcgi=bool(pick("fcgi", False)),
             db_name=pick("db_name", DEFAULT_DB_NAME))
    if opts.db_host or (prev.get("db_host") and opts.db_port is None):
        s["db_host"] = pick("db_host")
        s["db_user"] = pick("db_user") or pwd.getpwuid(os.geteuid()).pw_name
    else:
        s["db_port"] = pick("db_port") or (port + 1 if 1024 <= port < 65535 else DEFAULT_PORT + 1)
        if s["db_port"] == port:
            raise BoincError("--port and --db_port are both %d; choose two ports" % port)
    schema._check_name(s["db_name"])
    return s


def describe_changes(old, new):
    keys = sorted(set(old) | set(new))
    return ", ".join("%s %s -> %s" % (k, old.get(k), new.get(k))
                     for k in keys if old.get(k) != new.get(k))


# ---------------------------------------------------------------- checks

def check_reachable(root, private_db):
    """Started by root, Apache (www-data) and MariaDB (mysql) must enter the
    project directory; refuse a place they can't reach before making anything."""
    if os.geteuid() != 0:
        return
    existing = root
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    users = [apache.httpd_user() or "www-data"] + (["mysql"] if private_db else [])
    for user in users:
        if not procs.user_can_enter(user, existing):
            raise BoincError(
                "%s: the user %s (%s) can't enter %s, so it can't reach the project; "
                "choose a --project_root every user can enter (the default is %s)" % (
                    root, user, "Apache's children" if user != "mysql" else "MariaDB",
                    procs.first_closed_dir(user, existing), ROOT_DEFAULT_DIR))
    # the interpreter the project's programs will name in their #! line
    venv = os.path.dirname(os.path.dirname(sys.executable))
    user = users[0]
    if not procs.user_can_enter(user, sys.executable):
        raise BoincError("%s can't run %s (the project's programs need it); put the "
                         "virtualenv where every user can enter: PYBOINC_VENV=DIR scripts/demo"
                         % (user, venv))


@contextlib.contextmanager
def demo_lock(root):
    """One scripts/demo at a time: a lock on the directory that holds the
    project, or on its nearest existing ancestor (a lock file would outlive
    us; a directory's lock doesn't, and nothing is made before the checks)."""
    parent = os.path.dirname(root)
    while not os.path.isdir(parent):
        parent = os.path.dirname(parent)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BoincError("another scripts/demo is running in %s; wait for it to end"
                             % parent) from None
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------- making

def make_files(root, settings, db_passwd):
    """bin/make_project (without the database: its server may live inside)."""
    if settings.get("db_host"):
        db_host, db_user = settings["db_host"], settings["db_user"]
    else:
        db_host, db_user = "127.0.0.1:%d" % settings["db_port"], PROJECT_DB_USER
    argv = ["--no_query", "--no_db", "--url_base", url_base(settings["port"]),
            "--project_root", root, "--db_host", db_host, "--db_user", db_user,
            "--db_passwd", db_passwd, "--db_name", settings["db_name"]]
    if settings.get("fcgi"):
        argv.append("--fcgi")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = make_project.main(argv + [NAME, LONG_NAME])
    if status:
        raise BoincError("make_project failed: %s" % out.getvalue().strip()[-300:])
    with open(os.path.join(root, "make_project.out"), "w") as f:
        f.write(out.getvalue())


def make_database(state, cfg):
    """The project's database (and, on the private server, its account)."""
    if state.private_db:
        server = state.mariadb()
        say("starting a private MariaDB server on 127.0.0.1:%d (data in %s)"
            % (server.port, server.data))
        server.initialize()
        server.start()
        server.make_account(cfg.db_user, cfg.db_passwd, cfg.db_name)
    admin = dbmod.Database("", cfg.db_user, cfg.db_passwd, cfg.db_host,
                           setting="--db_host/--db_user/--db_passwd").connect()
    try:
        if not state.private_db:
            say("making database %s on %s" % (cfg.db_name, cfg.db_host))
        schema.create_database(admin, cfg.db_name)
        state.db_created = True
        state.save()
    finally:
        admin.close()
    db = dbmod.connect(cfg)
    try:
        schema.load_schema(db)
    finally:
        db.close()
    with open(os.path.join(state.root, "db_revision"), "w") as f:
        f.write("%d\n" % make_project.DB_REVISION)


def demo_user(db):
    """The volunteer account the client attaches with (made once)."""
    user = accounts.lookup_email(db, DEMO_EMAIL)
    if user is None:
        passwd = secrets.token_hex(12)          # nobody logs in with it: the key is enough
        user = accounts.make_user(db, DEMO_EMAIL, DEMO_USER_NAME, md5_hex(passwd + DEMO_EMAIL))
        if user is None:
            raise BoincError("can't make the demo account %s: the name or e-mail is taken"
                             % DEMO_EMAIL)
    return user


def create(root, settings, db_passwd=""):
    """A new demo project in ``root``; its state, complete.  ``db_passwd``:
    of the existing server's account (a private server's is generated)."""
    if not settings.get("db_host"):
        db_passwd = secrets.token_hex(16)       # lives in config.xml only
    say("making the project in %s" % root)
    make_files(root, settings, db_passwd)
    state = State(root, settings)
    state.save()
    try:
        cfg = config.load(root)
        make_database(state, cfg)
        if os.geteuid() == 0:
            # BOINC assumes Apache's user is in the project owner's group; with
            # root owning the project, give www-data the dirs it writes into
            apache.share_with_httpd(root)
        say("adding the sample app '%s' (samples/wrapper) and signing its files" % app.APP)
        app.install(root)
        db = dbmod.connect(config.load(root))
        try:
            demo_user(db)
        finally:
            db.close()
        state.complete = True
        state.save()
    except BaseException as exc:
        stop_services(state, quiet=True)
        if isinstance(exc, BoincError):
            raise BoincError("%s (the next run of scripts/demo starts the project afresh)"
                             % exc) from None
        raise
    return state


def teardown(state):
    """Stop and delete a demo project (and the database it made elsewhere)."""
    stop_services(state, quiet=True)
    if state.db_created and not state.private_db:
        with contextlib.suppress(BoincError, OSError):
            cfg = config.load(state.root)
            admin = dbmod.Database("", cfg.db_user, cfg.db_passwd, cfg.db_host).connect()
            admin.execute("DROP DATABASE IF EXISTS `%s`" % cfg.db_name)
            admin.close()
    shutil.rmtree(state.root)


# ---------------------------------------------------------------- running

def ensure_running(state):
    """Database, web server and daemons up; the master URL answering."""
    if state.private_db:
        db = state.mariadb()
        if not db.running():
            say("starting the private MariaDB server on 127.0.0.1:%d" % db.port)
            db.start()
    web = state.web()
    if web.kind == "system":
        say("adding the project to the system's Apache (port %d) and reloading it"
            % state.settings["port"])
        web.start()
    elif not web.running():
        say("starting the private Apache on 127.0.0.1:%d" % web.port)
        web.start()
    say("starting the daemons (bin/start)")
    app.run_tool(state.root, "start")
    check_master_url(state.master_url)


def check_master_url(url):
    error = None
    for _ in range(20):
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if 'rel="boinc_scheduler"' in r.read().decode("utf-8", "replace"):
                    return
                error = "no scheduler link on the page"
        except OSError as exc:
            error = str(exc)
        time.sleep(0.5)
    raise BoincError("the master URL %s doesn't answer as a BOINC project: %s" % (url, error))


def running_daemons(root):
    """The project's daemons that are running (by their pid files)."""
    pid_dir = config.load(root).dir("pid")
    return [p for p in glob.glob(os.path.join(pid_dir, "*.pid"))
            if procs.alive(procs.read_pid(p))]


def stop_services(state, quiet=False):
    """Stop the client, the daemons, the web server and the private MariaDB."""
    stopped = []
    client = Client(os.path.join(state.root, "client"))
    pid = procs.read_pid(client.path("boinc.pid"))
    if procs.ours(pid, "boinc"):
        client.stop_leftover()
        stopped.append("BOINC client")
    if os.path.exists(os.path.join(state.root, "bin", "stop")):
        try:
            running = running_daemons(state.root)
            app.run_tool(state.root, "stop")
            if running:
                stopped.append("daemons")
        except BoincError as exc:
            if not quiet:
                say("warning: %s" % exc)
    web = state.web()
    try:
        if web.stop():
            stopped.append("private Apache" if web.kind == "private" else
                           "the project's site in the system's Apache")
    except BoincError as exc:
        if not quiet:
            say("warning: %s" % exc)
    # by its pid file: also a server an unreadable demo.json no longer names
    if state.mariadb().stop():
        stopped.append("private MariaDB")
    return stopped


class Progress:
    """Counts for one batch, from the database and the client."""

    def __init__(self, db, appid, batch):
        self.db, self.appid, self.batch = db, appid, batch

    def counts(self, client_tasks):
        wu = self.db.query_one(
            "SELECT COUNT(*) AS n, SUM(assimilate_state = %s) AS assimilated, "
            "SUM(canonical_resultid > 0) AS validated FROM workunit "
            "WHERE appid = %s AND batch = %s",
            (states.ASSIMILATE_DONE, self.appid, self.batch))
        res = self.db.query_one(
            "SELECT COUNT(*) AS n, SUM(r.sent_time > 0) AS sent, "
            "SUM(r.server_state = %s AND r.outcome = %s) AS reported, "
            "SUM(r.validate_state = %s) AS valid "
            "FROM result r JOIN workunit w ON w.id = r.workunitid "
            "WHERE w.appid = %s AND w.batch = %s",
            (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_SUCCESS,
             states.VALIDATE_STATE_VALID, self.appid, self.batch))
        c = dict(n=wu["n"], assimilated=wu["assimilated"], validated=wu["validated"],
                 results=res["n"], sent=res["sent"], reported=res["reported"],
                 valid=res["valid"])
        c = {k: int(v or 0) for k, v in c.items()}       # SUM() of no rows is NULL
        c["running"] = sum(1 for t in client_tasks if t["running"])
        # a result just reported may still be listed by the client: never more than sent
        c["uploaded"] = min(c["sent"], c["reported"] + sum(
            1 for t in client_tasks if t["state"] == FILES_UPLOADED))
        return c

    @staticmethod
    def line(c, elapsed):
        return ("[%4ds] results: sent %d/%d, running %d, uploaded %d, reported %d, valid %d"
                " | jobs: validated %d/%d, assimilated %d/%d" % (
                    elapsed, c["sent"], c["results"], c["running"], c["uploaded"],
                    c["reported"], c["valid"], c["validated"], c["n"], c["assimilated"],
                    c["n"]))


def run_client(state, cfg, user, batch, timeout):
    """The real client attached with the demo account until the batch is assimilated."""
    db = dbmod.connect(cfg)
    try:
        appid = db.scalar("SELECT id FROM app WHERE name = %s", (app.APP,))
        progress = Progress(db, appid, batch)
        client = Client(os.path.join(state.root, "client"))
        say("starting the BOINC client (%s, data in %s) and attaching it as '%s'"
            % ("/usr/bin/boinc", client.dir, user["name"]))
        client.start()
        try:
            client.attach(state.master_url, user["authenticator"])
            start = last_change = time.monotonic()
            last = None
            while True:
                c = progress.counts(client.tasks(state.master_url))
                now = time.monotonic()
                if c != last:
                    say(Progress.line(c, now - start))
                    last, last_change = c, now
                if c["n"] and c["assimilated"] >= c["n"]:
                    return int(now - start)
                if now - start > timeout:
                    raise BoincError(
                        "the jobs were not done after %ds (%s); see the client's log %s and "
                        "the daemons' logs in %s" % (
                            timeout, Progress.line(c, now - start).split("] ", 1)[1],
                            client.path("stdoutdae.txt"), cfg.dir("log")))
                if not client.running():
                    raise BoincError("the BOINC client exited: %s" % client.log_tail())
                if now - last_change > NUDGE_AFTER:
                    client.update(state.master_url)
                    last_change = now
                time.sleep(1)
        finally:
            client.stop()
    finally:
        db.close()


def outcome(state, cfg, batch, elapsed):
    """Say how the batch ended; a BoincError if any job failed."""
    db = dbmod.connect(cfg)
    try:
        appid = db.scalar("SELECT id FROM app WHERE name = %s", (app.APP,))
        rows = db.query("SELECT name, canonical_resultid, error_mask FROM workunit "
                        "WHERE appid = %s AND batch = %s ORDER BY id", (appid, batch))
    finally:
        db.close()
    good = [r for r in rows if r["canonical_resultid"] and not r["error_mask"]]
    bad = [r for r in rows if r not in good]
    results = os.path.join(state.root, app.RESULTS_DIR)
    say("batch %d: %d jobs done in %ds by the real client: %d validated (two results "
        "agreed each), %d failed" % (batch, len(rows), elapsed, len(good), len(bad)))
    if good:
        first = os.path.join(results, good[0]["name"])
        say("outputs (one file per job) in %s/, e.g. %s:" % (results, good[0]["name"]))
        try:
            with open(first) as f:
                top = f.read().splitlines()[:5]
        except OSError as exc:
            raise BoincError("output %s missing: %s" % (first, exc.strerror)) from None
        for line in top:
            print("        " + line)
    if bad:
        raise BoincError("%d of %d jobs failed (%s); see %s/errors and the client's log %s"
                         % (len(bad), len(rows), ", ".join(r["name"] for r in bad[:3]),
                            results, os.path.join(state.root, "client", "stdoutdae.txt")))


def stop_command(root):
    state = State.load(root)
    if state is None:
        say("no demo project in %s: nothing to stop" % root)
        return 0
    stopped = stop_services(state)
    say("stopped %s; the project's files stay in %s (scripts/demo starts it again)"
        % (", ".join(stopped) or "nothing (nothing was running)", root))
    return 0


def run(root, opts):
    t0 = time.monotonic()
    state = State.load(root)
    if state is None and os.path.lexists(root):
        if os.path.isdir(root) and not os.path.islink(root) and not os.listdir(root):
            os.rmdir(root)
        else:
            raise BoincError("%s exists and is not a demo project (no %s); remove it or "
                             "choose another --project_root" % (root, STATE_FILE))
    # --recreate starts from the defaults; otherwise unset options keep their values
    settings = resolve_settings(opts, state.settings if state and not opts.recreate else None)
    if settings["system_apache"] and os.geteuid() != 0:
        raise BoincError("--system_apache needs root: it writes /etc/apache2 and reloads "
                         "Apache (without it, the demo runs an Apache of its own)")
    check_reachable(root, not settings.get("db_host"))
    if state is not None:
        why = ("--recreate" if opts.recreate else
               "it was left half-made" if not state.complete else
               "settings changed: " + describe_changes(state.settings, settings)
               if state.settings != settings else None)
        if why:
            say("starting afresh (%s): stopping and deleting the demo project in %s"
                % (why, root))
            teardown(state)
            state = None
    if state is None:
        if settings.get("db_host") is None:
            procs.check_port(settings["db_port"], "private MariaDB", "--db_port")
        if not settings.get("system_apache"):
            procs.check_port(settings["port"], "private Apache", "--port")
        state = create(root, settings, opts.db_passwd or "")
    else:
        say("reusing the demo project in %s" % root)
    ensure_running(state)
    cfg = config.load(root)
    db = dbmod.connect(cfg)
    try:
        user = demo_user(db)
    finally:
        db.close()
    state.batches += 1
    state.save()
    batch = state.batches
    say("submitting batch %d: %d jobs of '%s' (bin/stage_file, bin/create_work)"
        % (batch, opts.jobs, app.APP))
    app.submit(root, batch, opts.jobs)
    elapsed = run_client(state, cfg, user, batch, opts.timeout)
    outcome(state, cfg, batch, elapsed)
    stop_hint = "scripts/demo --stop" + (
        "" if root == os.path.abspath(default_root()) else " --project_root " + root)
    say("done in %ds.  The project keeps running: web pages %s, logs in %s; "
        "stop it with: %s" % (time.monotonic() - t0, state.master_url, cfg.dir("log"),
                              stop_hint))
    print("MASTER_URL=%s" % state.master_url)
    print("AUTHENTICATOR=%s" % user["authenticator"])
    sys.stdout.flush()
    return 0


def main(argv):
    opts = _parser().parse_args(argv)
    os.umask(0o022)         # directories made here must be enterable by Apache's user
    root = os.path.abspath(os.path.expanduser(opts.project_root or default_root()))
    if opts.jobs < 1:
        raise BoincError("--jobs %d: at least one job, please" % opts.jobs)
    with demo_lock(root):
        if opts.stop:
            return stop_command(root)
        return run(root, opts)


def run_main():
    cli.run(main)
