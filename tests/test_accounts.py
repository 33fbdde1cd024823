"""sched.accounts: BOINC's user name and e-mail rules, user rows, teams (real DB)."""

import pytest

from sched import accounts, passwd, schema


@pytest.mark.parametrize("name", ["Jo", "Jo Doe", "Jürgen", "x1", "1x", "0x1A", "1,5",
                                  "e5", "a-b_c.d", "inf"])
def test_good_user_names(name):
    assert accounts.user_name_problem(name) is None


@pytest.mark.parametrize("name", ["", " x", "x ", "x\n", "a\tb", "<b>", "a&b", 'a"b', "a'b",
                                  "5", "+5", "-5.", ".5", "1e10", "1.5E-3"])
def test_bad_user_names(name):
    assert accounts.user_name_problem(name)


@pytest.mark.parametrize("addr", [
    "a@b.org", "first.last@sub.example.co.uk", "x+tag@example.org", "o'neil@example.ie",
    "_x@example.org", '"quoted..string"@example.org', "user@[192.168.0.1]",
    "user@[IPv6:2001:db8::1]", "a@xn--bcher-kva.example", "a@b-c.org", "a@b.x-y",
    "a@b.c"])
def test_valid_email_syntax(addr):
    assert accounts.is_valid_email_syntax(addr)


@pytest.mark.parametrize("addr", [
    "", "a", "a@", "@b.org", "a@b", "a@b.", "a@.b.org", "a@b..org", ".a@b.org", "a.@b.org",
    "a..b@c.org", "a b@c.org", "a@b c.org", "a@-b.org", "a@b-.org", "a@b.1org",
    "a@[300.1.1.1]", "a@b_c.org", "ä@b.org", "x" * 65 + "@b.org",
    "a@" + "b" * 64 + ".org", "a@" + ".".join(["bcdefgh"] * 40) + ".org"])
def test_invalid_email_syntax(addr):
    assert not accounts.is_valid_email_syntax(addr)


def test_make_user_and_teams(fresh_db):
    schema.load_schema(fresh_db)
    hashed = passwd.client_hash("pw", "a@b.org")
    user = accounts.make_user(fresh_db, "a@b.org", "Al", hashed, show_hosts=0)
    assert user["show_hosts"] == 0 and user["country"] == "International"
    assert accounts.check_passwd_hash(fresh_db, user, hashed)
    assert not accounts.check_passwd_hash(fresh_db, user, passwd.client_hash("pX", "a@b.org"))
    # Taken address or name: None, nothing inserted.
    assert accounts.make_user(fresh_db, "a@b.org", "Other", hashed) is None
    assert accounts.make_user(fresh_db, "c@d.org", "Al", hashed) is None
    assert fresh_db.scalar("SELECT COUNT(*) FROM user") == 1
    assert accounts.lookup_email(fresh_db, "A@B.ORG")["id"] == user["id"]

    # weak auth and public CPID: BOINC's formulas over the stored values.
    assert accounts.weak_auth(user) == "%d_%s" % (
        user["id"], passwd.md5_hex(user["authenticator"] + user["passwd_hash"]))
    assert accounts.public_cpid(user) == passwd.md5_hex(user["cross_project_id"] + "a@b.org")

    now = 1700000000
    t1 = fresh_db.insert("INSERT INTO team (create_time, userid, name, type, nusers, "
                         "expavg_time, ping_user) VALUES (1, 0, 'T1', 1, 0, 0, %s)",
                         (user["id"],))
    t2 = fresh_db.insert("INSERT INTO team (create_time, userid, name, type, nusers, "
                         "expavg_time) VALUES (1, 0, 'T2', 1, 0, 0)")
    fresh_db.execute("INSERT INTO team_admin (teamid, userid, create_time, rights) "
                     "VALUES (%s, %s, 1, 1)", (t1, user["id"]))
    accounts.join_team(fresh_db, accounts.lookup_team(fresh_db, t1), user, now)
    accounts.join_team(fresh_db, accounts.lookup_team(fresh_db, t2), user, now + 1)
    assert fresh_db.scalar("SELECT teamid FROM user") == t2
    assert fresh_db.rows("SELECT teamid, timestamp, joining FROM team_delta "
                         "ORDER BY timestamp, joining") == (
        (t1, now, 1), (t1, now + 1, 0), (t2, now + 1, 1))
    # Leaving T1 dropped the admin right and flipped its ping_user, as BOINC does.
    assert fresh_db.scalar("SELECT COUNT(*) FROM team_admin") == 0
    assert fresh_db.scalar("SELECT ping_user FROM team WHERE id = %s", (t1,)) == -user["id"]
    accounts.quit_team(fresh_db, user, now + 2)
    assert fresh_db.scalar("SELECT teamid FROM user") == 0
    accounts.quit_team(fresh_db, user, now + 3)          # not in a team: nothing recorded
    assert fresh_db.scalar("SELECT COUNT(*) FROM team_delta") == 4
