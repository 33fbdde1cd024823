"""Find workunits, results, hosts and users; show one with its history; cancel jobs.

BOINC's db_form/db_action in spirit: a search form per table (id, name and
state fields; ``*`` in a name is a wildcard), a list with links, and a page
per row.  A workunit's page is the job's whole history: its results, when
each was created, sent and reported, how it ended, and its stderr_out.
Cancelling uses the same library calls as bin/cancel_jobs.
"""

from .. import states, work
from .app import HttpError
from .html import Raw, esc, fields, form, hidden, join, link, select, table, tag, \
    text_input, when

PAGE_SIZE = 50
CLIENT_STATE = {states.RESULT_NEW: "NEW", states.RESULT_FILES_DOWNLOADING: "FILES_DOWNLOADING",
                states.RESULT_FILES_DOWNLOADED: "FILES_DOWNLOADED",
                states.RESULT_COMPUTE_ERROR: "COMPUTE_ERROR",
                states.RESULT_FILES_UPLOADING: "FILES_UPLOADING",
                states.RESULT_FILES_UPLOADED: "FILES_UPLOADED", states.RESULT_ABORTED: "ABORTED",
                states.RESULT_UPLOAD_FAILED: "UPLOAD_FAILED"}
WU_ERRORS = [(getattr(states, n), n[len("WU_ERROR_"):]) for n in dir(states)
             if n.startswith("WU_ERROR_")]
# Columns never shown: secrets of the account.
HIDDEN = {"user": ("authenticator", "passwd_hash", "login_token")}

# WU state filters: name -> (label, SQL condition)
WU_STATES = {
    "unsent": ("has unsent results", "EXISTS (SELECT 1 FROM result r WHERE r.workunitid="
               "workunit.id AND r.server_state=%d)" % states.RESULT_SERVER_STATE_UNSENT),
    "in_progress": ("has results in progress", "EXISTS (SELECT 1 FROM result r WHERE "
                    "r.workunitid=workunit.id AND r.server_state=%d)"
                    % states.RESULT_SERVER_STATE_IN_PROGRESS),
    "need_validate": ("waiting for validation", "need_validate=1"),
    "assimilate_ready": ("waiting for assimilation",
                         "assimilate_state=%d" % states.ASSIMILATE_READY),
    "assimilated": ("assimilated", "assimilate_state=%d" % states.ASSIMILATE_DONE),
    "canonical": ("has a canonical result", "canonical_resultid<>0"),
    "error": ("errored (any error bit)", "error_mask<>0"),
    "cancelled": ("cancelled", "(error_mask & %d)<>0" % states.WU_ERROR_CANCELLED),
}

# table -> integer filters, name-like filters, select filters {field: options}
SEARCH = {
    "workunit": (("id", "appid", "batch"), ("name",), {}),
    "result": (("id", "workunitid", "hostid", "userid", "appid", "batch"), ("name",),
               {"server_state": states.SERVER_STATE, "outcome": states.OUTCOME,
                "validate_state": states.VALIDATE_STATE}),
    "host": (("id", "userid"), ("domain_name", "host_cpid"), {}),
    "user": (("id", "teamid"), ("name", "email_addr"), {}),
}


def error_mask_text(mask):
    names = [name for bit, name in WU_ERRORS if mask & bit]
    return "%d (%s)" % (mask, ", ".join(names)) if names else str(mask)


def _like(value):
    """Exact match, or LIKE with '*' as the wildcard."""
    if "*" not in value:
        return "=", value
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return " LIKE ", escaped.replace("*", "%")


def _where(req, name):
    ints, likes, selects = SEARCH[name]
    where, args = [], []
    for f in ints + tuple(selects):
        value = req.int_arg(f)
        if value is not None:
            where.append("%s=%%s" % f)
            args.append(value)
    for f in likes:
        value = req.arg(f)
        if value:
            op, value = _like(value)
            where.append("%s%s%%s" % (f, op))
            args.append(value)
    if name == "workunit" and req.arg("state") in WU_STATES:
        where.append(WU_STATES[req.arg("state")][1])
    if name == "host" and req.arg("active"):
        where.append("rpc_time>UNIX_TIMESTAMP()-86400")
    return where, args


