"""create_account.php and lookup_account.php in-process, on a real project DB."""

import re
import time

import pytest

import accounts as test_accounts
from webrpc import children, error_of, web_project  # noqa: F401 (fixture)
from sched import passwd
from sched.web import app as webapp

EMAIL = "Vol.Unteer@Example.ORG"
LOWER = "vol.unteer@example.org"
PW = passwd.client_hash("secret!", EMAIL)


def auth_of(root):
    assert root.tag == "account_out" and children(root) == ["authenticator"]
    key = root.findtext("authenticator")
    assert re.fullmatch("[0-9a-f]{32}", key)
    return key


def create(p, **params):
    args = dict(email_addr=EMAIL, passwd_hash=PW, user_name="Volunteer")
    args.update(params)
    return p.rpc("create_account.php", **{k: v for k, v in args.items() if v is not None})


@pytest.fixture
def failed_logins(monkeypatch):
    seen = []
    monkeypatch.setattr(webapp.Request, "login_failed", lambda self: seen.append(1))
    return seen


# ------------------------------------------------------------ create_account

def test_create_makes_boinc_s_user_row(web_project):
    p = web_project()
    before = int(time.time())
    key = auth_of(create(p))
    user = p.db.query_one("SELECT * FROM user WHERE authenticator = %s", (key,))
    assert user["email_addr"] == LOWER
    assert user["name"] == "Volunteer"
    assert user["country"] == "International" and user["postal_code"] == ""
    assert user["send_email"] == 1 and user["show_hosts"] == 1 and user["teamid"] == 0
    assert user["total_credit"] == 0 and user["venue"] == "" and user["email_validated"] == 0
    assert user["create_time"] >= before and user["expavg_time"] >= before
    assert re.fullmatch("[0-9a-f]{32}", user["cross_project_id"])
    assert user["cross_project_id"] != key
    # bcrypt of the client's hash, as PHP's password_hash; never the hash itself.
    assert user["passwd_hash"].startswith("$2y$10$") and len(user["passwd_hash"]) == 60
    assert passwd.verify(PW, user["passwd_hash"]) == (True, False)
    # The other helper's test rule agrees (Python's crypt, where present).
    assert test_accounts.passwd_matches(user["passwd_hash"], "secret!", EMAIL)


def test_create_again_is_idempotent_but_not_with_another_password(web_project):
    p = web_project()
    key = auth_of(create(p))
    assert auth_of(create(p, user_name="Other name")) == key
    assert error_of(create(p, passwd_hash=passwd.client_hash("other", EMAIL))) == (
        -137, "Name or email address is not unique")
    # Another address with a name that is taken: the row can't be inserted.
    assert error_of(create(p, email_addr="else@example.org")) == (
        -137, "Name or email address is not unique")
    assert p.db.scalar("SELECT COUNT(*) FROM user") == 1


def test_an_old_md5_row_counts_as_the_same_password(web_project):
    p = web_project()
    key = test_accounts.create_user(p.db, LOWER, "Old", "secret!", passwd_hash=PW)
    assert auth_of(create(p)) == key


BAD_NAMES = [
    (" lead", "user name cannot have leading or trailing white space"),
    ("trail\t", "user name cannot have leading or trailing white space"),
    ("", "user name must be nonempty"),
    ("a<b", "user name may not contain special characters"),
    ("Tom & Jerry", "user name may not contain special characters"),
    ("it's", "user name may not contain special characters"),
    ("12345", "user name may not be a number"),
    ("-1.5e3", "user name may not be a number"),
]
BAD_EMAILS = ["plainaddress", "a@b", "a@@b.org", ".a@b.org", "a..b@c.org", "a@-b.org",
              "a@b.123", "a b@c.org", ""]


def test_bad_user_names_and_addresses(web_project):
    p = web_project()
    for name, reason in BAD_NAMES:
        assert error_of(create(p, user_name=name)) == (-188, reason), name
    for email in BAD_EMAILS:
        assert error_of(create(p, email_addr=email)) == (
            -205, "Email address has invalid syntax"), email
    assert p.db.scalar("SELECT COUNT(*) FROM user") == 0


