"""``create_account.php`` and ``lookup_account.php``: an account key for an
e-mail address and password hash (BOINC's html/user files of those names).

Not done here, as they live in BOINC's PHP project files rather than
config.xml: invitation codes (INVITE_CODES), banned e-mail domains, the
stopforumspam.com check and LDAP logins.
"""

import os

from .. import accounts
from ..passwd import ascii_lower, md5_hex
from .app import php_true
from .reply import (ERR_ACCT_REQUIRE_CONSENT, ERR_BAD_EMAIL_ADDR, ERR_BAD_PASSWD,
                    ERR_BAD_USER_NAME, ERR_DB_NOT_FOUND, ERR_DB_NOT_UNIQUE, RpcError, esc)

CONSENT_TYPE_ENROLL = "ENROLL"
TERMS_OF_USE_FILE = "terms_of_use.txt"
CONSENT_REQUIRED_MSG = (
    "This project requires you to consent to its terms of use. "
    "Please update your BOINC software "
    "or register via the project's website "
    "or contact your account manager's provider.")


def _check_creation_allowed(cfg):
    if accounts.config_bool(cfg, "disable_account_creation"):
        raise RpcError(-1, "The project is not accepting new accounts.")
    if accounts.config_bool(cfg, "disable_account_creation_rpc"):
        if accounts.config_bool(cfg, "no_web_account_creation"):
            raise RpcError(-1, "The project is not accepting new accounts.")
        raise RpcError(-1, "Please visit the project web site to create an account, "
                           "then try again.")


def create_account(req):
    db = req.db_init()
    cfg = req.cfg
    _check_creation_allowed(cfg)
    email_addr = ascii_lower(req.get_str("email_addr"))
    passwd_hash = req.get_str("passwd_hash")
    user_name = req.get_str("user_name")
    team_name = req.get_str("team_name", True)
    consent_flag = req.get_str("consent_flag", True)
    source = req.get_str("source", True)

    problem = accounts.user_name_problem(user_name)
    if problem:
        raise RpcError(ERR_BAD_USER_NAME, problem)
    if not accounts.is_valid_email_syntax(email_addr):
        raise RpcError(ERR_BAD_EMAIL_ADDR)
    if len(passwd_hash.encode("utf-8")) != 32:
        raise RpcError(-1, "password hash length not 32")
    if accounts.lookup_prev_email(db, email_addr):
        raise RpcError(ERR_DB_NOT_UNIQUE)

    user = accounts.lookup_email(db, email_addr)
    if user:
        # The same address and password again: the existing account's key.
        if not accounts.passwd_hash_matches(user, passwd_hash):
            raise RpcError(ERR_DB_NOT_UNIQUE)
    else:
        user = _new_account(req, db, cfg, email_addr, user_name, passwd_hash,
                            consent_flag, source)

    if php_true(team_name):
        team = db.query_one("SELECT * FROM team WHERE name = %s", (team_name,))
        if team and team["joinable"]:
            accounts.join_team(db, team, user)

    return (" <account_out>\n   <authenticator>%s</authenticator>\n</account_out>\n"
            % esc(user["authenticator"]))


def _new_account(req, db, cfg, email_addr, user_name, passwd_hash, consent_flag, source):
    ctid = accounts.consent_type_id(db, CONSENT_TYPE_ENROLL)
    have_terms = os.path.exists(req.path(TERMS_OF_USE_FILE))
    if accounts.config_bool(cfg, "account_creation_rpc_require_consent"):
        if not have_terms:
            req.log("Project configuration error! Terms of use undefined while "
                    "'account_creation_rpc_require_consent' enabled!")
        if ctid is None:
            req.log("Project configuration error! 'CONSENT_TYPE_ENROLL' disabled while "
                    "'account_creation_rpc_require_consent' enabled!")
        if consent_flag is None or not php_true(source):
            raise RpcError(ERR_ACCT_REQUIRE_CONSENT, CONSENT_REQUIRED_MSG)

    user = accounts.make_user(db, email_addr, user_name, passwd_hash,
                              show_hosts=accounts.default_show_hosts(cfg))
    if user is None:
        raise RpcError(ERR_DB_NOT_UNIQUE)

    # Old clients send no consent: the account is made and nothing recorded.
    if ctid is not None and have_terms and consent_flag is not None and php_true(source):
        agreed = php_true(consent_flag)
        accounts.record_consent(db, user, ctid, 1 if agreed else 0, 0 if agreed else 1, source)
    return user


def lookup_account(req):
    db = req.db_init()
    # LDAP logins (ldap_auth=1) need BOINC's LDAP_HOST setting: not offered,
    # so such a request is an ordinary lookup, as in BOINC without LDAP.
    email_addr = req.get_str("email_addr")
    passwd_hash = req.get_str("passwd_hash", True)
    user = accounts.lookup_email(db, email_addr)
    if not user:
        req.login_failed()
        raise RpcError(ERR_DB_NOT_FOUND)
    if not php_true(passwd_hash):
        # The caller only asks whether an account with this address exists.
        return "<account_out>\n   <success/>\n</account_out>\n"

    auth_hash = md5_hex(user["authenticator"] + user["email_addr"])
    if not user["passwd_hash"]:
        accounts.set_passwd_hash(db, user, auth_hash)
    if not accounts.check_passwd_hash(db, user, passwd_hash) and auth_hash != passwd_hash:
        req.login_failed()
        raise RpcError(ERR_BAD_PASSWD)
    return "<account_out>\n<authenticator>%s</authenticator>\n</account_out>\n" % esc(
        user["authenticator"])