def _search_form(req, name):
    ints, likes, selects = SEARCH[name]
    parts = [hidden("table", name)]
    for f in ints + likes:
        parts += [tag("label", join([f, " ", text_input(f, req.arg(f), 12)])), " "]
    for f, options in selects.items():
        opts = [("", "any")] + [(k, "%d %s" % (k, v)) for k, v in sorted(options.items())]
        parts += [tag("label", join([f, " ", select(f, opts, req.arg(f))])), " "]
    if name == "workunit":
        opts = [("", "any")] + [(k, label) for k, (label, _) in WU_STATES.items()]
        parts += [tag("label", join(["state ", select("state", opts, req.arg("state"))])), " "]
    if name == "host":
        parts += [tag("label", join([Raw('<input type="checkbox" name="active" value="1"%s>'
                                         % (" checked" if req.arg("active") else "")),
                                     " contacted us in the last 24 h"])), " "]
    parts.append(tag("button", "Search", type="submit"))
    return Raw('<form method="get" action="%s" class="box">%s</form>'
               % (esc(req.url("db")), join(parts)))


def search(req):
    name = req.arg("table", "workunit")
    if name not in SEARCH:
        raise HttpError("404 Not Found", "no table %r to browse" % name)
    offset = max(0, req.int_arg("offset", 0))
    where, args = _where(req, name)
    sql = "SELECT * FROM %s%s ORDER BY id DESC LIMIT %%s OFFSET %%s" % (
        name, " WHERE " + " AND ".join(where) if where else "")
    rows = req.db.query(sql, tuple(args) + (PAGE_SIZE + 1, offset))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    tabs = join([link(req.url("db", table=t), t) if t != name else tag("strong", t)
                 for t in SEARCH], " | ")
    listing = _LISTS[name](req, rows)
    nav = []
    if offset:
        nav.append(link(req.url("db", **dict(req.args, offset=max(0, offset - PAGE_SIZE))),
                        "previous %d" % PAGE_SIZE))
    if more:
        nav.append(link(req.url("db", **dict(req.args, offset=offset + PAGE_SIZE)),
                        "next %d" % PAGE_SIZE))
    summary = ("rows %d to %d" % (offset + 1, offset + len(rows)) if rows
               else "nothing matches")
    body = join([tag("p", tabs), _search_form(req, name), tag("p", summary), listing,
                 tag("p", join(nav, " | "))])
    return req.page("Browse: %s" % name, body, here="db")


def _app_names(req):
    return {a["id"]: a["name"] for a in req.db.query("SELECT id, name FROM app")}


def _wu_list(req, rows):
    apps = _app_names(req)
    return table(("id", "name", "app", "batch", "created", "canonical result", "error mask",
                  "need validate", "assimilate", "file delete"), [[
                      link(req.url("workunit", id=w["id"]), w["id"]),
                      link(req.url("workunit", id=w["id"]), w["name"]),
                      apps.get(w["appid"], w["appid"]),
                      link(req.url("batch", id=w["batch"]), w["batch"]) if w["batch"] else 0,
                      when(w["create_time"]),
                      link(req.url("result", id=w["canonical_resultid"]), w["canonical_resultid"])
                      if w["canonical_resultid"] else "-",
                      error_mask_text(w["error_mask"]), w["need_validate"],
                      states.ASSIMILATE_STATE.get(w["assimilate_state"], w["assimilate_state"]),
                      states.FILE_DELETE_STATE.get(w["file_delete_state"],
                                                   w["file_delete_state"])]
                  for w in rows], numeric=(0,), id_="rows")