def test_other_refusals(web_project):
    p = web_project()
    assert error_of(create(p, passwd_hash="abc")) == (-1, "password hash length not 32")
    assert error_of(create(p, email_addr=None)) == (-1, "missing or bad parameter: email_addr")
    assert error_of(create(p, user_name=None)) == (-1, "missing or bad parameter: user_name")
    # An address another account gave up in the last 7 days.
    test_accounts.create_user(p.db, "new@example.org", "Mover", previous_email_addr=LOWER,
                              email_addr_change_time=time.time() - 86400)
    assert error_of(create(p)) == (-137, "Name or email address is not unique")
    p.db.execute("UPDATE user SET email_addr_change_time = %s", (time.time() - 8 * 86400,))
    auth_of(create(p))


def test_account_creation_disabled(web_project):
    p = web_project()
    p.set_config(disable_account_creation="1")
    assert error_of(create(p)) == (-1, "The project is not accepting new accounts.")
    p.set_config(disable_account_creation="0", disable_account_creation_rpc="1")
    assert error_of(create(p)) == (
        -1, "Please visit the project web site to create an account, then try again.")
    p.set_config(no_web_account_creation="")         # an empty element counts as set
    assert error_of(create(p)) == (-1, "The project is not accepting new accounts.")
    assert p.db.scalar("SELECT COUNT(*) FROM user") == 0
    p.set_config(disable_account_creation_rpc="0")
    auth_of(create(p))


def test_stop_web(web_project):
    p = web_project()
    p.touch("stop_web")
    assert error_of(create(p)) == (-183, "Project is temporarily offline")
    assert error_of(p.rpc("lookup_account.php", email_addr=LOWER, passwd_hash=PW)) == (
        -183, "Project is temporarily offline")


def test_privacy_by_default(web_project):
    p = web_project()
    p.set_config(enable_privacy_by_default="1")
    key = auth_of(create(p))
    assert p.db.scalar("SELECT show_hosts FROM user WHERE authenticator = %s", (key,)) == 0


def test_team_name_joins_a_joinable_team(web_project):
    p = web_project()
    open_team = p.add_team("Open Team")
    p.add_team("Closed Team", joinable=0)
    key = auth_of(create(p, team_name="Closed Team"))
    assert p.db.scalar("SELECT teamid FROM user WHERE authenticator = %s", (key,)) == 0
    # An existing account (same password) joins too, as in BOINC.
    assert auth_of(create(p, team_name="Open Team")) == key
    user = p.db.query_one("SELECT id, teamid FROM user WHERE authenticator = %s", (key,))
    assert user["teamid"] == open_team
    delta = p.db.query("SELECT * FROM team_delta")
    assert [(d["userid"], d["teamid"], d["joining"]) for d in delta] == [
        (user["id"], open_team, 1)]
    auth_of(create(p, team_name="No Such Team"))
    assert p.db.scalar("SELECT teamid FROM user WHERE id = %s", (user["id"],)) == open_team


def test_consent(web_project):
    p = web_project()
    p.set_config(account_creation_rpc_require_consent="1")
    num, msg = error_of(create(p))
    assert num == -242 and msg.startswith("This project requires you to consent")
    assert error_of(create(p, consent_flag="1"))[0] == -242        # no source
    # Consent is recorded when ENROLL is enabled and there are terms of use.
    p.db.execute("UPDATE consent_type SET enabled = 1 WHERE shortname = 'ENROLL'")
    with open(p.path("terms_of_use.txt"), "w") as f:
        f.write("Terms.\n")
    key = auth_of(create(p, consent_flag="1", source="BOINC Manager"))
    key2 = auth_of(create(p, email_addr="anon@example.org", user_name="Anon",
                          consent_flag="0", source="AM"))
    rows = p.db.query("SELECT u.authenticator, u.create_time, c.* FROM consent c "
                      "JOIN user u ON u.id = c.userid JOIN consent_type t "
                      "ON t.id = c.consent_type_id AND t.shortname = 'ENROLL' ORDER BY c.id")
    assert [(r["authenticator"], r["consent_flag"], r["consent_not_required"], r["source"])
            for r in rows] == [(key, 1, 0, "BOINC Manager"), (key2, 0, 1, "AM")]
    assert all(r["consent_time"] == r["create_time"] for r in rows)


