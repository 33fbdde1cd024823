"""Public user and team records: ``show_user.php?format=xml`` and
``team_lookup.php`` (BOINC's html/user files; XML as html/inc/xml.inc).

Only the XML forms are served: the HTML pages belong to BOINC's PHP site.
"""

from .. import accounts
from .app import Page, is_numeric
from .reply import ERR_DB_NOT_FOUND, RpcError, esc, num

HOST_FIELDS = ("id", "create_time", "rpc_seqno", "rpc_time", "host_cpid", "total_credit",
               "expavg_credit", "expavg_time", "domain_name", "p_ncpus", "p_vendor",
               "p_model", "p_fpops", "p_iops", "os_name", "os_version", "m_nbytes",
               "d_free", "d_total", "venue")
TEAM_FIELDS = ("id", "create_time", "userid", "name", "url", "type", "country",
               "total_credit", "expavg_credit", "expavg_time")
MAX_TEAMS = 100


def _html_only(name):
    return Page("%s: this server answers only the XML form (format=xml).\n" % name,
                "404 Not Found")


def normalize_user_url(url):
    """BOINC's normalize_user_url: http(s):// plus [-_./#?&=A-Za-z0-9], else ''."""
    parts = url.split("//")
    if len(parts) == 1:
        rest = url
    elif len(parts) == 2 and parts[0].lower() in ("http:", "https:"):
        rest = parts[1]
    else:
        return ""
    if not url or any(not (c.isascii() and (c.isalnum() or c in "-_./#?&=")) for c in rest):
        return ""
    lower = url.lower()
    if lower.startswith("http://"):
        return "http://" + url[7:]
    if lower.startswith("https://"):
        return "https://" + url[8:]
    return "http://" + url


def user_xml(db, cfg, user, show_hosts):
    out = ["<user>\n",
           "    <id>%d</id>\n" % user["id"],
           "    <cpid>%s</cpid>\n" % accounts.public_cpid(user),
           "    <create_time>%d</create_time>\n" % user["create_time"],
           "    <name>%s</name>\n" % esc(user["name"]),
           "    <total_credit>%s</total_credit>\n" % num(user["total_credit"]),
           "    <expavg_credit>%s</expavg_credit>\n" % num(user["expavg_credit"]),
           "    <expavg_time>%s</expavg_time>\n" % num(user["expavg_time"]),
           "    <teamid>%d</teamid>\n" % user["teamid"],
           "    <has_profile>%d</has_profile>\n" % user["has_profile"]]
    if show_hosts:
        out.append("   <venue>%s</venue>\n" % esc(user["venue"]))
        hosts = db.query("SELECT %s FROM host WHERE userid = %%s ORDER BY id"
                         % ", ".join(HOST_FIELDS), (user["id"],))
        for host in hosts:
            out.append("    <host>\n")
            out += ["        <%s>%s</%s>\n" % (f, esc(host[f]), f) for f in HOST_FIELDS]
            out.append("    </host>\n")
    if cfg.user_country:
        out.append("     <country>%s</country>\n" % esc(user["country"]))
    if cfg.user_url and user["url"]:
        out.append("    <url>%s</url>\n" % esc(normalize_user_url(user["url"])))
    out.append("</user>\n")
    return "".join(out)


def show_user(req):
    auth = req.get_str("auth", True)
    userid = None if auth else req.get_int("userid")
    if req.get_str("format", True) != "xml":
        return _html_only("show_user.php")
    db = req.db_init()
    if auth:
        user, show_hosts = accounts.lookup_auth(db, auth), True
    else:
        user, show_hosts = accounts.lookup_id(db, userid), False
    if not user:
        raise RpcError(ERR_DB_NOT_FOUND)
    return user_xml(db, req.cfg, user, show_hosts)


def team_xml(team):
    return "<team>\n%s</team>\n" % "".join(
        "    <%s>%s</%s>\n" % (f, esc(team[f]), f) for f in TEAM_FIELDS)


def _team(db, teamid):
    return db.query_one("SELECT %s FROM team WHERE id = %%s" % ", ".join(TEAM_FIELDS),
                        (teamid,))


def team_lookup(req):
    fmt = req.get_str("format", True)
    team_id = req.get_int("team_id", True)
    team_ids = req.get_str("team_ids", True)
    if not (team_id or team_ids or fmt == "xml"):
        return _html_only("team_lookup.php")
    db = req.db_init()
    if team_id:
        team = _team(db, team_id)
        if not team:
            raise RpcError(ERR_DB_NOT_FOUND)
        return team_xml(team)
    if team_ids:
        out = []
        for item in team_ids.split(","):
            if not is_numeric(item):
                continue
            team = _team(db, int(float(item)))
            if team:
                out.append(team_xml(team))
                if len(out) == MAX_TEAMS:
                    break
        return "<teams>\n%s</teams>\n" % "".join(out)
    pattern = req.get_str("team_name").lower()
    for c in ("\\", "_", "%"):
        pattern = pattern.replace(c, "\\" + c)
    teams = db.query("SELECT %s FROM team WHERE name LIKE %%s ORDER BY expavg_credit DESC "
                     "LIMIT %d" % (", ".join(TEAM_FIELDS), MAX_TEAMS), ("%" + pattern + "%",))
    return "<teams>\n%s</teams>\n" % "".join(team_xml(t) for t in teams)