def _result_list(req, rows, show_wu=True):
    out = []
    for r in rows:
        cells = [link(req.url("result", id=r["id"]), r["id"]),
                 link(req.url("result", id=r["id"]), r["name"])]
        if show_wu:
            cells.append(link(req.url("workunit", id=r["workunitid"]), r["workunitid"]))
        cells += [link(req.url("host", id=r["hostid"]), r["hostid"]) if r["hostid"] else "-",
                  states.SERVER_STATE.get(r["server_state"], r["server_state"]),
                  states.OUTCOME.get(r["outcome"], r["outcome"]),
                  CLIENT_STATE.get(r["client_state"], r["client_state"]),
                  states.VALIDATE_STATE.get(r["validate_state"], r["validate_state"]),
                  r["exit_status"], when(r["sent_time"]), when(r["received_time"]),
                  "%.1f" % r["elapsed_time"]]
        out.append(cells)
    headers = ["id", "name"] + (["workunit"] if show_wu else []) + [
        "host", "server state", "outcome", "client state", "validate state", "exit status",
        "sent", "received", "elapsed s"]
    return table(headers, out, numeric=(0,), id_="rows")


def _host_list(req, rows):
    return table(("id", "user", "domain name", "OS", "CPUs", "GFLOPS", "last contact",
                  "created", "total credit"), [[
                      link(req.url("host", id=h["id"]), h["id"]),
                      link(req.url("user", id=h["userid"]), h["userid"]),
                      h["domain_name"], "%s %s" % (h["os_name"] or "", h["os_version"] or ""),
                      h["p_ncpus"], "%.2f" % (h["p_fpops"] / 1e9), when(h["rpc_time"]),
                      when(h["create_time"]), "%.1f" % h["total_credit"]]
                  for h in rows], numeric=(0, 4, 5, 8), id_="rows")


def _user_list(req, rows):
    return table(("id", "name", "email address", "created", "team", "total credit"), [[
        link(req.url("user", id=u["id"]), u["id"]), link(req.url("user", id=u["id"]), u["name"]),
        u["email_addr"], when(u["create_time"]), u["teamid"], "%.1f" % u["total_credit"]]
        for u in rows], numeric=(0, 5), id_="rows")


_LISTS = {"workunit": _wu_list, "result": _result_list, "host": _host_list,
          "user": _user_list}


# ---------------------------------------------------------------- one row

def _lookup(req, name):
    if req.arg("name") and name in ("workunit", "result"):
        row = req.db.query_one("SELECT * FROM %s WHERE name=%%s" % name, (req.arg("name"),))
    else:
        row = req.db.query_one("SELECT * FROM %s WHERE id=%%s" % name, (req.int_arg("id", 0),))
    if row is None:
        raise HttpError("404 Not Found", "no %s %s" % (name, req.arg("name") or req.arg("id")))
    return row


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return value


def _all_fields(name, row, decode=None):
    decode = decode or {}
    out = []
    for key, value in row.items():
        if key in HIDDEN.get(name, ()):
            value = "(hidden)"
        elif key in decode:
            value = decode[key](value)
        else:
            value = _text(value)
            if isinstance(value, str) and ("\n" in value or len(value) > 120):
                value = tag("pre", value)
        out.append((key, value))
    return fields(out)


def _named(mapping):
    return lambda v: "%s (%s)" % (v, mapping.get(v, "?"))


def _time(v):
    return "%s (%s)" % (v, when(v)) if v else v


