"""The one database layer: mysqlclient, parameterised SQL, no ORM.

Connection settings come from config.xml (``db_host``, ``db_user``,
``db_passwd``, ``db_name``; ``replica_db_*`` for read-only work).  A lost
connection is reopened once and the statement retried when that is safe.

We talk to mysqlclient's ``MySQLdb._mysql`` (its wrapper of the C API)
directly rather than through its DB-API cursors: a statement then costs one
call into C and no cursor object, and a CGI program doesn't import the
cursor, converter and connection modules (about a quarter of a CGI
scheduler's start-up).  Values are quoted and rows converted as MySQLdb
does: ``%s`` placeholders, text columns as str, binary ones as bytes,
numbers as int/float/Decimal, times as datetime.
"""

from .errors import BoincError


def _load_mysql():
    """mysqlclient's C module, without running its package's ``__init__``
    when nothing has imported ``MySQLdb`` yet: that would also import its
    DB-API layer's dependencies (datetime and more), a tenth of a CGI
    scheduler's start-up, for nothing we use.  The C module needs only the
    package's ``_exceptions``; a real ``import MySQLdb`` later finds both
    already loaded and runs ``__init__`` as usual."""
    import sys
    if "MySQLdb" not in sys.modules:
        spec = None
        for finder in sys.meta_path:
            spec = getattr(finder, "find_spec", lambda *a: None)("MySQLdb", None)
            if spec is not None:
                break
        if spec is not None and spec.submodule_search_locations:
            package = type(sys)("MySQLdb")
            package.__path__ = list(spec.submodule_search_locations)
            sys.modules["MySQLdb"] = package
            try:
                from MySQLdb import _mysql
            finally:
                del sys.modules["MySQLdb"]
            return _mysql
    from MySQLdb import _mysql
    return _mysql


_mysql = _load_mysql()

Error = _mysql.MySQLError
OperationalError = _mysql.OperationalError

# Server gone away / lost connection / can't connect.
_GONE = (2006, 2013)
_CANT_CONNECT = (1044, 1045, 1049, 2002, 2003, 2005)

# Client flags (the C API's CLIENT_*): matched rows as "affected" (BOINC's
# connections do this too, so conditional updates can be checked by their
# count), several statements and results per query (as MySQLdb connects).
_FOUND_ROWS, _MULTI_STATEMENTS, _MULTI_RESULTS = 2, 1 << 16, 1 << 17

# Longest multi-row INSERT that executemany builds (the server takes 16 MB).
MAX_STATEMENT = 1 << 20


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


# -- values to SQL and columns to Python, as MySQLdb's converters do

def _decimal(text):
    from decimal import Decimal
    return Decimal(text)


def _times(name):
    def convert(text):
        from MySQLdb import times
        return getattr(times, name)(text)
    return convert


_TEXT_OR_BYTES = ((128, bytes), (None, str))        # BINARY_FLAG: a binary column
# By the protocol's field type numbers; a type not listed comes as bytes.
CONVERSIONS = {0: _decimal, 246: _decimal,                      # DECIMAL, NEWDECIMAL
               1: int, 2: int, 3: int, 8: int, 9: int, 13: int,  # integers, YEAR
               4: float, 5: float,                               # FLOAT, DOUBLE
               7: _times("DateTime_or_None"), 12: _times("DateTime_or_None"),
               10: _times("Date_or_None"), 11: _times("TimeDelta_or_None"),
               245: str,                                          # JSON
               15: _TEXT_OR_BYTES, 249: _TEXT_OR_BYTES, 250: _TEXT_OR_BYTES,
               251: _TEXT_OR_BYTES, 252: _TEXT_OR_BYTES, 253: _TEXT_OR_BYTES,
               254: _TEXT_OR_BYTES}


def literal(conn, value):
    """``value`` as an SQL literal (bytes), quoted by the connection's rules."""
    kind = type(value)
    if kind is str:
        return conn.string_literal(value.encode("utf-8"))
    if kind is int:
        return b"%d" % value
    if kind is float:
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise _mysql.ProgrammingError("%s can not be used with MySQL" % text)
        return (text if "e" in text else text + "e0").encode()
    if value is None:
        return b"NULL"
    if kind is bool:
        return b"1" if value else b"0"
    if isinstance(value, (bytes, bytearray)):
        return conn.string_literal(bytes(value))
    if kind is tuple or kind is list:
        return b"(" + b",".join(literal(conn, v) for v in value) + b")"
    if isinstance(value, str):
        return conn.string_literal(str(value).encode("utf-8"))
    if isinstance(value, int):
        return b"%d" % value
    if hasattr(value, "isoformat"):         # datetime, date, time
        return conn.string_literal(value.isoformat(" ").encode())
    return str(value).encode()              # Decimal and other numbers


