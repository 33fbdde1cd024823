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