def workunit(req):
    wu = _lookup(req, "workunit")
    db = req.db
    results = db.query("SELECT *, UNIX_TIMESTAMP(mod_time) AS changed FROM result "
                       "WHERE workunitid=%s ORDER BY id", (wu["id"],))
    app = db.scalar("SELECT name FROM app WHERE id=%s", (wu["appid"],))
    parts = []
    cancellable = not wu["error_mask"] & states.WU_ERROR_CANCELLED
    if cancellable:
        parts.append(form(req, "cancel_wu", join([
            hidden("id", wu["id"]),
            tag("label", join([Raw('<input type="checkbox" name="confirm" value="1" required>'),
                               " yes, cancel this job "]))]), "Cancel job", cls="box"))
    parts += [tag("h2", "History"), _history(req, wu, results),
              tag("h2", "Results"), _result_list(req, results, show_wu=False)]
    for r in results:
        stderr = _text(r["stderr_out"]) or ""
        parts.append(tag("h2", join(["stderr_out of ", link(req.url("result", id=r["id"]),
                                                            r["name"])])))
        parts.append(tag("pre", stderr) if stderr.strip() else tag("p", "(empty)"))
    parts += [tag("h2", "Workunit"), _all_fields("workunit", wu, {
        "appid": lambda v: "%s (%s)" % (v, app),
        "error_mask": error_mask_text,
        "assimilate_state": _named(states.ASSIMILATE_STATE),
        "file_delete_state": _named(states.FILE_DELETE_STATE),
        "create_time": _time, "transition_time": _time,
        "canonical_resultid": lambda v: link(req.url("result", id=v), v) if v else v,
        "batch": lambda v: link(req.url("batch", id=v), v) if v else v})]
    return req.page("Workunit %s" % wu["name"], join(parts), here="db")


def _history(req, wu, results):
    """The job's life as (time, event) rows, oldest first."""
    events = [(wu["create_time"], "workunit created", "")]
    for r in results:
        rl = link(req.url("result", id=r["id"]), r["name"])
        events.append((r["create_time"], "result created", rl))
        if r["sent_time"]:
            events.append((r["sent_time"], join(["sent to host ", link(
                req.url("host", id=r["hostid"]), r["hostid"]), ", deadline ",
                when(r["report_deadline"])]), rl))
        if r["received_time"]:
            events.append((r["received_time"], "reported: %s, exit status %d, client state %s"
                           % (states.OUTCOME.get(r["outcome"], r["outcome"]), r["exit_status"],
                              CLIENT_STATE.get(r["client_state"], r["client_state"])), rl))
        elif r["outcome"] == states.RESULT_OUTCOME_NO_REPLY:
            events.append((r["report_deadline"], "no reply by the deadline", rl))
        elif r["server_state"] == states.RESULT_SERVER_STATE_OVER:
            # Not reported (cancelled, not needed): when its row last changed.
            events.append((int(r["changed"] or r["create_time"]), "over: %s" % states.OUTCOME.get(
                r["outcome"], r["outcome"]), rl))
        if r["validate_state"] != states.VALIDATE_STATE_INIT:
            events.append((r["received_time"] or r["create_time"], "validation: %s" %
                           states.VALIDATE_STATE.get(r["validate_state"], r["validate_state"]),
                           rl))
    events.sort(key=lambda e: e[0])
    now_state = []
    if wu["canonical_resultid"]:
        now_state.append("canonical result #%d" % wu["canonical_resultid"])
    if wu["error_mask"]:
        now_state.append("error mask %s" % error_mask_text(wu["error_mask"]))
    now_state.append("assimilation %s" % states.ASSIMILATE_STATE.get(wu["assimilate_state"]))
    now_state.append("files %s" % states.FILE_DELETE_STATE.get(wu["file_delete_state"]))
    rows = [[when(t), e, r] for t, e, r in events]
    rows.append(["now", "; ".join(now_state), ""])
    return table(("time", "event", "result"), rows, id_="history")


def result(req):
    r = _lookup(req, "result")
    stderr = _text(r["stderr_out"]) or ""
    body = join([
        tag("p", join(["Job: ", link(req.url("workunit", id=r["workunitid"]),
                                     "workunit %d (its whole history)" % r["workunitid"])])),
        tag("h2", "stderr_out"), tag("pre", stderr) if stderr.strip() else tag("p", "(empty)"),
        tag("h2", "Result"),
        _all_fields("result", r, {
            "server_state": _named(states.SERVER_STATE), "outcome": _named(states.OUTCOME),
            "client_state": _named(CLIENT_STATE),
            "validate_state": _named(states.VALIDATE_STATE),
            "file_delete_state": _named(states.FILE_DELETE_STATE),
            "workunitid": lambda v: link(req.url("workunit", id=v), v),
            "hostid": lambda v: link(req.url("host", id=v), v) if v else v,
            "userid": lambda v: link(req.url("user", id=v), v) if v else v,
            "stderr_out": lambda v: "(above)",
            "create_time": _time, "sent_time": _time, "received_time": _time,
            "report_deadline": _time}),
    ])
    return req.page("Result %s" % r["name"], body, here="db")