def bind(conn, sql, args):
    """The statement with its ``%s`` placeholders filled (bytes)."""
    if isinstance(sql, str):
        sql = sql.encode("utf-8")
    if args is None:
        return sql
    if isinstance(args, dict):
        values = {k.encode() if isinstance(k, str) else k: literal(conn, v)
                  for k, v in args.items()}
    else:
        values = tuple([literal(conn, v) for v in args])
    try:
        return sql % values
    except (TypeError, ValueError) as exc:
        raise _mysql.ProgrammingError(str(exc)) from None


def _insert_parts(sql):
    """``INSERT ... VALUES (%s, ...) [rest]`` as (head, row, rest), or None."""
    upper = sql.upper()
    at = upper.find(" VALUES")
    if at < 0 or not upper.lstrip().startswith(("INSERT", "REPLACE")):
        return None
    start = sql.find("(", at)
    end = sql.find(")", start)
    if start < 0 or end < 0 or sql[at + 7:start].strip():
        return None
    return sql[:start], sql[start:end + 1], sql[end + 1:]


class Database:
    """One connection.  Each method runs one statement, autocommitted."""

    def __init__(self, name, user="", passwd="", host="", port=0, unix_socket="",
                 setting="config.xml"):
        self.host, self.port = _split_host(host, port)
        self.name, self.user, self.passwd = name, user, passwd
        self.unix_socket = unix_socket
        self.setting = setting          # named in error messages
        self.conn = None
        self._sent = None               # a statement sent whose outcome is unread

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
        # utf8mb4 is set with the handshake (no SET NAMES round trip after it).
        kwargs = dict(user=self.user, password=self.passwd, charset="utf8mb4",
                      connect_timeout=10, conv=CONVERSIONS,
                      client_flag=_FOUND_ROWS | _MULTI_STATEMENTS | _MULTI_RESULTS)
        if self.name:
            kwargs["database"] = self.name
        if self.unix_socket:
            kwargs["unix_socket"] = self.unix_socket
        else:
            kwargs["host"] = self.host
            if self.port:
                kwargs["port"] = self.port
        try:
            conn = _mysql.connect(**kwargs)
            if not conn.get_autocommit():
                conn.autocommit(True)
        except Error as exc:
            msg = exc.args[1] if len(exc.args) > 1 else str(exc)
            raise DatabaseError("can't connect to %s: %s (check %s)"
                                % (self.describe(), msg, self.setting)) from None
        self.conn = conn
        return self

    def close(self):
        if self._sent is not None:      # not lost: the server has it; its outcome is read
            try:
                self.outcome()
            except DatabaseError:
                pass
        if self.conn is not None:
            try:
                self.conn.close()
            except Error:
                pass
            self.conn = None

    def literal(self, value):
        """``value`` quoted for this connection (bytes), as placeholders are filled."""
        if self.conn is None:
            self.connect()
        return literal(self.conn, value)

    def _run(self, sql, args, how, retry):
        """Run one statement: its rows (``how``: 0 tuples, 1 dicts), or for a
        statement without rows (``how`` None) its affected-row count."""
        self._ready()
        try:
            return self._once(sql, args, how)
        except OperationalError as exc:
            code = exc.args[0] if exc.args else 0
            if code in _GONE and (retry or code == 2006):
                self.close()
                self.connect()
                try:
                    return self._once(sql, args, how)
                except Error as again:
                    exc = again
            raise self._error(exc, sql) from None
        except Error as exc:
            raise self._error(exc, sql) from None

    def _once(self, sql, args, how):
        conn = self.conn
        conn.query(bind(conn, sql, args))
        result = conn.store_result()
        if how is None:
            rows = conn.affected_rows()
        else:
            rows = result.fetch_row(0, how) if result is not None else ()
        while conn.next_result() == 0:          # more results: read and drop them
            conn.store_result()
        return rows

    def _error(self, exc, sql):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        return DatabaseError("%s: %s [%s]" % (self.describe(), exc.args[-1] if exc.args
                                              else exc, _short(sql)), code)

    # -- reading
    def query(self, sql, args=None):
        """All rows as dicts."""
        return list(self._run(sql, args, 1, True))

    def query_one(self, sql, args=None):
        """The first row as a dict, or None."""
        rows = self._run(sql, args, 1, True)
        return rows[0] if rows else None

    def rows(self, sql, args=None):
        """All rows as tuples (cheaper for hot paths)."""
        return self._run(sql, args, 0, True)

    def scalar(self, sql, args=None):
        rows = self._run(sql, args, 0, True)
        return rows[0][0] if rows else None

    # -- writing
    def execute(self, sql, args=None):
        """Run one statement; return the number of affected rows."""
        return self._run(sql, args, None, False)

    def insert(self, sql, args=None):
        """Run an INSERT; return the new row's id."""
        self._run(sql, args, None, False)
        return self.conn.insert_id()

    def send(self, sql, args=None):
        """Send one statement without waiting for the server (outside a
        transaction, autocommitted): the caller works on meanwhile, and the
        outcome is read by :meth:`outcome`, or before this connection's next
        statement.  (The scheduler writes its reply while MariaDB updates
        the host row.)  A connection found lost when the outcome is read
        is not retried: whether the server ran the statement is unknown."""
        self._ready()
        try:
            query = bind(self.conn, sql, args)
            try:
                self.conn.send_query(query)
            except OperationalError as exc:
                if not exc.args or exc.args[0] != 2006:     # 2006: nothing was sent
                    raise
                self.close()
                self.connect()
                self.conn.send_query(query)
        except Error as exc:
            raise self._error(exc, sql) from None
        self._sent = sql

    def _ready(self):
        """Connected, and no sent statement's outcome left unread."""
        if self.conn is None:
            self.connect()
        elif self._sent is not None:
            self.outcome()

    def outcome(self):
        """The affected rows of the statement :meth:`send` sent (None when
        none is waiting); DatabaseError if it failed."""
        sql, self._sent = self._sent, None
        if sql is None:
            return None
        conn = self.conn
        try:
            conn.read_query_result()
            conn.store_result()
            rows = conn.affected_rows()
            while conn.next_result() == 0:
                conn.store_result()
        except Error as exc:
            raise self._error(exc, sql) from None
        return rows

    def executemany(self, sql, seq):
        """One statement over many parameter tuples: an ``INSERT ... VALUES``
        goes as multi-row INSERTs of up to MAX_STATEMENT bytes; anything else
        once per tuple.  Returns the affected rows."""
        seq = list(seq)
        if not seq:
            return 0
        parts = _insert_parts(sql)
        if parts is None:
            return sum(self.execute(sql, args) for args in seq)
        if self.conn is None:
            self.connect()
        head, row, rest = (p.encode("utf-8") for p in parts)
        total, batch, size = 0, [], 0
        for args in seq:
            try:
                values = bind(self.conn, row, args)
            except Error as exc:
                raise self._error(exc, sql) from None
            if batch and size + len(values) > MAX_STATEMENT:
                total += self.execute(head + b",".join(batch) + rest)
                batch, size = [], 0
            batch.append(values)
            size += len(values) + 1
        return total + self.execute(head + b",".join(batch) + rest)

    def execute_script(self, text):
        """Run a file of ``;``-terminated statements (schema loading)."""
        for statement in split_statements(text):
            self.execute(statement)

    def transaction(self):
        """Group statements (``with db.transaction():``); committed on
        success, rolled back on error."""
        return _Transaction(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Transaction:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        db = self.db
        db._ready()
        try:
            db.conn.autocommit(False)
        except Error as exc:
            raise db._error(exc, "SET autocommit=0") from None
        return db

    def __exit__(self, kind, exc, tb):
        conn = self.db.conn
        if conn is None:                    # lost and closed inside: nothing to end
            return False
        try:
            if kind is None:
                try:
                    conn.commit()
                except Error as err:
                    self._rollback(conn)
                    raise self.db._error(err, "COMMIT") from None
            else:
                self._rollback(conn)
        finally:
            try:
                conn.autocommit(True)
            except Error:
                pass
        return False

    @staticmethod
    def _rollback(conn):
        try:
            conn.rollback()
        except Error:
            pass


def _short(sql):
    if isinstance(sql, bytes):
        sql = sql.decode("utf-8", "replace")
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
