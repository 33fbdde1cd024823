"""Shared fixtures: a real MariaDB, and throw-away databases and users on it.

The admin connection defaults to root over the local socket (then root over
TCP on 127.0.0.1 with no password); override with BOINC_TEST_DB_ADMIN_HOST,
BOINC_TEST_DB_ADMIN_USER, BOINC_TEST_DB_ADMIN_PASSWD.  Projects made by tests
use their own DB user, created here, as a real project would.
"""

import os
import secrets

import pytest

from testenv import ROOT, SHARED, TEST_DB_PREFIX  # noqa: F401 (ROOT, SHARED: old users)
from sched import db as dbmod  # noqa: E402


def _admin_candidates():
    host = os.environ.get("BOINC_TEST_DB_ADMIN_HOST")
    user = os.environ.get("BOINC_TEST_DB_ADMIN_USER", "root")
    passwd = os.environ.get("BOINC_TEST_DB_ADMIN_PASSWD", "")
    if host:
        return [dict(host=host, user=user, passwd=passwd)]
    return [dict(host="localhost", user=user, passwd=passwd),
            dict(host="127.0.0.1", user=user, passwd=passwd)]


@pytest.fixture(scope="session")
def admin_db():
    """An administrative connection to the test MariaDB server."""
    errors = []
    for cand in _admin_candidates():
        conn = dbmod.Database("", cand["user"], cand["passwd"], cand["host"])
        try:
            conn.connect()
        except dbmod.DatabaseError as exc:
            errors.append(str(exc))
            continue
        yield conn
        conn.close()
        return
    pytest.fail("no MariaDB reachable for tests (run scripts/setup): " + "; ".join(errors))


@pytest.fixture(scope="session")
def db_account(admin_db):
    """A DB user (host, user, passwd) allowed to create ``boinctest_*`` DBs.

    One user per test session, so that sessions running side by side never
    change each other's password; dropped at the end.
    """
    user, passwd = "boinc_test_" + secrets.token_hex(4), secrets.token_hex(12)
    for host in ("localhost", "127.0.0.1"):
        admin_db.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, passwd))
        admin_db.execute("GRANT ALL PRIVILEGES ON `boinctest\\_%%`.* TO %s@%s", (user, host))
    yield dict(host="127.0.0.1", user=user, passwd=passwd)
    for host in ("localhost", "127.0.0.1"):
        admin_db.execute("DROP USER IF EXISTS %s@%s", (user, host))


@pytest.fixture
def db_name(admin_db, request):
    """A unique, empty-to-begin database name, dropped after the test."""
    name = TEST_DB_PREFIX + secrets.token_hex(4)
    yield name
    admin_db.execute("DROP DATABASE IF EXISTS `%s`" % name)


@pytest.fixture
def fresh_db(admin_db, db_name):
    """A Database connection to a new empty database."""
    admin_db.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4 "
                     "COLLATE utf8mb4_unicode_ci" % db_name)
    conn = dbmod.Database(db_name, admin_db.user, admin_db.passwd, admin_db.host)
    conn.connect()
    yield conn
    conn.close()


# ------------------------------------------------- projects and a web server

def free_port():
    """A TCP port on 127.0.0.1 nobody listens on at the moment."""
    from sched.apache import free_port as _free
    return _free()


class MadeProject(tuple):
    """What the ``make_project`` factory returns: unpacks as ``(dir, config)``."""

    def __new__(cls, dir, config, **info):
        self = super().__new__(cls, (dir, config))
        self.__dict__.update(info, dir=dir, config=config)
        return self

    def url(self, path=""):
        return self.url_base + path


