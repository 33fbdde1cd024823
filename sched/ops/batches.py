"""Batches: their status, and abort / retire (as BOINC's job-submission pages).

Abort cancels every job of the batch (unsent results are not sent, the
transitioner finishes the workunits) and marks the batch ABORTED.  Retire
marks it RETIRED and cancels the jobs none of whose results were sent yet,
as BOINC's retire_batch does; jobs running on hosts may still finish.
"""

import time

from .. import states, work
from .app import HttpError
from .html import Raw, form, hidden, join, link, table, tag, when

# A job's status as BOINC's batch pages name it.
UNSENT, IN_PROGRESS, DONE, ERROR = "unsent", "in progress", "done", "error"


def job_status(wu, nsent):
    if wu["error_mask"]:
        return ERROR
    if wu["canonical_resultid"]:
        return DONE
    return IN_PROGRESS if nsent else UNSENT


def _jobs(db, batch_id):
    wus = db.query("SELECT w.id, w.name, w.error_mask, w.canonical_resultid, w.create_time, "
                   "w.assimilate_state, (SELECT COUNT(*) FROM result r WHERE r.workunitid=w.id "
                   "AND r.sent_time>0) AS nsent FROM workunit w WHERE w.batch=%s ORDER BY w.id",
                   (batch_id,))
    for wu in wus:
        wu["status"] = job_status(wu, wu["nsent"])
    return wus


def batches(req):
    db = req.db
    rows = db.query("SELECT b.*, app.name AS app_name, "
                    "(SELECT COUNT(*) FROM workunit w WHERE w.batch=b.id) AS nwus, "
                    "(SELECT COUNT(*) FROM workunit w WHERE w.batch=b.id "
                    "AND w.canonical_resultid<>0 AND w.error_mask=0) AS ndone, "
                    "(SELECT COUNT(*) FROM workunit w WHERE w.batch=b.id "
                    "AND w.error_mask<>0) AS nerror "
                    "FROM batch b LEFT JOIN app ON app.id=b.app_id ORDER BY b.id DESC LIMIT 500")
    body = table(("id", "name", "app", "state", "created", "jobs", "done", "errors",
                  "expires"), [[
                      link(req.url("batch", id=b["id"]), b["id"]),
                      link(req.url("batch", id=b["id"]), b["name"] or "(no name)"),
                      b["app_name"] or b["app_id"],
                      states.BATCH_STATE.get(b["state"], b["state"]), when(b["create_time"]),
                      b["nwus"], b["ndone"], b["nerror"],
                      when(b["expire_time"]) if b["expire_time"] else "-"]
                  for b in rows], numeric=(0, 5, 6, 7), id_="batches")
    if not rows:
        body = tag("p", "No batches.")
    return req.page("Batches", body, here="batches")


def batch(req):
    db = req.db
    b = db.query_one("SELECT b.*, app.name AS app_name FROM batch b LEFT JOIN app "
                     "ON app.id=b.app_id WHERE b.id=%s", (req.int_arg("id", 0),))
    if b is None:
        raise HttpError("404 Not Found", "no batch %s" % req.arg("id"))
    jobs = _jobs(db, b["id"])
    counts = {s: 0 for s in (UNSENT, IN_PROGRESS, DONE, ERROR)}
    for wu in jobs:
        counts[wu["status"]] += 1
    summary = table(("", ""), [
        ("name", b["name"]), ("application", b["app_name"] or b["app_id"]),
        ("state", states.BATCH_STATE.get(b["state"], b["state"])),
        ("created", when(b["create_time"])), ("submitter", b["user_id"]),
        ("jobs", "%d: %s" % (len(jobs), ", ".join("%d %s" % (n, s) for s, n in counts.items()))),
        ("completed", when(b["completion_time"]) if b["completion_time"] else "-"),
        ("description", b["description"])])
    actions = []
    confirm = Raw('<label><input type="checkbox" name="confirm" value="1" required> '
                  'yes</label> ')
    if b["state"] not in (states.BATCH_STATE_ABORTED, states.BATCH_STATE_RETIRED):
        actions.append(form(req, "batch_action", join([
            hidden("id", b["id"]), hidden("action", "abort"), confirm]),
            "Abort batch (cancel all its jobs)", cls="box"))
    if b["state"] != states.BATCH_STATE_RETIRED:
        actions.append(form(req, "batch_action", join([
            hidden("id", b["id"]), hidden("action", "retire"), confirm]),
            "Retire batch (cancel jobs not yet sent)", cls="box"))
    jobs_table = table(("id", "name", "status", "created", "results sent"), [[
        link(req.url("workunit", id=w["id"]), w["id"]),
        link(req.url("workunit", id=w["id"]), w["name"]), w["status"], when(w["create_time"]),
        w["nsent"]] for w in jobs], numeric=(0, 4), id_="jobs")
    return req.page("Batch %d" % b["id"], join([summary] + actions + [tag("h2", "Jobs"),
                                                                       jobs_table]),
                    here="batches")


def batch_action(req):
    db = req.db
    batch_id = req.int_field("id", 0)
    b = db.query_one("SELECT id, state FROM batch WHERE id=%s", (batch_id,))
    if b is None:
        raise HttpError("404 Not Found", "no batch %s" % batch_id)
    if req.field("confirm") != "1":
        return req.redirect("batch", problem="Nothing done: tick the confirmation box.",
                            id=batch_id)
    action = req.field("action")
    now = int(time.time())
    if action == "abort":
        nwus, nresults = work.cancel_batch(db, batch_id)
        db.execute("UPDATE batch SET state=%s, completion_time=%s WHERE id=%s",
                   (states.BATCH_STATE_ABORTED, now, batch_id))
        note = "Batch %d aborted: %d jobs cancelled, %d unsent results will not be sent." % (
            batch_id, nwus, nresults)
    elif action == "retire":
        unsent = [w["id"] for w in _jobs(db, batch_id) if w["status"] == UNSENT]
        for wu_id in unsent:
            work.cancel_job(db, wu_id)
        db.execute("UPDATE batch SET state=%s WHERE id=%s",
                   (states.BATCH_STATE_RETIRED, batch_id))
        note = "Batch %d retired; %d jobs not yet sent were cancelled." % (batch_id,
                                                                            len(unsent))
    else:
        raise HttpError("400 Bad Request", "unknown batch action %r" % action)
    req.log(note)
    return req.redirect("batch", note=note, id=batch_id)
