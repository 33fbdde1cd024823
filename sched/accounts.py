"""Volunteer accounts: BOINC's rules for user rows, names, e-mail, passwords, teams.

Facts from BOINC's html/inc/user_util.inc (make_user, check_passwd_hash,
is_valid_user_name), user.inc (weak_auth), team.inc (joining and quitting a
team), consent.inc and email.inc; the code is ours.  Password hashing is in
:mod:`sched.passwd`.
"""

import re
import secrets
import time

from . import passwd
from .db import DatabaseError
from .passwd import md5_hex

# BOINC's make_user() defaults for a new account made by an RPC.
DEFAULT_COUNTRY = "International"
# lookup_prev_email_addr() only looks at changes in the last 7 days.
PREV_EMAIL_WINDOW = 7 * 86400


def random_string():
    """An account key or cross-project id: 32 lowercase hex chars."""
    return secrets.token_hex(16)


def weak_auth(user):
    """``ID_md5(authenticator + passwd_hash)`` with the stored passwd_hash."""
    return "%d_%s" % (user["id"], md5_hex(user["authenticator"] + (user["passwd_hash"] or "")))


def public_cpid(user):
    """The cross-project id shown in public: md5(cross_project_id + email)."""
    return md5_hex((user["cross_project_id"] or "") + user["email_addr"])


# ------------------------------------------------------------ validation

_PHP_TRIM = " \t\n\r\0\x0b"
_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*\Z")
_SPECIAL = re.compile("[\"'<>&\x00-\x1f]")


def user_name_problem(name):
    """Why ``name`` can't be a user name (BOINC's wording), or None."""
    if name.strip(_PHP_TRIM) != name:
        return "user name cannot have leading or trailing white space"
    if not name:
        return "user name must be nonempty"
    if _SPECIAL.search(name):
        return "user name may not contain special characters"
    if _NUMERIC.match(name):
        return "user name may not be a number"
    return None


# E-mail syntax as PHP's FILTER_VALIDATE_EMAIL (ASCII): dot-atoms or quoted
# strings before the '@'; after it, dotted labels ending in a label that
# starts with a letter, or an address literal in brackets.
_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_QUOTED = r'"(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x21\x23-\x5b\x5d-\x7f]|\\[\x00-\x7f])*"'
_LOCAL = re.compile(r"(?:%s|%s)(?:\.(?:%s|%s))*\Z" % (_ATOM, _QUOTED, _ATOM, _QUOTED))
_LABEL = re.compile(r"(?:xn--)?[a-z0-9]+(?:-+[a-z0-9]+)*\Z", re.I)
_TLD = re.compile(r"(?:[a-z][a-z0-9]*|xn--[a-z0-9]+)(?:-+[a-z0-9]+)*\Z", re.I)


def is_valid_email_syntax(addr):
    if len(addr) > 254 or "@" not in addr:
        return False
    local, _, domain = addr.rpartition("@")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        import ipaddress
        literal = domain[1:-1]
        try:
            if literal[:5].lower() == "ipv6:":
                ipaddress.IPv6Address(literal[5:])
            else:
                ipaddress.IPv4Address(literal)
        except ValueError:
            return False
        return True
    labels = domain.split(".")
    if len(labels) < 2 or any(len(label) > 63 for label in labels):
        return False
    return all(_LABEL.match(label) for label in labels[:-1]) and bool(_TLD.match(labels[-1]))


# ------------------------------------------------------------ lookups

def lookup_auth(db, authenticator):
    return db.query_one("SELECT * FROM user WHERE authenticator = %s", (authenticator,))


def lookup_id(db, userid):
    return db.query_one("SELECT * FROM user WHERE id = %s", (userid,))


def lookup_email(db, email_addr):
    return db.query_one("SELECT * FROM user WHERE email_addr = %s", (email_addr,))


def lookup_prev_email(db, email_addr, now=None):
    """An account that gave up ``email_addr`` in the last 7 days."""
    since = (now or time.time()) - PREV_EMAIL_WINDOW
    return db.query_one("SELECT * FROM user WHERE email_addr_change_time > %s "
                        "AND previous_email_addr = %s", (since, email_addr))


# ------------------------------------------------------------ passwords

def set_passwd_hash(db, user, passwd_hash):
    """Store (bcrypt of) the client hash ``passwd_hash`` in the user's row."""
    stored = passwd.hash_passwd(passwd_hash)
    db.execute("UPDATE user SET passwd_hash = %s WHERE id = %s", (stored, user["id"]))
    user["passwd_hash"] = stored


