"""Tasks the client no longer has (resend) or should drop (abort).

Both use the ``<other_results>`` list: the names of the tasks the client
still holds.  In-progress results of this host missing from the list were
lost (re-sent if still useful, else given up); listed results the server
no longer wants are aborted.
"""

import time

from .. import states

ABORT_NOT_FOUND, ABORT_WU_CANCELLED, ABORT_ASSIMILATED, ABORT_TIMED_OUT = 1, 2, 3, 4
_REASON = {ABORT_NOT_FOUND: "result not in request", ABORT_WU_CANCELLED: "WU cancelled",
           ABORT_ASSIMILATED: "WU assimilated", ABORT_TIMED_OUT: "result timed out"}


def resend_lost_work(ctx):
    """Re-send lost in-progress results; True if any was re-sent."""
    from .send import VersionChooser, WorkRequest, _feasible, send_result
    req, db, log, cfg, reply = ctx.req, ctx.db, ctx.log, ctx.cfg, ctx.reply
    held = set(req.other_results)
    rows = db.query("SELECT id, name, workunitid, report_deadline, priority FROM result "
                    "WHERE hostid=%s AND server_state=%s",
                    (ctx.host["id"], states.RESULT_SERVER_STATE_IN_PROGRESS))
    wreq = WorkRequest(ctx)
    chooser = VersionChooser(ctx, wreq)
    now = int(time.time())
    resent = 0
    for r in rows:
        if r["name"] in held:
            continue
        if cfg.debug_resend:
            log.normal("[resend] [HOST#%d] found lost [RESULT#%d]: %s", ctx.host["id"],
                       r["id"], r["name"])
        wu = db.query_one("SELECT * FROM workunit WHERE id=%s", (r["workunitid"],))
        app = ctx.catalog.app(wu["appid"]) if wu else None
        best = chooser.best(app, wu) if app else None
        can = (wu is not None and app is not None and best is not None
               and not wu["error_mask"] and not wu["canonical_resultid"])
        if can:
            flops, av, platform, usage = best
            can = _feasible(ctx, wreq, wu, app, platform) is None
        if can:
            duration = wu["rsc_fpops_est"] / usage["projected_flops"]
            old_deadline = r["report_deadline"] - cfg.report_grace_period
            keep = old_deadline if old_deadline > now + duration else None
            xml_doc = _text(wu["xml_doc"])
            if send_result(ctx, r["id"], wu, xml_doc, app, av, platform, usage, now,
                           old_state=states.RESULT_SERVER_STATE_IN_PROGRESS, deadline=keep):
                resent += 1
                log.normal("[HOST#%d] [RESULT#%d] resent lost result %s", ctx.host["id"],
                           r["id"], r["name"])
            continue
        # Not worth re-sending: let it time out now, so the transitioner acts.
        expired = now - 1 + cfg.report_grace_period
        db.execute("UPDATE result SET report_deadline=%s WHERE id=%s AND server_state=%s",
                   (expired, r["id"], states.RESULT_SERVER_STATE_IN_PROGRESS))
        db.execute("UPDATE workunit SET transition_time=IF(transition_time<%s, "
                   "transition_time, %s) WHERE id=%s", (expired, expired, r["workunitid"]))
        reply.message("Didn't resend lost task %s (expired)" % r["name"], "low")
    return resent > 0


def send_result_abort(ctx):
    req, db, log, reply = ctx.req, ctx.db, ctx.log, ctx.reply
    names = list(dict.fromkeys(req.other_results))
    if not names:
        return
    reasons = {n: ("abort", ABORT_NOT_FOUND) for n in names}
    rows = db.query(
        "SELECT result.name, workunit.error_mask, workunit.assimilate_state, "
        "result.server_state, result.outcome FROM result, workunit "
        "WHERE result.hostid=%%s AND workunit.id=result.workunitid AND "
        "(result.server_state=%%s OR (result.server_state=%%s AND result.outcome=%%s)) "
        "AND result.name IN (%s)" % ", ".join(["%s"] * len(names)),
        [ctx.host["id"], states.RESULT_SERVER_STATE_IN_PROGRESS,
         states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_NO_REPLY] + names)
    for row in rows:
        if row["error_mask"] & states.WU_ERROR_CANCELLED:
            reasons[row["name"]] = ("abort", ABORT_WU_CANCELLED)
        elif row["assimilate_state"] == states.ASSIMILATE_DONE:
            reasons[row["name"]] = ("if_not_started", ABORT_ASSIMILATED)
        elif (row["server_state"] == states.RESULT_SERVER_STATE_OVER
              and row["outcome"] == states.RESULT_OUTCOME_NO_REPLY):
            reasons[row["name"]] = ("if_not_started", ABORT_TIMED_OUT)
        else:
            reasons[row["name"]] = (None, 0)
    for name in names:
        kind, reason = reasons[name]
        if kind == "abort":
            reply.result_aborts.append(name)
            log.normal("[HOST#%d]: Send result_abort for result %s; reason: %s",
                       ctx.host["id"], name, _REASON[reason])
            reply.message("Result %s is no longer usable" % name, "low")
        elif kind == "if_not_started":
            reply.result_aborts_if_not_started.append(name)
            log.normal("[HOST#%d]: Send result_abort_if_unstarted for result %s; reason %d",
                       ctx.host["id"], name, reason)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")
