"""User accounts for tests: a ``user`` row as BOINC's account creation makes it.

BOINC's rules (html/user/create_account.php, html/inc/user_util.inc):
the e-mail address is lower-cased; the client-side password hash is
md5(password + lower-cased e-mail), and the row stores PHP's
``password_hash()`` of that (bcrypt, ``$2y$``).  BOINC's login code still
accepts a row holding the bare md5 (the older form) and upgrades it, so
where Python's ``crypt`` module is missing (3.13+) we store that form.
The account key (authenticator) and cross_project_id are 32 random hex chars.
"""

import hashlib
import secrets
import time
import warnings

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt as _crypt
except ImportError:          # removed from the standard library in Python 3.13
    _crypt = None

_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BCRYPT_COST = 10             # PHP's PASSWORD_DEFAULT cost


def random_string():
    """32 lowercase hex chars, like BOINC's ``random_string()``."""
    return secrets.token_hex(16)


def client_passwd_hash(passwd, email):
    """What a client sends as passwd_hash: md5(password + lower-cased e-mail)."""
    return hashlib.md5((passwd + email.lower()).encode("utf-8")).hexdigest()


def db_passwd_hash(passwd, email):
    """The stored ``user.passwd_hash`` for ``passwd`` (bcrypt when we can)."""
    md5 = client_passwd_hash(passwd, email)
    if _crypt is None:
        return md5
    salt = "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(22))
    hashed = _crypt.crypt(md5, "$2y$%02d$%s" % (BCRYPT_COST, salt))
    return hashed if hashed and hashed.startswith("$2y$") else md5


def passwd_matches(stored, passwd, email):
    """BOINC's check: bcrypt of the client hash, or (older rows) the bare md5."""
    md5 = client_passwd_hash(passwd, email)
    if stored.startswith("$2") and _crypt is not None:
        return _crypt.crypt(md5, stored) == stored
    return stored == md5


# Every NOT NULL column of ``user`` without a default, with the value
# BOINC's make_user() gives a new account.
_DEFAULTS = dict(
    country="International", postal_code="", total_credit=0, expavg_credit=0,
    project_prefs="", teamid=0, venue="", send_email=1, show_hosts=1, posts=0,
    seti_id=0, seti_nresults=0, seti_last_result_time=0, seti_total_cpu=0,
    has_profile=0, email_validated=0, donated=0,
)


def create_user(db, email, name, passwd="x", **columns):
    """Insert a new user into the project DB ``db``; return its authenticator.

    ``columns`` override any column (e.g. ``teamid=3``, ``authenticator=...``).
    """
    email = email.lower()
    now = int(time.time())
    row = dict(_DEFAULTS, create_time=now, expavg_time=now, email_addr=email, name=name,
               authenticator=random_string(), cross_project_id=random_string(),
               passwd_hash=db_passwd_hash(passwd, email))
    row.update(columns)
    names = sorted(row)
    db.execute("INSERT INTO user (%s) VALUES (%s)" % (", ".join(names), ", ".join(["%s"] * len(names))),
               tuple(row[n] for n in names))
    return row["authenticator"]
