"""The one database layer: mysqlclient, parameterised SQL, no ORM.

Connection settings come from config.xml (``db_host``, ``db_user``,
``db_passwd``, ``db_name``; ``replica_db_*`` for read-only work).  A lost
connection is reopened once and the statement retried when that is safe.
"""

import contextlib

import MySQLdb
import MySQLdb.cursors
from MySQLdb.constants import CLIENT

from .errors import BoincError

# Server gone away / lost connection / can't connect.
_GONE = (2006, 2013)
_CANT_CONNECT = (1044, 1045, 1049, 2002, 2003, 2005)


class DatabaseError(BoincError):
    """The database can't be reached or refused a statement (``code``: the
    server's error number, 0 if none)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code


# The server gave up on a transaction that waited for locks; it can be retried.
LOCK_ERRORS = (1205, 1213)          # lock wait timeout, deadlock


def _split_host(host, port):
    """``db_host`` may carry a port as ``host:port``."""
    if host and ":" in host and not port:
        host, _, p = host.rpartition(":")
        port = int(p)
    return host or "localhost", port or 0


class Database:
    """One connection.  Each method runs one statement, autocommitted."""

    def __init__(self, name, user="", passwd="", host="", port=0, unix_socket="",
                 setting="config.xml"):
        self.host, self.port = _split_host(host, port)
        self.name, self.user, self.passwd = name, user, passwd
        self.unix_socket = unix_socket
        self.setting = setting          # named in error messages
        self.conn = None

    @classmethod
    def from_config(cls, cfg, replica=False):
        if replica:
            r = cfg.replica
            # a replica on its own host doesn't share the main DB's port or socket
            own = bool(cfg.replica_db_host)
            return cls(r["name"], r["user"], r["passwd"], r["host"],
                       0 if own else cfg.db_port, "" if own else cfg.db_socket,
                       setting="%s <replica_db_*>" % cfg.path)
        return cls(cfg.db_name, cfg.db_user, cfg.db_passwd, cfg.db_host, cfg.db_port,
                   cfg.db_socket, setting="%s <db_host>/<db_user>/<db_passwd>/<db_name>"
                   % cfg.path)

    def describe(self):
        where = self.unix_socket or "%s:%s" % (self.host, self.port or 3306)
        return "database '%s' on %s as user '%s'" % (self.name, where, self.user)

    def connect(self):
        # FOUND_ROWS: an UPDATE reports the rows its WHERE matched, as BOINC's
        # connections do, so conditional updates can be checked by rowcount.
        kwargs = dict(user=self.user, passwd=self.passwd, charset="utf8mb4",
                      use_unicode=True, autocommit=True, connect_timeout=10,
                      client_flag=CLIENT.FOUND_ROWS)
        if self.name:
            kwargs["db"] = self.name
        if self.unix_socket:
            kwargs["unix_socket"] = self.unix_socket
        else:
            kwargs["host"] = self.host
            if self.port:
                kwargs["port"] = self.port
        try:
            self.conn = MySQLdb.connect(**kwargs)
        except MySQLdb.Error as exc:
            code = exc.args[0] if exc.args else 0
            msg = exc.args[1] if len(exc.args) > 1 else str(exc)
            raise DatabaseError("can't connect to %s: %s (check %s)"
                                % (self.describe(), msg, self.setting)) from None
        return self

    def close(self):
        if self.conn is not None:
            with contextlib.suppress(MySQLdb.Error):
                self.conn.close()
            self.conn = None

    def _run(self, fn, sql, retry):
        if self.conn is None:
            self.connect()
        try:
            return fn(self.conn)
        except MySQLdb.OperationalError as exc:
            code = exc.args[0] if exc.args else 0
            if code in _GONE and (retry or code == 2006):
                self.close()
                self.connect()
                return fn(self.conn)
            raise DatabaseError("%s: %s [%s]" % (self.describe(), exc.args[-1], _short(sql)),
                                code) from None
        except MySQLdb.Error as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
            raise DatabaseError("%s: %s [%s]" % (self.describe(), exc.args[-1], _short(sql)),
                                code) from None

    # -- reading
    def query(self, sql, args=None):
        """All rows as dicts."""
        def run(conn):
            cur = conn.cursor(MySQLdb.cursors.DictCursor)
            cur.execute(sql, args)
            rows = cur.fetchall()
            cur.close()
            return list(rows)
        return self._run(run, sql, retry=True)

    def query_one(self, sql, args=None):
        """The first row as a dict, or None."""
        rows = self.query(sql, args)
        return rows[0] if rows else None

    def rows(self, sql, args=None):
        """All rows as tuples (cheaper for hot paths)."""
        def run(conn):
            cur = conn.cursor()
            cur.execute(sql, args)
            rows = cur.fetchall()
            cur.close()
            return rows
        return self._run(run, sql, retry=True)

    def scalar(self, sql, args=None):
        rows = self.rows(sql, args)
        return rows[0][0] if rows else None

    # -- writing
    def execute(self, sql, args=None):
        """Run one statement; return the number of affected rows."""
        def run(conn):
            cur = conn.cursor()
            n = cur.execute(sql, args)
            cur.close()
            return n
        return self._run(run, sql, retry=False)

    def insert(self, sql, args=None):
        """Run an INSERT; return the new row's id."""
        def run(conn):
            cur = conn.cursor()
            cur.execute(sql, args)
            rowid = cur.lastrowid
            cur.close()
            return rowid
        return self._run(run, sql, retry=False)

    def executemany(self, sql, seq):
        """One statement over many parameter tuples (multi-row INSERTs)."""
        def run(conn):
            cur = conn.cursor()
            n = cur.executemany(sql, seq)
            cur.close()
            return n
        return self._run(run, sql, retry=False)

    def execute_script(self, text):
        """Run a file of ``;``-terminated statements (schema loading)."""
        for statement in split_statements(text):
            self.execute(statement)

    @contextlib.contextmanager
    def transaction(self):
        """Group statements; committed on success, rolled back on error."""
        if self.conn is None:
            self.connect()
        self.conn.autocommit(False)
        try:
            yield self
            self.conn.commit()
        except BaseException:
            with contextlib.suppress(MySQLdb.Error):
                self.conn.rollback()
            raise
        finally:
            with contextlib.suppress(MySQLdb.Error):
                self.conn.autocommit(True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _short(sql):
    sql = " ".join(sql.split())
    return sql if len(sql) <= 120 else sql[:117] + "..."


def split_statements(text):
    """Split SQL text on ``;`` at line ends, dropping ``--`` and ``#`` comments."""
    statements, current = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--") or stripped.startswith("#"):
            continue
        current.append(line)
        if stripped.endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if "".join(current).strip():
        statements.append("\n".join(current))
    return statements


def connect(cfg, replica=False):
    """Open the project's database (or its replica) from a parsed config."""
    return Database.from_config(cfg, replica).connect()