def host(req):
    h = _lookup(req, "host")
    results = req.db.query("SELECT * FROM result WHERE hostid=%s ORDER BY id DESC LIMIT 50",
                           (h["id"],))
    body = join([
        tag("h2", "Latest results"), _result_list(req, results),
        tag("h2", "Host"), _all_fields("host", h, {
            "userid": lambda v: link(req.url("user", id=v), v), "rpc_time": _time,
            "create_time": _time})])
    return req.page("Host %d" % h["id"], body, here="db")


def user(req):
    u = _lookup(req, "user")
    hosts = req.db.query("SELECT * FROM host WHERE userid=%s ORDER BY id", (u["id"],))
    body = join([tag("h2", "Hosts"), _host_list(req, hosts),
                 tag("h2", "User"), _all_fields("user", u, {"create_time": _time})])
    return req.page("User %s" % u["name"], body, here="db")


# ---------------------------------------------------------------- cancelling

def cancel_form(req):
    confirm = Raw('<label><input type="checkbox" name="confirm" value="1" required> '
                  'yes, cancel</label> ')
    body = join([
        tag("p", "Cancelled jobs get no more results: unsent results become OVER "
                 "(DIDNT_NEED) and the transitioner finishes the workunit.  Results already "
                 "sent run on; hosts are told to abort them when config.xml has "
                 "<send_result_abort/>."),
        tag("h2", "One job"),
        form(req, "cancel_wu", join([tag("label", join(["workunit id ", text_input(
            "id", "", 10, type_="number", min="1")])), " or name ", text_input("name", "", 30),
            " ", confirm]), "Cancel job", cls="box"),
        tag("h2", "A range of jobs"),
        form(req, "cancel_wu", join([tag("label", join(["workunit ids from ", text_input(
            "min_id", "", 10, type_="number", min="1")])), tag("label", join([" to ", text_input(
                "max_id", "", 10, type_="number", min="1")])), " ", confirm]),
             "Cancel jobs", cls="box"),
        tag("p", join(["Whole batches: see ", link(req.url("batches"), "batches"), "."])),
    ])
    return req.page("Cancel jobs", body, here="cancel")


def cancel_wu(req):
    if req.field("confirm") != "1":
        return req.redirect("cancel", problem="Nothing cancelled: tick the confirmation box.")
    db = req.db
    if req.field("min_id") or req.field("max_id"):
        lo, hi = req.int_field("min_id", 0), req.int_field("max_id", 0)
        if lo <= 0 or hi < lo:
            return req.redirect("cancel", problem="Give a range of ids: from <= to, both > 0.")
        nwus, nresults = work.cancel_jobs(db, lo, hi)
        req.log("cancelled workunits %d to %d" % (lo, hi))
        return req.redirect("db", note="Cancelled %d workunits (ids %d to %d); %d unsent "
                            "results will not be sent." % (nwus, lo, hi, nresults),
                            table="workunit", state="cancelled")
    if req.field("name"):
        wu_id = db.scalar("SELECT id FROM workunit WHERE name=%s", (req.field("name"),))
    else:
        wu_id = req.int_field("id")
        wu_id = db.scalar("SELECT id FROM workunit WHERE id=%s", (wu_id or 0,))
    if not wu_id:
        return req.redirect("cancel", problem="No such workunit: nothing cancelled.")
    nwus, nresults = work.cancel_job(db, wu_id)
    req.log("cancelled workunit %d" % wu_id)
    return req.redirect("workunit", note="Job cancelled; %d unsent results will not be sent."
                        % nresults, id=wu_id)

