import os
import subprocess

import pytest

from testenv import ROOT
from sched import db as dbmod
from sched.config import parse_config


def test_queries_are_parameterised(fresh_db):
    fresh_db.execute("CREATE TABLE t (id int auto_increment primary key, name varchar(64))")
    evil = "x'); DROP TABLE t; --"
    new_id = fresh_db.insert("INSERT INTO t (name) VALUES (%s)", (evil,))
    assert fresh_db.query_one("SELECT name FROM t WHERE id=%s", (new_id,))["name"] == evil
    fresh_db.executemany("INSERT INTO t (name) VALUES (%s)", [("é",), ("日本",)])
    assert fresh_db.scalar("SELECT count(*) FROM t") == 3
    assert [r[0] for r in fresh_db.rows("SELECT name FROM t ORDER BY id")][1:] == ["é", "日本"]
    assert fresh_db.execute("UPDATE t SET name=%s WHERE id > %s", ("z", 1)) == 2


def test_reconnects_after_lost_connection(admin_db, fresh_db):
    fresh_db.execute("CREATE TABLE t (id int)")
    conn_id = fresh_db.scalar("SELECT CONNECTION_ID()")
    admin_db.execute("KILL CONNECTION %s", (conn_id,))
    # the next statement finds the connection gone, reopens it and retries
    assert fresh_db.scalar("SELECT count(*) FROM t") == 0
    assert fresh_db.scalar("SELECT CONNECTION_ID()") != conn_id


def test_transaction_rolls_back(fresh_db):
    fresh_db.execute("CREATE TABLE t (id int) ENGINE=InnoDB")
    with pytest.raises(RuntimeError):
        with fresh_db.transaction():
            fresh_db.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
    assert fresh_db.scalar("SELECT count(*) FROM t") == 0
    with fresh_db.transaction():
        fresh_db.execute("INSERT INTO t VALUES (2)")
    assert fresh_db.scalar("SELECT count(*) FROM t") == 1


def test_a_sent_statement_is_read_later_or_before_the_next_one(fresh_db):
    fresh_db.execute("CREATE TABLE t (id int primary key, n int) ENGINE=InnoDB")
    fresh_db.execute("INSERT INTO t VALUES (1, 0), (2, 0)")
    fresh_db.send("UPDATE t SET n=%s WHERE id > %s", (5, 0))
    assert fresh_db.outcome() == 2
    assert fresh_db.outcome() is None                   # nothing waiting
    fresh_db.send("UPDATE t SET n=n+1 WHERE id=%s", (1,))
    assert fresh_db.scalar("SELECT n FROM t WHERE id=1") == 6      # read first, then this
    fresh_db.send("UPDATE t SET n=n+1 WHERE id=%s", (2,))
    with fresh_db.transaction():                        # not part of the transaction
        fresh_db.execute("UPDATE t SET n=n+1 WHERE id=1")
    fresh_db.send("UPDATE t SET n=n+1 WHERE id=%s", (2,))
    fresh_db.send("UPDATE t SET n=n+1 WHERE id=%s", (2,))          # the first one is read
    fresh_db.close()                                    # ... and so is the last
    assert fresh_db.rows("SELECT id, n FROM t ORDER BY id") == ((1, 7), (2, 8))


def test_a_sent_statement_that_fails_fails_when_read(fresh_db):
    fresh_db.send("UPDATE no_such_table SET n=1")
    with pytest.raises(dbmod.DatabaseError) as info:
        fresh_db.outcome()
    assert "no_such_table" in str(info.value) and "\n" not in str(info.value)
    fresh_db.send("UPDATE no_such_table SET n=%s", (2,))
    with pytest.raises(dbmod.DatabaseError) as info:
        fresh_db.scalar("SELECT 1")                     # the next statement reads it
    assert "no_such_table" in str(info.value)
    assert fresh_db.scalar("SELECT 1") == 1             # the connection goes on


def test_bad_statement_is_one_line(fresh_db):
    with pytest.raises(dbmod.DatabaseError) as info:
        fresh_db.query("SELECT * FROM no_such_table")
    assert "no_such_table" in str(info.value) and "\n" not in str(info.value)


def _config(tmp_path, **values):
    (tmp_path / "cgi-bin").mkdir(exist_ok=True)
    body = "".join("<%s>%s</%s>" % (k, v, k) for k, v in values.items())
    (tmp_path / "config.xml").write_text("<boinc><config>%s</config></boinc>" % body)
    return parse_config(str(tmp_path / "config.xml"))


def test_unreachable_db_names_the_settings(tmp_path, db_account):
    cfg = _config(tmp_path, db_name="boinctest_nope", db_user=db_account["user"],
                  db_passwd="wrong", db_host="127.0.0.1")
    with pytest.raises(dbmod.DatabaseError) as info:
        dbmod.connect(cfg)
    msg = str(info.value)
    assert "boinctest_nope" in msg and "<db_passwd>" in msg and "\n" not in msg
    cfg = _config(tmp_path, db_name="x", db_user="u", db_host="127.0.0.1:1")
    with pytest.raises(dbmod.DatabaseError, match="127.0.0.1:1"):
        dbmod.connect(cfg)


