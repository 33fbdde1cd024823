"""Global and project preferences: which to use, store and send back.

BOINC's rule (handle_request.cpp, handle_global_prefs): schedule with the
client's working prefs if it sent them, else with the newer of its master
prefs and the account's stored prefs; store the client's master prefs when
they are newer and came from this account; send the stored prefs back when
they are newer than both.  Venue sections apply per host venue.
"""

import time

from .scan import as_float, as_str, children, element

NUMERIC = ("disk_max_used_gb", "disk_max_used_pct", "disk_min_free_gb", "work_buf_min_days",
           "ram_max_used_busy_pct", "ram_max_used_idle_pct", "max_ncpus_pct", "mod_time")


def _inner(xml, tag):
    """Inner text of <tag> if the document is wrapped in it, else the text itself."""
    inner = element(xml or "", tag)
    return inner if inner is not None else (xml or "")


def parse_global(xml, venue=""):
    """Numeric global prefs from raw XML, with the host's venue section applied."""
    body = _inner(xml, "global_preferences")
    values = {}
    venue_body = None
    for tag, inner, attrs in children(body):
        if tag in NUMERIC:
            values[tag] = as_float(inner)
        elif tag == "venue" and venue and ('"%s"' % venue) in (attrs or ""):
            venue_body = inner
    if venue_body:
        for tag, inner, _ in children(venue_body):
            if tag in NUMERIC:
                values[tag] = as_float(inner)
    return values


def parse_project(xml, venue=""):
    """The project prefs the scheduler reads (beta, app selection, CPU/job limits)."""
    body = _inner(xml, "project_preferences")
    if venue:
        for tag, inner, attrs in children(body):
            if tag == "venue" and ('"%s"' % venue) in (attrs or ""):
                body = inner
                break
    prefs = {"app_ids": []}
    for tag, inner, _ in children(body):
        if tag == "allow_beta_work":
            prefs[tag] = as_str(inner) not in ("", "0")
        elif tag == "apps_selected":
            prefs["app_ids"] = [int(as_str(v)) for t, v, _ in children(inner or "")
                                if t == "app_id" and as_str(v).isdigit()]
        elif tag in ("allow_non_preferred_apps", "no_cpu", "no_gpus"):
            prefs[tag] = as_str(inner) not in ("", "0")
        elif tag in ("max_cpus", "max_jobs"):
            prefs[tag] = as_float(inner)
    return prefs


def handle_global_prefs(ctx):
    """Set ctx.prefs (for scheduling); store/send master prefs per BOINC's rule."""
    req, user, reply, db = ctx.req, ctx.user, ctx.reply, ctx.db
    venue = ctx.host.get("venue", "")
    db_xml = _text(user["global_prefs"])
    now = time.time()
    req_mod = min(parse_global(req.global_prefs_xml).get("mod_time", 0.0), now) \
        if req.global_prefs_xml else 0.0
    db_mod = min(parse_global(db_xml).get("mod_time", 0.0), now) if db_xml else 0.0
    if req.global_prefs_xml:
        from ..md5 import md5_hex
        same_account = req.global_prefs_source_email_hash == md5_hex(user["email_addr"])
        if (not db_xml) or (req_mod > db_mod and same_account):
            db.execute("UPDATE user SET global_prefs=%s WHERE id=%s",
                       (req.global_prefs_xml, user["id"]))
            user["global_prefs"] = req.global_prefs_xml
            db_xml, db_mod = req.global_prefs_xml, req_mod
    working_mod = parse_global(req.working_global_prefs_xml).get("mod_time", 0.0) \
        if req.working_global_prefs_xml else 0.0
    if db_xml and db_mod > req_mod and db_mod > working_mod:
        reply.send_global_prefs = True
    if req.working_global_prefs_xml:
        ctx.prefs = parse_global(req.working_global_prefs_xml, venue)
    elif req_mod >= db_mod and req.global_prefs_xml:
        ctx.prefs = parse_global(req.global_prefs_xml, venue)
    else:
        ctx.prefs = parse_global(db_xml, venue)
    ctx.project_prefs = parse_project(_text(user["project_prefs"]), venue)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""
