"""Account-manager RPCs: ``am_get_info.php``, ``am_set_info.php``,
``am_set_host_info.php`` (BOINC's html/user files of those names).

BOINC's current code refuses am_set_info ("not supported"); so do we.
``<postal_code>`` (BOINC's POSTAL_CODE setting of project.inc) is not sent.
"""

from .. import accounts
from .reply import ERR_DB_NOT_FOUND, RpcError, esc, text_of, urlencode


def am_get_info(req):
    db = req.db_init()
    user = accounts.lookup_auth(db, req.get_str("account_key"))
    if not user:
        raise RpcError(ERR_DB_NOT_FOUND)
    parts = [
        "<id>%d</id>\n" % user["id"],
        "<name>%s</name>\n" % urlencode(user["name"]),
        "<country>%s</country>\n" % urlencode(user["country"]),
        "<weak_auth>%s</weak_auth>\n" % accounts.weak_auth(user),
        "<cpid>%s</cpid>\n" % accounts.public_cpid(user),
        "<has_profile>%d</has_profile>\n" % user["has_profile"],
        "<create_time>%d</create_time>\n" % user["create_time"],
        # The preferences are XML documents of their own, sent as stored.
        "<global_prefs>\n%s\n</global_prefs>\n" % text_of(user["global_prefs"]),
        "<project_prefs>\n%s\n</project_prefs>\n" % text_of(user["project_prefs"]),
        "<url>%s</url>\n" % urlencode(user["url"]),
        "<send_email>%d</send_email>\n" % user["send_email"],
        "<show_hosts>%d</show_hosts>\n" % user["show_hosts"],
        "<teamid>%d</teamid>\n" % user["teamid"],
        "<venue>%s</venue>" % esc(user["venue"]),
    ]
    if user["teamid"]:
        team = accounts.lookup_team(db, user["teamid"])
        if team and team["userid"] == user["id"]:
            parts.append("<teamfounder/>\n")
    return "<am_get_info_reply>\n    <success/>\n    %s\n</am_get_info_reply>\n" % "".join(parts)


def am_set_info(req):
    raise RpcError(-1, "not supported")


def am_set_host_info(req):
    db = req.db_init()
    user = accounts.lookup_auth(db, req.get_str("account_key"))
    if not user:
        raise RpcError(ERR_DB_NOT_FOUND)
    hostid = req.get_int("hostid")
    host = db.query_one("SELECT id, userid FROM host WHERE id = %s", (hostid,))
    if not host or host["userid"] != user["id"]:
        raise RpcError(ERR_DB_NOT_FOUND)
    db.execute("UPDATE host SET venue = %s WHERE id = %s", (req.get_str("venue"), hostid))
    return "<am_set_host_info_reply>\n    <success/>\n</am_set_host_info_reply>\n"

