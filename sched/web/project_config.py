"""``get_project_config.php``: what the Manager's attach wizard learns first.

Elements and their order are BOINC's (html/user/get_project_config.php).
It answers while ``stop_web`` exists (with ``error_num`` -183 and
``web_stopped`` 1, without touching the database), so a client can tell a
project in maintenance from a dead URL.
"""

import base64
import os

from ..accounts import config_bool
from .app import php_true
from .reply import esc

# The version of BOINC's web RPC interface we mirror (html/inc/server_version.inc).
SERVER_VERSION = "1.1.0"
DEFAULT_MIN_PASSWD_LENGTH = 6


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def platforms(db):
    """(name, user_friendly_name, plan_class) of every live app version's platform."""
    return db.rows(
        "SELECT platform.name, MIN(platform.user_friendly_name), app_version.plan_class "
        "FROM platform JOIN app_version ON app_version.platformid = platform.id "
        "JOIN app ON app_version.appid = app.id "
        "WHERE app_version.deprecated = 0 AND app.deprecated = 0 "
        "GROUP BY platform.name, app_version.plan_class "
        "ORDER BY platform.name, app_version.plan_class")


def get_project_config(req):
    cfg = req.cfg
    master_url = cfg.get("master_url", "")
    out = ["<project_config>\n",
           "    <name>%s</name>\n" % esc(cfg.get("long_name", "")),
           "    <master_url>%s</master_url>\n" % esc(master_url),
           "    <web_rpc_url_base>%s</web_rpc_url_base>\n" % esc(master_url),
           "<server_version>%s</server_version>\n" % SERVER_VERSION]
    if config_bool(cfg, "account_manager"):
        out.append("    <account_manager/>\n")
    local_revision = (_read(req.path("local.revision")) or "").strip()
    if local_revision:
        out.append("<local_revision>%s</local_revision>\n" % esc(local_revision))
    stopped = req.web_stopped()
    if stopped:
        out.append("    <error_num>-183</error_num>\n    <web_stopped>1</web_stopped>\n")
    else:
        out.append("    <web_stopped>0</web_stopped>\n")
    if config_bool(cfg, "disable_account_creation"):
        out.append("    <account_creation_disabled/>\n")
    if config_bool(cfg, "disable_account_creation_rpc"):
        # Not in BOINC's reply, but the client reads it: the Manager then
        # sends people to the web site instead of failing at create_account.
        out.append("    <client_account_creation_disabled/>\n")
    min_passwd_length = cfg.get("min_passwd_length")
    if not php_true(min_passwd_length):
        min_passwd_length = str(DEFAULT_MIN_PASSWD_LENGTH)
    out.append("    <min_passwd_length>%s</min_passwd_length>\n" % esc(min_passwd_length))
    out.append("    <sched_stopped>%d</sched_stopped>\n" % req.sched_stopped())
    min_client_version = cfg.get("min_core_client_version")
    if php_true(min_client_version):
        out.append("<min_client_version>%s</min_client_version>\n" % esc(min_client_version))

    out.append("    <platforms>\n")
    if not stopped:
        for name, friendly, plan_class in platforms(req.db):
            out.append("        <platform>\n"
                       "            <platform_name>%s</platform_name>\n"
                       "            <user_friendly_name>%s</user_friendly_name>\n"
                       % (esc(name), esc(friendly)))
            if plan_class:
                out.append("            <plan_class>%s</plan_class>\n" % esc(plan_class))
            out.append("        </platform>\n")
    out.append("    </platforms>\n")

    terms = (_read(req.path("terms_of_use.txt")) or "").strip()
    if terms:
        out.append("    <terms_of_use>\n%s\n</terms_of_use>\n" % terms)
    keywords = _read(req.path("project_keywords.xml"))
    if keywords:
        out.append(keywords)
    key_file = os.path.join(cfg.keys_dir, "account_ownership_public.pem")
    try:
        with open(key_file, "rb") as f:
            key = base64.b64encode(f.read()).decode("ascii")
        out.append("    <account_ownership_public_key>%s</account_ownership_public_key>\n" % key)
    except OSError:
        pass
    out.append("</project_config>")
    return "".join(out)
