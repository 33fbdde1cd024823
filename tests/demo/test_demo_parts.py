"""The demo's parts on their own: settings remembered between runs, the
private MariaDB server, the checks done before anything is made."""

import os
import pwd
import shutil
import socket
import tempfile
import types

import pytest

from sched import db as dbmod
from sched.apache import free_port
from sched.demo import main, procs
from sched.demo.mariadb import PrivateMariaDB
from sched.errors import BoincError


def opts(**given):
    names = ("port", "db_port", "db_host", "db_user", "db_passwd", "db_name",
             "system_apache", "fcgi")
    return types.SimpleNamespace(**{n: given.get(n) for n in names})


def test_settings_defaults():
    s = main.resolve_settings(opts(), None)
    assert s == dict(port=8780, db_port=8781, system_apache=False, fcgi=False,
                     db_name="pyboinc_demo")
    assert main.resolve_settings(opts(port=9000), None)["db_port"] == 9001
    s = main.resolve_settings(opts(system_apache=True), None)
    assert (s["port"], s["db_port"]) == (80, 8781)
    assert main.url_base(80) == "http://127.0.0.1/"
    assert main.url_base(8780) == "http://127.0.0.1:8780/"


def test_settings_remembered_unless_given():
    prev = main.resolve_settings(opts(port=9000, db_port=9100, fcgi=True), None)
    assert main.resolve_settings(opts(), prev) == prev
    changed = main.resolve_settings(opts(port=9200), prev)
    assert changed["port"] == 9200 and changed["db_port"] == 9100 and changed["fcgi"]
    assert main.describe_changes(prev, changed) == "port 9000 -> 9200"


def test_settings_existing_server():
    s = main.resolve_settings(opts(db_host="db.example:3307", db_user="boinc"), None)
    assert s["db_host"] == "db.example:3307" and s["db_user"] == "boinc"
    assert "db_port" not in s
    # remembered too; --db_port goes back to a private server
    assert main.resolve_settings(opts(), s) == s
    assert "db_host" not in main.resolve_settings(opts(db_port=9301), s)


def test_settings_refused():
    with pytest.raises(BoincError, match="--port and --db_port are both 9000"):
        main.resolve_settings(opts(port=9000, db_port=9000), None)
    with pytest.raises(BoincError, match="database name"):
        main.resolve_settings(opts(db_name="no-dashes"), None)


def test_port_checks():
    port = free_port()
    procs.check_port(port, "x", "--port")             # free: fine
    with pytest.raises(BoincError, match="unprivileged port"):
        procs.check_port(80, "private Apache", "--port")


@pytest.fixture
def short_dir():
    d = tempfile.mkdtemp(prefix="boincdb-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_private_mariadb(short_dir):
    server = PrivateMariaDB(os.path.join(short_dir, "mysql"), free_port())
    assert not server.initialized() and not server.running()
    server.initialize()
    try:
        server.start()
        assert server.running()
        server.start()                                # running: nothing to do
        if os.geteuid() == 0:
            assert os.stat(server.data).st_uid == pwd.getpwnam("mysql").pw_uid
        server.make_account("boincadm", "s3cret-1", "demo_db")
        admin = server.admin()
        admin.execute("CREATE DATABASE demo_db")
        admin.close()
        # the project's account over TCP on 127.0.0.1:PORT, as config.xml names it
        db = dbmod.Database("demo_db", "boincadm", "s3cret-1", server.host).connect()
        db.execute("CREATE TABLE t (x INT)")
        assert db.scalar("SELECT COUNT(*) FROM t") == 0
        db.close()
        # a second make_account (a recreated project) sets the new password
        server.make_account("boincadm", "s3cret-2", "demo_db")
        with pytest.raises(dbmod.DatabaseError):
            dbmod.Database("demo_db", "boincadm", "s3cret-1", server.host).connect()
        dbmod.Database("demo_db", "boincadm", "s3cret-2", server.host).connect().close()
        # nothing listens anywhere but 127.0.0.1
        with open(server.cnf) as f:
            assert "bind-address = 127.0.0.1" in f.read()
    finally:
        assert server.stop()
    assert not server.running() and not procs.port_in_use(server.port)
    assert not server.stop()                          # stopped: nothing to do
    server.start()                                    # and it starts again on its data
    try:
        db = dbmod.Database("demo_db", "boincadm", "s3cret-2", server.host).connect()
        assert db.scalar("SELECT COUNT(*) FROM t") == 0
        db.close()
    finally:
        server.stop()


def test_private_mariadb_port_taken(short_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        server = PrivateMariaDB(os.path.join(short_dir, "mysql"), s.getsockname()[1])
        server.initialize()
        with pytest.raises(BoincError, match="in use by another program; choose a free "
                           "port with --db_port"):
            server.start()
    assert not server.running()


def test_stale_pid_file_names_no_process_of_ours(short_dir):
    # a pid file outliving its server (a reboot) may name another program now
    server = PrivateMariaDB(os.path.join(short_dir, "mysql"), free_port())
    os.makedirs(server.dir)
    with open(server.pid_file, "w") as f:
        f.write("%d\n" % os.getpid())                 # us: alive, but not mariadbd
    assert not server.running()
    assert not server.stop()
    assert procs.alive(os.getpid())
