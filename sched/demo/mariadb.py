"""A private MariaDB server in one directory, on 127.0.0.1:PORT.

Everything lives under ``DIR``: ``my.cnf``, the data (``data/``), the
socket, pid file and logs.  The system's MariaDB service and its
configuration files are never read or touched (``--defaults-file``).
Started by root, the server runs as ``mysql`` (as Debian's does); started
by anyone else, as that user.  The administrator is the OS user itself,
over the private socket (MariaDB's unix_socket authentication), so there is
no root password to keep.

``mariadb --defaults-file=DIR/my.cnf`` opens a console on it.
"""

import os
import pwd
import shutil
import subprocess
import time

from .. import db as dbmod
from ..errors import BoincError
from . import procs

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
START_TIMEOUT = 120


class PrivateMariaDB:
    def __init__(self, directory, port):
        self.dir = os.path.abspath(directory)
        self.port = port
        self.cnf = os.path.join(self.dir, "my.cnf")
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.pid_file = os.path.join(self.dir, "mysqld.pid")
        self.error_log = os.path.join(self.dir, "error.log")
        # Root runs the server as mysql; the admin is whoever runs us.
        self.run_as = "mysql" if os.geteuid() == 0 else None
        self.admin_user = pwd.getpwuid(os.geteuid()).pw_name

    @property
    def host(self):
        """``db_host`` of config.xml: the port rides along as host:port."""
        return "127.0.0.1:%d" % self.port

    def config_text(self):
        lines = [
            "# A private MariaDB server of the pyboinc demo (scripts/demo).",
            "[mysqld]",
            "datadir = %s" % self.data,
            "socket = %s" % self.socket,
            "pid-file = %s" % self.pid_file,
            "log-error = %s" % self.error_log,
            "bind-address = 127.0.0.1",
            "port = %d" % self.port,
            "skip-name-resolve",
            "character-set-server = utf8mb4",
            "collation-server = utf8mb4_unicode_ci",
            "innodb_buffer_pool_size = 64M",
            "innodb_log_file_size = 16M",
            "max_connections = 200",
        ]
        if self.run_as:
            lines.append("user = %s" % self.run_as)
        lines += ["", "[client]", "socket = %s" % self.socket, ""]
        return "\n".join(lines)

    # -- set up

    def initialized(self):
        return os.path.isdir(os.path.join(self.data, "mysql"))

    def initialize(self):
        """Write my.cnf and make the data directory (mariadb-install-db)."""
        for prog in (MARIADBD, INSTALL_DB):
            if not os.path.exists(prog):
                raise BoincError("%s not found: install Debian's mariadb-server package "
                                 "(scripts/setup does)" % prog)
        os.makedirs(self.dir, exist_ok=True)
        with open(self.cnf, "w") as f:
            f.write(self.config_text())
        os.chmod(self.cnf, 0o644)
        if self.run_as:
            # the server (as mysql) writes its socket, pid and logs here
            shutil.chown(self.dir, user=self.run_as, group=self.run_as)
            if not procs.user_can_enter(self.run_as, self.dir):
                raise BoincError("%s: user %s can't enter %s; choose a --project_root "
                                 "every user can reach" % (
                                     self.dir, self.run_as,
                                     procs.first_closed_dir(self.run_as, self.dir)))
        os.chmod(self.dir, 0o750)
        log = os.path.join(self.dir, "install.log")
        argv = [INSTALL_DB, "--defaults-file=" + self.cnf, "--skip-test-db",
                "--auth-root-authentication-method=socket"]
        if self.run_as:
            argv.append("--user=" + self.run_as)
        with open(log, "wb") as out:
            res = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        if res.returncode != 0 or not self.initialized():
            raise BoincError("mariadb-install-db failed for %s: %s" % (
                self.data, procs.tail(log, 3) or "see " + log))

    # -- run

    @property
    def pid(self):
        return procs.read_pid(self.pid_file)

    def running(self):
        return procs.ours(self.pid, "mariadbd")

    def start(self, port_option="--db_port"):
        """Start the server unless it runs; return when it takes connections."""
        if self.running():
            return
        procs.check_port(self.port, "private MariaDB", port_option)
        out = open(os.path.join(self.dir, "mariadbd.out"), "ab")
        try:
            # its own session: it outlives us, and a terminal's ^C isn't its
            proc = subprocess.Popen([MARIADBD, "--defaults-file=" + self.cnf],
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise BoincError("MariaDB (%s) exited at start: %s" % (
                    self.cnf, procs.tail(self.error_log, 3) or "see " + self.error_log))
            try:
                self.admin().close()
                return
            except dbmod.DatabaseError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                raise BoincError("MariaDB (%s) did not take connections in %ds: %s" % (
                    self.cnf, START_TIMEOUT, procs.tail(self.error_log, 3)))
            time.sleep(0.2)

    def stop(self):
        """Shut the server down (SIGTERM: a clean shutdown).  True if it ran."""
        return procs.end(self.pid, "mariadbd", timeout=120)

    def admin(self):
        """An administrator's connection over the private socket."""
        return dbmod.Database("", self.admin_user, "", unix_socket=self.socket,
                              setting=self.cnf).connect()

    def make_account(self, user, passwd, db_name):
        """The project's DB account: all rights on its database, from 127.0.0.1."""
        admin = self.admin()
        try:
            for host in ("127.0.0.1", "localhost"):
                admin.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
                              (user, host, passwd))
                admin.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, passwd))
                # '_' is a wildcard in a grant's database name
                admin.execute("GRANT ALL PRIVILEGES ON `%s`.* TO %%s@%%s"
                              % db_name.replace("_", "\\_"), (user, host))
        finally:
            admin.close()
