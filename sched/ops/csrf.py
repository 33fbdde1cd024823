"""Tokens that tie a change (POST) to a page this server gave the operator.

Apache checks who the operator is (HTTP basic authentication); the token
proves the form came from one of our pages, not from another site the
operator's browser visits while logged in.  A token is
``TIME.HMAC(secret, "csrf USER TIME")``: bound to the htpasswd user, valid
for :data:`MAX_AGE` seconds, and checkable without server-side sessions.

The secret is ``html/ops/.htsecret`` (random, made at install time, never
in git).  Apache refuses to serve ``.ht*`` files; it must be readable by
Apache's user and nobody else (mode 0600 owned by Apache's user when
installed as root, else 0640 with the project's group).
"""

import hashlib
import hmac
import os
import pwd
import secrets
import time

SECRET_FILE = os.path.join("html", "ops", ".htsecret")
MAX_AGE = 12 * 3600


def secret_path(project_dir):
    return os.path.join(project_dir, SECRET_FILE)


def load_secret(project_dir):
    """The project's secret as bytes, or None if missing or unreadable."""
    try:
        with open(secret_path(project_dir), "rb") as f:
            data = f.read().strip()
    except OSError:
        return None
    return data if len(data) >= 32 else None


def ensure_secret(project_dir, httpd_user=None):
    """Make the secret file if it is missing; returns its path.

    As root the file is given to ``httpd_user`` (mode 0600); otherwise it
    stays ours with mode 0640, readable by Apache through the project's
    group (BOINC's set-up: Apache's user is in the project owner's group).
    """
    path = secret_path(project_dir)
    if os.path.exists(path):
        return path
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
    finally:
        os.close(fd)
    owner = None
    if os.geteuid() == 0 and httpd_user:
        try:
            owner = pwd.getpwnam(httpd_user)
        except KeyError:
            owner = None
    if owner is not None:
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
    else:
        os.chmod(tmp, 0o640)
    os.replace(tmp, path)
    return path


def _mac(secret, purpose, user, stamp):
    msg = ("%s %s %s" % (purpose, user, stamp)).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def make_token(secret, user, now=None):
    stamp = "%d" % (time.time() if now is None else now)
    return "%s.%s" % (stamp, _mac(secret, "csrf", user, stamp))


def check_token(secret, user, token, now=None, max_age=MAX_AGE):
    """True if ``token`` is one we made for ``user`` less than ``max_age`` s ago."""
    if not secret or not token or "." not in token:
        return False
    stamp, mac = token.split(".", 1)
    if not stamp.isdigit():
        return False
    now = time.time() if now is None else now
    if not -60 <= now - int(stamp) <= max_age:
        return False
    return hmac.compare_digest(mac, _mac(secret, "csrf", user, stamp))


def sign_note(secret, user, text):
    """A MAC for a message carried in a redirect URL (shown after a change)."""
    return _mac(secret, "note", user, text)[:32]


def check_note(secret, user, text, mac):
    return bool(secret and mac) and hmac.compare_digest(mac, sign_note(secret, user, text))