@pytest.fixture
def web_tmp():
    """A fresh directory under /tmp that Apache's children can reach.

    Started as root, Apache runs its children (CGI programs, mod_fcgid
    processes, file serving) as www-data, which can't enter pytest's
    tmp_path (/tmp/pytest-of-root is 0700).  This one is 0755 under /tmp.
    """
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="boinctest-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_project(admin_db, db_account, web_tmp):
    """Factory: run make_project into ``web_tmp`` and return a :class:`MadeProject`.

    ``make_project(name="test", *extra_args, db=True, port=None, share=None)``:
    the project's URLs are ``http://127.0.0.1:PORT/`` with a free ``port``
    (keep it for a private Apache); its database (a ``boinctest_*`` name,
    dropped afterwards) is made by the ``db_account`` user.  When we are
    root, ``share`` (default) gives www-data the directories Apache's
    programs write into (see sched.apache.share_with_httpd).
    Result attributes: dir, config, name, url_base, port, db_name, output.
    """
    import contextlib
    import io

    from sched import apache, config
    from sched.tools import make_project as mp

    made_dbs = []

    def factory(name="test", *extra, db=True, port=None, share=None):
        port = port or free_port()
        url_base = "http://127.0.0.1:%d/" % port
        db_name = TEST_DB_PREFIX + secrets.token_hex(4)
        made_dbs.append(db_name)
        root = os.path.join(web_tmp, name)
        argv = ["--no_query", "--url_base", url_base, "--project_root", root,
                "--db_host", db_account["host"], "--db_user", db_account["user"],
                "--db_passwd", db_account["passwd"], "--db_name", db_name]
        if not db:
            argv.append("--no_db")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = mp.main(argv + list(extra) + [name])
        assert status == 0, out.getvalue()
        if share if share is not None else os.geteuid() == 0:
            apache.share_with_httpd(root)
        return MadeProject(root, config.load(root), name=name, url_base=url_base,
                           port=port, db_name=db_name, output=out.getvalue())

    yield factory
    for name in made_dbs:
        admin_db.execute("DROP DATABASE IF EXISTS `%s`" % name)


@pytest.fixture
def project(make_project):
    """A project made by make_project with defaults (see ``make_project``)."""
    return make_project()


@pytest.fixture
def private_apache(web_tmp):
    """Factory: a private Apache on the project's port serving its URLs.

    ``private_apache(project, mode=None)``: mode None uses the project's own
    NAME.httpd.conf; "cgi" or "fcgi" writes that variant for this server.
    Returns a started sched.apache.PrivateApache; stopped after the test.
    """
    from sched import apache

    started = []

    def factory(proj, mode=None):
        run_dir = os.path.join(web_tmp, "apache%d" % len(started))
        os.makedirs(run_dir)
        conf = os.path.join(proj.dir, "%s.httpd.conf" % proj.name)
        if mode is not None:
            conf = os.path.join(run_dir, "%s.%s.conf" % (proj.name, mode))
            with open(conf, "w") as f:
                f.write(apache.project_conf(proj.dir, proj.name, proj.url_base, mode))
        web = apache.PrivateApache(run_dir, proj.port, [conf])
        started.append(web)
        return web.start()

    yield factory
    for web in started:
        web.stop()


# ------------------------------------------------- real BOINC clients

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: runs a real BOINC client (tens of seconds); in the default run")


@pytest.fixture
def boinc_client():
    """Factory: a started real BOINC client (see tests/boinc_client.py).

    ``boinc_client(name="c1", ncpus=1, log_flags=None, prefs=None, args=(),
    **cc_options)`` returns a started BoincClient in its own data dir; every
    client is stopped (its process group ended) after the test.  The data
    dirs live in a fresh short /tmp dir (a Unix socket path must stay under
    108 bytes), removed afterwards unless BOINC_TEST_KEEP_CLIENTS is set.
    """
    import shutil
    import tempfile

    from boinc_client import BOINC, BoincClient

    if not os.access(BOINC, os.X_OK):
        pytest.fail("%s not installed (run scripts/setup: Debian's boinc-client)" % BOINC)
    base = tempfile.mkdtemp(prefix="boincc-", dir="/tmp")
    clients = {}

    def factory(name="c1", ncpus=1, log_flags=None, prefs=None, args=(), **cc_options):
        if name in clients:
            raise ValueError("client %r already started in this test" % name)
        client = BoincClient(os.path.join(base, name), ncpus=ncpus, options=cc_options,
                             log_flags=log_flags, prefs=prefs, args=args)
        clients[name] = client
        return client.start()

    yield factory
    errors = []
    for client in clients.values():      # every one, even if one fails to stop
        try:
            client.stop()
        except Exception as exc:         # noqa: BLE001 - re-raised below
            errors.append(exc)
    if not os.environ.get("BOINC_TEST_KEEP_CLIENTS"):
        shutil.rmtree(base, ignore_errors=True)
    if errors:
        raise errors[0]