def test_old_clients_get_accounts_without_consent_records(web_project):
    p = web_project()
    p.db.execute("UPDATE consent_type SET enabled = 1 WHERE shortname = 'ENROLL'")
    with open(p.path("terms_of_use.txt"), "w") as f:
        f.write("Terms.\n")
    auth_of(create(p))
    assert p.db.scalar("SELECT COUNT(*) FROM consent") == 0


# ------------------------------------------------------------ lookup_account

def lookup(p, **params):
    return p.rpc("lookup_account.php", **params)


def test_lookup(web_project, failed_logins):
    p = web_project()
    key = auth_of(create(p))
    assert auth_of(lookup(p, email_addr=LOWER, passwd_hash=PW)) == key
    assert auth_of(lookup(p, email_addr=EMAIL, passwd_hash=PW)) == key      # DB collation
    assert failed_logins == []
    assert error_of(lookup(p, email_addr=LOWER, passwd_hash="0" * 32)) == (
        -206, "Invalid password")
    assert error_of(lookup(p, email_addr="nobody@example.org", passwd_hash=PW)) == (
        -136, "Not found")
    assert failed_logins == [1, 1]            # BOINC sleeps before each of these answers
    assert error_of(lookup(p)) == (-1, "missing or bad parameter: email_addr")


def test_lookup_without_password_probes_existence(web_project, failed_logins):
    p = web_project()
    auth_of(create(p))
    root = lookup(p, email_addr=LOWER)
    assert root.tag == "account_out" and children(root) == ["success"]
    assert children(lookup(p, email_addr=LOWER, passwd_hash="")) == ["success"]
    assert error_of(lookup(p, email_addr="x@example.org"))[0] == -136


def test_lookup_upgrades_an_md5_row_to_bcrypt(web_project):
    p = web_project()
    key = test_accounts.create_user(p.db, LOWER, "Old", passwd_hash=PW)
    assert auth_of(lookup(p, email_addr=LOWER, passwd_hash=PW)) == key
    stored = p.db.scalar("SELECT passwd_hash FROM user")
    assert stored.startswith("$2y$10$") and passwd.verify(PW, stored)[0]
    assert auth_of(lookup(p, email_addr=LOWER, passwd_hash=PW)) == key
    assert p.db.scalar("SELECT passwd_hash FROM user") == stored      # no needless rehash


def test_lookup_accepts_php_rows_and_rehashes_old_costs(web_project):
    p = web_project()
    # A row written by PHP's password_hash (the PHP manual's example hash).
    php_row = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
    key = test_accounts.create_user(p.db, LOWER, "Php", passwd_hash=php_row)
    assert auth_of(lookup(p, email_addr=LOWER, passwd_hash="rasmuslerdorf")) == key
    assert p.db.scalar("SELECT passwd_hash FROM user") == php_row
    # Cost 4 is below PHP's default: rehashed on login, as password_needs_rehash says.
    cheap = passwd._crypt(PW, "$2y$04$" + "a" * 21 + "e")
    p.db.execute("UPDATE user SET passwd_hash = %s", (cheap,))
    auth_of(lookup(p, email_addr=LOWER, passwd_hash=PW))
    assert p.db.scalar("SELECT passwd_hash FROM user").startswith("$2y$10$")


def test_lookup_accepts_the_account_key_hash(web_project):
    p = web_project()
    key = auth_of(create(p))
    assert auth_of(lookup(p, email_addr=LOWER, passwd_hash=passwd.md5_hex(key + LOWER))) == key


def test_an_empty_password_becomes_the_account_key_hash(web_project):
    p = web_project()
    key = test_accounts.create_user(p.db, LOWER, "Nopw", passwd_hash="")
    auth_hash = passwd.md5_hex(key + LOWER)
    assert auth_of(lookup(p, email_addr=LOWER, passwd_hash=auth_hash)) == key
    assert passwd.verify(auth_hash, p.db.scalar("SELECT passwd_hash FROM user"))[0]
