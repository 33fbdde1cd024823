"""Who is asking: the user (by account key or weak key) and the host record.

BOINC's rules (handle_request.cpp, authenticate_user): a request naming a
host is checked against that host's owner; merged hosts are followed; a host
of another user, a lower rpc_seqno (a cloned client) or no host at all
leads to a search by CPID, then by identical hardware, then a new row.
"""

import time

from .. import states
from ..md5 import md5_hex
from .reply import weak_auth

DELAY_MISSING_KEY = 3600
HOST_REQUEST_FIELDS = (
    "timezone", "domain_name", "last_ip_addr", "p_ncpus", "p_vendor", "p_model",
    "p_fpops", "p_iops", "p_membw", "os_name", "os_version", "product_name", "m_nbytes",
    "m_cache", "m_swap", "d_total", "d_free", "n_bwup", "n_bwdown")
USER_COLUMNS = ("id, create_time, email_addr, name, authenticator, total_credit, "
                "expavg_credit, expavg_time, global_prefs, project_prefs, teamid, venue, "
                "cross_project_id, passwd_hash, seti_id")


class AuthFailed(Exception):
    """The account key matched nobody: the reply says so and nothing else."""


def _user_where(db, clause, args):
    return db.query_one("SELECT %s FROM user WHERE %s" % (USER_COLUMNS, clause), args)


def _lookup_by_key(db, authenticator):
    """A user by account key, or by weak key (``ID_md5``)."""
    if "_" in authenticator:
        try:
            userid = int(authenticator.split("_", 1)[0])
        except ValueError:
            return None, False
        user = _user_where(db, "id=%s", (userid,))
        if user and weak_auth(user) == authenticator:
            return user, True
        return None, False
    if not authenticator:
        return None, False
    return _user_where(db, "authenticator=%s", (authenticator,)), False


def _host(db, hostid):
    return db.query_one("SELECT * FROM host WHERE id=%s", (hostid,))


_OWNER_COLUMNS = [c.strip() for c in USER_COLUMNS.split(",")]
_OWNER_KEYS = [(c, "owner." + c) for c in _OWNER_COLUMNS]
_HOST_AND_OWNER = ("SELECT host.*, %s FROM host LEFT JOIN user ON user.id=host.userid "
                   "WHERE host.id=%%s" % ", ".join("user.%s AS `owner.%s`" % (c, c)
                                                   for c in _OWNER_COLUMNS))


def _host_and_owner(db, hostid):
    """The host and its owner in one statement (the usual RPC: a known host)."""
    row = db.query_one(_HOST_AND_OWNER, (hostid,))
    if row is None:
        return None, None
    owner = {c: row.pop(key) for c, key in _OWNER_KEYS}
    return row, (owner if owner["id"] is not None else None)


def _obviously_different(host, req_host):
    return (host["p_ncpus"] != req_host.get("p_ncpus", 0)
            or any(host[k] != req_host.get(k, "") for k in
                   ("p_vendor", "p_model", "os_name", "os_version")))


def _mark_results_over(ctx, host):
    """A client that re-attached lost its tasks: they end as CLIENT_DETACHED."""
    now = int(time.time())
    rows = ctx.db.query("SELECT id, name, workunitid FROM result WHERE hostid=%s "
                        "AND server_state=%s", (host["id"], states.RESULT_SERVER_STATE_IN_PROGRESS))
    for r in rows:
        ctx.db.execute("UPDATE result SET server_state=%s, outcome=%s, received_time=%s "
                       "WHERE id=%s AND server_state=%s",
                       (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_CLIENT_DETACHED,
                        now, r["id"], states.RESULT_SERVER_STATE_IN_PROGRESS))
        ctx.db.execute("UPDATE workunit SET transition_time=%s WHERE id=%s",
                       (now, r["workunitid"]))
        ctx.log.critical("[HOST#%d] [RESULT#%d] [WU#%d] changed CPID: marking in-progress "
                         "result %s as client error!", host["id"], r["id"], r["workunitid"],
                         r["name"])


def _find_host_by_cpid(ctx, user):
    cpid = ctx.req.host.get("host_cpid", "")
    if not cpid:
        return None
    hashed = md5_hex(cpid + user["email_addr"])
    return ctx.db.query_one("SELECT * FROM host WHERE userid=%s AND host_cpid=%s "
                            "ORDER BY id DESC LIMIT 1", (user["id"], hashed))


def _find_host_by_other(ctx, user, after_id):
    if user["id"] in ctx.cfg.dont_search_host_for_user:
        return None
    h = ctx.req.host
    keys = ("domain_name", "last_ip_addr", "os_name", "p_model")
    if not all(h.get(k) for k in keys):
        return None
    return ctx.db.query_one(
        "SELECT * FROM host WHERE userid=%s AND id>%s AND domain_name=%s AND "
        "last_ip_addr=%s AND os_name=%s AND p_model=%s AND m_nbytes=%s "
        "ORDER BY id DESC LIMIT 1",
        (user["id"], after_id, h["domain_name"], h["last_ip_addr"], h["os_name"],
         h["p_model"], h.get("m_nbytes", 0.0)))


# Every host column without a default in BOINC's schema, as a new host starts.
_HOST_ZERO = ("rpc_seqno rpc_time total_credit expavg_credit timezone nsame_ip_addr on_frac "
              "connected_frac active_frac cpu_efficiency duration_correction_factor p_ncpus "
              "p_fpops p_iops p_membw m_nbytes m_cache m_swap d_total d_free "
              "d_boinc_used_total d_boinc_used_project d_boinc_max n_bwup n_bwdown "
              "credit_per_cpu_sec nresults_today avg_turnaround max_results_day "
              "gpu_active_frac p_ngpus p_gpu_fpops").split()