def test_replica_settings_default_to_main(tmp_path, db_account, admin_db, db_name):
    admin_db.execute("CREATE DATABASE `%s`" % db_name)
    cfg = _config(tmp_path, db_name=db_name, db_user=db_account["user"],
                  db_passwd=db_account["passwd"], db_host=db_account["host"],
                  replica_db_host="127.0.0.1")
    with dbmod.connect(cfg, replica=True) as replica:
        assert replica.scalar("SELECT DATABASE()") == db_name


def test_split_statements():
    text = "-- c\nCREATE TABLE a (\n  x int\n);\n# c2\nINSERT INTO a VALUES (1);\n\n"
    assert dbmod.split_statements(text) == ["CREATE TABLE a (\n  x int\n)",
                                            "INSERT INTO a VALUES (1)"]


def test_values_come_back_as_mysqlclient_gives_them(fresh_db):
    fresh_db.execute("CREATE TABLE v (i int, b bigint, d double, s varchar(20), t text, "
                     "bl blob, ts timestamp NULL DEFAULT NULL, n int NULL)")
    fresh_db.execute("INSERT INTO v VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                     (-3, 1 << 40, 0.1, "é", "text", b"\x00\xff", "2026-01-02 03:04:05", None))
    row = fresh_db.query_one("SELECT * FROM v")
    import datetime
    import decimal
    assert row == {"i": -3, "b": 1 << 40, "d": 0.1, "s": "é", "t": "text", "bl": b"\x00\xff",
                   "ts": datetime.datetime(2026, 1, 2, 3, 4, 5), "n": None}
    assert fresh_db.scalar("SELECT SUM(i) FROM v") == decimal.Decimal(-3)
    assert fresh_db.rows("SELECT i, s FROM v") == ((-3, "é"),)
    assert fresh_db.query("UPDATE v SET i = 1") == []          # no rows, no error


def test_literals_and_placeholders(fresh_db):
    lit = fresh_db.literal
    assert (lit(None), lit(True), lit(7), lit(1.5), lit(1e300)) == \
        (b"NULL", b"1", b"7", b"1.5e0", b"1e+300")
    assert lit("it's") == b"'it\\'s'" and lit(b"a\x00") == b"'a\\0'"
    assert lit((1, "a")) == b"(1,'a')"
    with pytest.raises(dbmod.DatabaseError):
        fresh_db.execute("SELECT %s", (float("nan"),))
    assert fresh_db.scalar("SELECT %(x)s + %(y)s", {"x": 1, "y": 2}) == 3
    assert fresh_db.scalar("SELECT 'a%%b'", ()) == "a%b"       # args given: %% is %
    assert fresh_db.scalar("SELECT 'a%%b'") == "a%%b"          # none: the text as it is


def test_executemany_makes_multi_row_inserts(fresh_db, monkeypatch):
    fresh_db.execute("CREATE TABLE m (id int primary key, n int)")
    monkeypatch.setattr(dbmod, "MAX_STATEMENT", 100)            # several statements
    rows = [(i, i) for i in range(50)]
    sent = []
    real = dbmod.Database.execute
    monkeypatch.setattr(dbmod.Database, "execute",
                        lambda self, sql, args=None: sent.append(sql) or real(self, sql, args))
    assert fresh_db.executemany("INSERT INTO m (id, n) VALUES (%s, %s) "
                                "ON DUPLICATE KEY UPDATE n=n+VALUES(n)", rows) == 50
    assert 1 < len(sent) < 50 and all(len(s) < 100 + 80 for s in sent)     # + head, tail
    fresh_db.executemany("INSERT INTO m (id, n) VALUES (%s, %s) "
                         "ON DUPLICATE KEY UPDATE n=n+VALUES(n)", rows[:2])
    assert fresh_db.rows("SELECT n FROM m WHERE id < 3 ORDER BY id") == ((0,), (2,), (2,))
    # not an INSERT ... VALUES: one statement per tuple
    sent.clear()
    assert fresh_db.executemany("UPDATE m SET n=%s WHERE id=%s", [(9, 1), (9, 2)]) == 2
    assert len(sent) == 2


def test_the_c_module_is_mysqldb_s_own():
    # loaded without MySQLdb's package __init__; a later import of MySQLdb shares it
    code = ("import sys; sys.path.insert(0, %r); from sched import db; "
            "assert 'datetime' not in sys.modules and 'MySQLdb' not in sys.modules; "
            "import MySQLdb; assert MySQLdb._mysql is db._mysql; "
            "assert MySQLdb.OperationalError is db.OperationalError; print('ok')" % ROOT)
    out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "python"), "-S", "-c",
                          "import sys; sys.path.append(%r); %s"
                          % (_site_packages(), code)], capture_output=True, text=True)
    assert out.stdout == "ok\n", out.stderr


def _site_packages():
    import MySQLdb
    return os.path.dirname(os.path.dirname(MySQLdb.__file__))
