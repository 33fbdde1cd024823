"""Shared fixtures: a real MariaDB, and throw-away databases and users on it.

The admin connection defaults to root over the local socket (then root over
TCP on 127.0.0.1 with no password); override with BOINC_TEST_DB_ADMIN_HOST,
BOINC_TEST_DB_ADMIN_USER, BOINC_TEST_DB_ADMIN_PASSWD.  Projects made by tests
use their own DB user, created here, as a real project would.
"""

import os
import secrets
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from sched import db as dbmod  # noqa: E402

TEST_DB_PREFIX = "boinctest_"


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