_HOST_EMPTY = ("domain_name serialnum last_ip_addr p_vendor p_model os_name os_version venue "
               "host_cpid external_ip_addr product_name").split()
_has_misc = {}


def _host_has_misc(db):
    """Whether host.misc exists (BOINC added it in 2025; older projects lack it)."""
    if db.name not in _has_misc:
        _has_misc[db.name] = bool(db.scalar(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema=DATABASE() "
            "AND table_name='host' AND column_name='misc'"))
    return _has_misc[db.name]


def _new_host(ctx, user):
    now = int(time.time())
    values = dict.fromkeys(_HOST_ZERO, 0)
    values.update(dict.fromkeys(_HOST_EMPTY, ""))
    values.update({k: v for k, v in ctx.req.host.items() if k in HOST_REQUEST_FIELDS})
    values.update(create_time=now, userid=user["id"], rpc_seqno=0, expavg_time=now,
                  venue=user["venue"] or "")
    if _host_has_misc(ctx.db):
        values["misc"] = ""
    cols = sorted(values)
    new_id = ctx.db.insert("INSERT INTO host (%s) VALUES (%s)"
                           % (", ".join(cols), ", ".join(["%s"] * len(cols))),
                           [values[c] for c in cols])
    return _host(ctx.db, new_id)


def authenticate(ctx):
    """Set ctx.user, ctx.host, ctx.team; raise AuthFailed with the reply filled."""
    req, reply, db, log = ctx.req, ctx.reply, ctx.db, ctx.log
    user, weak = None, False
    host = None
    need_new = False
    if req.hostid:
        host, owner = _host_and_owner(db, req.hostid)
        while host and host["userid"] == 0:          # merged: follow the pointer
            forward, owner = _host_and_owner(db, host["rpc_seqno"])
            if forward is None:
                host = None
                break
            log.normal("[HOST#%d] forwarding to new host ID %d", req.hostid, forward["id"])
            reply.new_hostid = forward["id"]
            host = forward
        if host is None:
            reply.message("Can't find host record", "low")
            log.normal("[HOST#%d?] can't find host", req.hostid)
            req.hostid = 0
    if host is not None:
        if owner and owner["authenticator"] == req.authenticator:
            user = owner
        elif owner and weak_auth(owner) == req.authenticator:
            user, weak = owner, True
            log.debug("[HOST#%d] accepting weak authenticator", host["id"])
        else:
            user = _user_where(db, "authenticator=%s", (req.authenticator,)) \
                if req.authenticator else None
            if user is None:
                reply.message("Invalid or missing account key.  To fix, remove and add "
                              "this project.", "notice")
                reply.set_delay(DELAY_MISSING_KEY)
                reply.nucleus_only = True
                log.critical("[HOST#%d] [USER#%d] Bad authenticator '%s'", host["id"],
                             host["userid"], req.authenticator)
                raise AuthFailed()
        if host["userid"] != user["id"]:
            log.normal("[HOST#%d] [USER#%d] inconsistent host ID; creating new host",
                       host["id"], user["id"])
            need_new = True
        elif req.rpc_seqno < host["rpc_seqno"]:
            log.normal("[HOST#%d] [USER#%d] RPC seqno %d less than expected %d; creating "
                       "new host", host["id"], user["id"], req.rpc_seqno, host["rpc_seqno"])
            req.hostid = 0
            need_new = True
        if need_new:
            host = _assign_host(ctx, user, host, search_cpid=False)
    else:
        user, weak = _lookup_by_key(db, req.authenticator)
        if user is None:
            reply.message("Invalid or missing account key.  To fix, remove and add this "
                          "project .", "low")
            reply.set_delay(DELAY_MISSING_KEY)
            reply.nucleus_only = True
            log.critical("[HOST#<none>] Bad authenticator '%s': %s", req.authenticator,
                         "invalid authenticator")
            raise AuthFailed()
        host = _assign_host(ctx, user, None, search_cpid=True)

    ctx.user, ctx.host, ctx.weak_auth = user, host, weak
    ctx.team = db.query_one("SELECT id, name FROM team WHERE id=%s", (user["teamid"],)) \
        if user["teamid"] else None
    reply.user, reply.host, reply.team = user, host, ctx.team
    reply.email_hash = md5_hex(user["email_addr"])
    if not weak and req.cross_project_id and req.cross_project_id != user["cross_project_id"]:
        db.execute("UPDATE user SET cross_project_id=%s WHERE id=%s",
                   (req.cross_project_id, user["id"]))


def _assign_host(ctx, user, old_host, search_cpid):
    """Reuse a host record of this user if one fits, else create one."""
    req, log = ctx.req, ctx.log
    host = None
    if search_cpid:
        found = _find_host_by_cpid(ctx, user)
        if found:
            log.normal("[HOST#%d] [USER#%d] No host ID in request, but host with matching "
                       "CPID found.", found["id"], found["userid"])
            if _obviously_different(found, req.host):
                log.normal("[HOST#%d] [USER#%d] But that host doesn't match request.",
                           found["id"], found["userid"])
            else:
                if req.allow_multiple_clients != 1 and not req.other_results:
                    _mark_results_over(ctx, found)
                host = found
    if host is None and req.allow_multiple_clients != 1:
        found = _find_host_by_other(ctx, user, old_host["id"] if old_host else 0)
        if found:
            log.normal("[HOST#%d] [USER#%d] Found similar existing host for this user - "
                       "assigned.", found["id"], found["userid"])
            if not req.other_results:
                _mark_results_over(ctx, found)
            host = found
    if host is None:
        host = _new_host(ctx, user)
    ctx.reply.new_hostid = host["id"]
    req.rpc_seqno = 0
    return host
