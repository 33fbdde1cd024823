"""Reported results: record what the client says, and always acknowledge.

An unacknowledged result is reported again on every RPC, forever; so every
name in the request is acked unless its UPDATE failed for a reason other
than "row not found" (then the client reports it again and we retry).
"""

import time

from .. import states
from ..db import LOCK_ERRORS, DatabaseError

RESULT_COLUMNS = ("id, name, workunitid, appid, server_state, hostid, userid, sent_time, "
                  "received_time, validate_state, outcome, client_state, file_delete_state, "
                  "app_version_id")


def is_file_transfer(name):
    """Names with upload/download in them are the client's file-transfer pseudo results."""
    return "upload" in name or "download" in name


def _already_over_reason(outcome):
    return {
        states.RESULT_OUTCOME_INIT: "this result was never sent",
        states.RESULT_OUTCOME_SUCCESS: "result already reported as success",
        states.RESULT_OUTCOME_COULDNT_SEND: "this result couldn't be sent",
        states.RESULT_OUTCOME_CLIENT_ERROR: "result already reported as error",
        states.RESULT_OUTCOME_DIDNT_NEED: "this result wasn't sent (not needed)",
        states.RESULT_OUTCOME_VALIDATE_ERROR: "result already reported, validate error",
    }.get(outcome, "" if outcome in (states.RESULT_OUTCOME_NO_REPLY,
                                      states.RESULT_OUTCOME_CLIENT_DETACHED)
          else "server logic bug")


def handle_results(ctx):
    """Update the DB for each reported result; fill ctx.reply.result_acks."""
    req, reply, log, cfg = ctx.req, ctx.reply, ctx.log, ctx.cfg
    reported = []
    seen = set()
    for r in req.results:
        if is_file_transfer(r.name):
            reply.result_acks.append(r.name)        # acked, never looked up
        elif r.name not in seen:
            seen.add(r.name)
            reported.append(r)
    limit = cfg.report_max or cfg.max_results_accepted
    if limit and len(reported) > limit:
        reported = reported[:limit]
    if not reported:
        return
    acked = len(reply.result_acks)
    quota = ctx.quota.snapshot()
    try:
        # One transaction: one commit for the RPC's reports, not one each.
        with ctx.db.transaction():
            _handle(ctx, reported)
    except DatabaseError as exc:
        if exc.code not in LOCK_ERRORS:
            raise
        # Rolled back as a whole: no report was recorded, so none is acked;
        # the client reports them again next time.
        log.normal("reports not recorded: %s", exc)
        del reply.result_acks[acked:]
        ctx.quota.restore(quota)


def _handle(ctx, reported):
    reply, log, cfg = ctx.reply, ctx.log, ctx.cfg
    host = ctx.host
    rows = ctx.db.query("SELECT %s FROM result WHERE name IN (%s)"
                        % (RESULT_COLUMNS, ", ".join(["%s"] * len(reported))),
                        [r.name for r in reported])
    by_name = {row["name"]: row for row in rows}
    now = int(time.time())
    updated_wus = set()
    for r in reported:
        row = by_name.get(r.name)
        if row is None:
            log.critical("[HOST#%d] [RESULT#? %s] reported result not in DB", host["id"], r.name)
            reply.result_acks.append(r.name)
            continue
        if cfg.debug_handle_results:
            log.normal("[handle] [HOST#%d] [RESULT#%d] [WU#%d] got result (DB: server_state=%d "
                       "outcome=%d client_state=%d validate_state=%d delete_state=%d)",
                       host["id"], row["id"], row["workunitid"], row["server_state"],
                       row["outcome"], row["client_state"], row["validate_state"],
                       row["file_delete_state"])
        if row["server_state"] == states.RESULT_SERVER_STATE_OVER:
            reason = _already_over_reason(row["outcome"])
            if row["outcome"] == states.RESULT_OUTCOME_SUCCESS:
                ctx.resend_lost_results = True
            if reason:
                if cfg.debug_handle_results:
                    log.normal("[handle][HOST#%d][RESULT#%d][WU#%d] result already over "
                               "[outcome=%d validate_state=%d]: %s", host["id"], row["id"],
                               row["workunitid"], row["outcome"], row["validate_state"], reason)
                reply.result_acks.append(r.name)
                continue
        if row["server_state"] == states.RESULT_SERVER_STATE_UNSENT:
            log.critical("[HOST#%d] [RESULT#%d] [WU#%d] got unexpected result: server state "
                         "is %d", host["id"], row["id"], row["workunitid"], row["server_state"])
            reply.result_acks.append(r.name)
            continue
        if row["received_time"]:
            log.critical("[HOST#%d] [RESULT#%d] [WU#%d] already got result, at %s", host["id"],
                         row["id"], row["workunitid"],
                         time.strftime("%d-%b-%Y %H:%M:%S", time.gmtime(row["received_time"])))
            reply.result_acks.append(r.name)
            continue
        if row["hostid"] != host["id"]:
            log.critical("[HOST#%d] [RESULT#%d] [WU#%d] got result from wrong host; expected "
                         "[HOST#%d]", host["id"], row["id"], row["workunitid"], row["hostid"])
            owner = ctx.db.scalar("SELECT userid FROM host WHERE id=%s", (row["hostid"],))
            if owner is None or owner != host["userid"]:
                log.critical("[USER#%d] [HOST#%d] [RESULT#%d] [WU#%d] Not even the same user",
                             host["userid"], host["id"], row["id"], row["workunitid"])
                reply.result_acks.append(r.name)
                continue
            log.critical("[HOST#%d] [RESULT#%d] [WU#%d] Allowing result because same USER#%d",
                         host["id"], row["id"], row["workunitid"], host["userid"])
        _record(ctx, row, r, now)
        updated_wus.add(row["workunitid"])
    if updated_wus:
        ids = sorted(updated_wus)
        ctx.db.execute("UPDATE workunit SET transition_time=%%s WHERE id IN (%s)"
                       % ", ".join(["%s"] * len(ids)), [now] + ids)