def check_passwd_hash(db, user, passwd_hash):
    """BOINC's check_passwd_hash: bcrypt or old md5 row; good logins are rehashed."""
    ok, rehash = passwd.verify(passwd_hash, user["passwd_hash"] or "")
    if ok and rehash:
        set_passwd_hash(db, user, passwd_hash)
    return ok


def passwd_hash_matches(user, passwd_hash):
    """create_account's test: the stored value is the hash itself or its bcrypt."""
    return passwd.verify(passwd_hash, user["passwd_hash"] or "")[0]


# ------------------------------------------------------------ new accounts

def make_user(db, email_addr, name, passwd_hash, country=DEFAULT_COUNTRY, postal_code="",
              project_prefs="", teamid=0, show_hosts=1):
    """Insert an account as BOINC's make_user(); the new row, or None if the
    e-mail address or the name is taken."""
    now = int(time.time())
    row = dict(create_time=now, email_addr=email_addr, name=name,
               authenticator=random_string(), country=country, postal_code=postal_code,
               total_credit=0, expavg_credit=0, expavg_time=now, project_prefs=project_prefs,
               teamid=teamid, venue="", send_email=1, show_hosts=show_hosts, posts=0,
               seti_id=0, seti_nresults=0, seti_last_result_time=0, seti_total_cpu=0,
               has_profile=0, cross_project_id=random_string(),
               passwd_hash=passwd.hash_passwd(passwd_hash), email_validated=0, donated=0)
    names = list(row)
    try:
        userid = db.insert("INSERT INTO user (%s) VALUES (%s)" % (
            ", ".join(names), ", ".join(["%s"] * len(names))), tuple(row[n] for n in names))
    except DatabaseError:
        # BOINC answers "not unique" when the insert fails; a lost database
        # is still an error of its own.
        if db.query_one("SELECT id FROM user WHERE email_addr = %s OR name = %s",
                        (email_addr, name)):
            return None
        raise
    return lookup_id(db, userid)


def default_show_hosts(cfg):
    """0 when <enable_privacy_by_default> is set, else 1."""
    return 0 if config_bool(cfg, "enable_privacy_by_default") else 1


def config_bool(cfg, tag):
    """PHP's project_config_bool: present and not '0'."""
    value = cfg.get(tag)
    return value is not None and value != "0"


# ------------------------------------------------------------ consent

def consent_type_id(db, shortname):
    """The id of an enabled consent type, or None (BOINC's check_consent_type)."""
    row = db.query_one("SELECT id, enabled FROM consent_type WHERE shortname = %s",
                       (shortname,))
    return row["id"] if row and row["enabled"] else None


def record_consent(db, user, ctid, flag, not_required, source, when=None):
    db.insert("INSERT INTO consent (userid, consent_type_id, consent_time, consent_flag, "
              "consent_not_required, source) VALUES (%s, %s, %s, %s, %s, %s)",
              (user["id"], ctid, when or user["create_time"], flag, not_required, source))


# ------------------------------------------------------------ teams

def lookup_team(db, teamid):
    return db.query_one("SELECT * FROM team WHERE id = %s", (teamid,))


def quit_team(db, user, now=None):
    """BOINC's user_quit_team: leave, drop team-admin rights, record the change."""
    teamid = user["teamid"]
    if not teamid:
        return
    db.execute("UPDATE user SET teamid = 0 WHERE id = %s", (user["id"],))
    db.execute("UPDATE team SET ping_user = -ping_user WHERE id = %s AND ping_user = %s",
               (teamid, user["id"]))
    db.execute("DELETE FROM team_admin WHERE teamid = %s AND userid = %s",
               (teamid, user["id"]))
    db.execute("INSERT INTO team_delta (userid, teamid, timestamp, joining, total_credit) "
               "VALUES (%s, %s, %s, 0, %s)",
               (user["id"], teamid, int(now or time.time()), user["total_credit"]))
    user["teamid"] = 0


def join_team(db, team, user, now=None):
    """BOINC's user_join_team: quit the old team, join, record the change."""
    now = int(now or time.time())
    quit_team(db, user, now)
    db.execute("UPDATE user SET teamid = %s WHERE id = %s", (team["id"], user["id"]))
    db.execute("INSERT INTO team_delta (userid, teamid, timestamp, joining, total_credit) "
               "VALUES (%s, %s, %s, 1, %s)", (user["id"], team["id"], now, user["total_credit"]))
    user["teamid"] = team["id"]