def _record(ctx, row, r, now):
    """Write one reported result (the fix-ups of times are BOINC's)."""
    host, log, cfg = ctx.host, ctx.log, ctx.cfg
    cpu, elapsed = r.cpu_time, r.elapsed_time
    if elapsed < cpu and row["app_version_id"] > 0:
        av = ctx.app_version(row["app_version_id"])
        if av is not None and not av.get("multithread"):
            log.normal("[HOST#%d] [RESULT#%d] elapsed time %f < CPU %f for seq app; setting "
                       "to CPU", host["id"], row["id"], elapsed, cpu)
            elapsed = cpu
    if elapsed < 0:
        log.normal("[HOST#%d] [RESULT#%d] [WU#%d] negative elapsed time: %f", host["id"],
                   row["id"], row["workunitid"], elapsed)
        elapsed = 0.0
    if elapsed == 0 and cpu > 0:
        elapsed = cpu
        log.normal("[HOST#%d] [RESULT#%d] elapsed time is zero; setting to CPU time %f",
                   host["id"], row["id"], cpu)
    turnaround = now - row["sent_time"]
    if turnaround < 0:
        log.critical("[HOST#%d] [RESULT#%d] [WU#%d] inconsistent sent/received times",
                     host["id"], row["id"], row["workunitid"])
    elif elapsed > turnaround:
        log.normal("[HOST#%d] [RESULT#%d] [WU#%d] impossible elapsed time: reported %f > "
                   "turnaround %f", host["id"], row["id"], row["workunitid"], elapsed,
                   float(turnaround))
        elapsed = float(turnaround)
    ncpus = host["p_ncpus"] or 0
    if cpu > elapsed * ncpus:
        log.normal("[HOST#%d] [RESULT#%d] [WU#%d] impossible CPU time: %f > %f * %d",
                   host["id"], row["id"], row["workunitid"], cpu, elapsed, ncpus)
        cpu = elapsed * ncpus
    stderr_out = r.stderr_out
    validate_state = row["validate_state"]
    if r.client_state == states.RESULT_FILES_UPLOADED and r.exit_status == 0:
        outcome = states.RESULT_OUTCOME_SUCCESS
        ctx.quota.good_result(row)
        if cfg.dont_store_success_stderr:
            stderr_out = ""
    else:
        outcome = states.RESULT_OUTCOME_CLIENT_ERROR
        validate_state = states.VALIDATE_STATE_INVALID
        if r.exit_status != states.EXIT_ABORTED_BY_PROJECT:
            ctx.quota.bad_result(row)
    if cfg.debug_handle_results:
        log.normal("[handle] [RESULT#%d] [WU#%d]: outcome %d (client_state %d exit_status %d)",
                   row["id"], row["workunitid"], outcome, r.client_state, r.exit_status)
    try:
        ctx.db.execute(
            "UPDATE result SET hostid=%s, received_time=%s, client_state=%s, cpu_time=%s, "
            "exit_status=%s, app_version_num=%s, server_state=%s, outcome=%s, stderr_out=%s, "
            "xml_doc_out=%s, validate_state=%s, teamid=%s, elapsed_time=%s, "
            "peak_working_set_size=%s, peak_swap_size=%s, peak_disk_usage=%s WHERE id=%s",
            (host["id"], now, r.client_state, cpu, r.exit_status, r.app_version_num,
             states.RESULT_SERVER_STATE_OVER, outcome, stderr_out, r.xml_doc_out,
             validate_state, ctx.user["teamid"], elapsed, r.peak_working_set_size,
             r.peak_swap_size, r.peak_disk_usage, row["id"]))
    except DatabaseError as exc:
        if exc.code in LOCK_ERRORS:
            raise               # the whole transaction is gone (handle_results)
        log.critical("[HOST#%d] [RESULT#%d] [WU#%d] can't update result: %s", host["id"],
                     row["id"], row["workunitid"], exc)
        return
    ctx.reply.result_acks.append(r.name)
