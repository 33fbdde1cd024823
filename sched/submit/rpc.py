"""submit_rpc_handler.php: the batch and job RPCs.

The request is the form field ``request``; its root element names the
operation and the reply's root is the same name.  Only what the operation
asks for is in a reply: ``query_job`` lists one job's instances, never the
rest of its batch (BOINC #6092).
"""

import os
import time

from .. import states as S
from ..outputs import parse_doc
from ..paths import dir_hier_path
from ..web.reply import RpcError
from . import auth, batches, max_file_bytes
from .common import (REQUEST_SLACK, SubmitError, element, error_reply, float_of, form_of,
                     int_of, parse_request, reply, text_of)
from .submit import app_of, estimate, submit


def handle(req):
    try:
        limit = max_file_bytes(req.cfg) + REQUEST_SLACK
    except Exception as exc:            # a bad config.xml value
        raise RpcError(-1, str(exc)) from None
    try:
        form = form_of(req, limit)
    except SubmitError as exc:
        raise RpcError(exc.num, exc.msg) from None
    text = form.get("request", "")
    root = parse_request(text)
    if root is None:
        raise RpcError(-1, "can't parse request message: %s" % (text[:200] or "no request"))
    op = root.tag
    handler = OPS.get(op)
    if handler is None:
        raise RpcError(-1, "bad command")
    try:
        db = req.db_init()
        return reply(op, handler(req, db, root))
    except SubmitError as exc:
        return error_reply(op, exc)
    except RpcError as exc:
        return error_reply(op, SubmitError(exc.msg, exc.num))


def _batch_of(db, root, user):
    """The batch named by <batch_id> or <batch_name>, if ``user`` owns it."""
    batch_id = int_of(root, "batch_id")
    name = text_of(root, "batch_name")
    if not batch_id and not name:
        raise SubmitError("batch not specified")
    batch = batches.lookup(db, batch_id, name)
    if batch is None:
        raise SubmitError("no such batch")
    auth.check_owner(batch, user)
    return batch


def batch_params(db, batch, get_cpu_time=False):
    app = db.query_one("SELECT name FROM app WHERE id = %s", (batch["app_id"],))
    out = "".join(element(tag, batch[tag]) for tag in (
        "id", "create_time", "expire_time", "est_completion_time", "njobs", "fraction_done",
        "nerror_jobs", "state", "completion_time", "credit_estimate", "credit_canonical",
        "name"))
    out += element("app_name", app["name"] if app else "none")
    if get_cpu_time:
        out += element("total_cpu_time", batches.total_cpu_time(db, batch["id"]))
    return out


# ------------------------------------------------------------ batches

def ping(req, db, root):
    return element("success", 1)


def create_batch(req, db, root):
    app = app_of(db, text_of(root, "app_name"))
    user = auth.check(db, root, app)
    batch_id = batches.create(db, user, app, text_of(root, "batch_name"),
                              float_of(root, "expire_time"))
    return element("batch_id", batch_id)


def estimate_batch(req, db, root):
    return element("seconds", estimate(db, req.cfg, root))


def submit_batch(req, db, root):
    return element("batch_id", submit(db, req.cfg, root))


def query_batches(req, db, root):
    user = auth.check(db, root)
    get_cpu = bool(int_of(root, "get_cpu_time"))
    out = ""
    for batch in db.query("SELECT * FROM batch WHERE user_id = %s ORDER BY id", (user["id"],)):
        if batch["state"] == S.BATCH_STATE_RETIRED:
            continue
        if batch["state"] < S.BATCH_STATE_COMPLETE:
            batch = batches.refresh(db, batch)
        out += "<batch>\n%s</batch>\n" % batch_params(db, batch, get_cpu)
    return out


ERROR_NAMES = ((S.WU_ERROR_COULDNT_SEND_RESULT, "couldnt_send_result"),
               (S.WU_ERROR_TOO_MANY_ERROR_RESULTS, "too_many_error_results"),
               (S.WU_ERROR_TOO_MANY_SUCCESS_RESULTS, "too_many_success_results"),
               (S.WU_ERROR_TOO_MANY_TOTAL_RESULTS, "too_many_total_results"),
               (S.WU_ERROR_CANCELLED, "cancelled"),
               (S.WU_ERROR_NO_CANONICAL_RESULT, "no_canonical_result"))


def job_details(wu, results):
    out = "".join(element("error", name) for bit, name in ERROR_NAMES if wu["error_mask"] & bit)
    in_progress = 0
    for r in results:
        if r["server_state"] == S.RESULT_SERVER_STATE_IN_PROGRESS:
            in_progress += 1
        if wu["error_mask"] and r["outcome"] == S.RESULT_OUTCOME_CLIENT_ERROR:
            out += element("exit_status", r["exit_status"])
        if r["id"] == wu["canonical_resultid"]:
            out += element("cpu_time", r["cpu_time"])
    if wu["error_mask"]:
        status = batches.ERROR
    elif wu["canonical_resultid"]:
        status = batches.SUCCESS
    else:
        status = batches.IN_PROGRESS if in_progress else batches.UNSENT
    return out + element("status", status)


def query_batch(req, db, root):
    user = auth.check(db, root)
    batch = _batch_of(db, root, user)
    wus = batches.workunits(db, batch["id"])
    batch = batches.refresh(db, batch, wus)
    out = batch_params(db, batch, bool(int_of(root, "get_cpu_time")))
    details = bool(int_of(root, "get_job_details"))
    results = {}
    if details:
        for r in db.query("SELECT id, workunitid, server_state, outcome, exit_status, cpu_time "
                          "FROM result WHERE batch = %s ORDER BY id", (batch["id"],)):
            results.setdefault(r["workunitid"], []).append(r)
    for wu in wus:
        out += "<job>\n" + element("id", wu["id"]) + element("name", wu["name"]) + \
            element("canonical_instance_id", wu["canonical_resultid"])
        if details:
            out += job_details(wu, results.get(wu["id"], []))
        out += "</job>\n"
    return out


def query_batch2(req, db, root):
    """Condor's variant: batches by name, job status in capitals."""
    user = auth.check(db, root)
    found = []
    for elem in root.findall("batch_name"):
        name = (elem.text or "").strip()
        batch = batches.lookup(db, name=name)
        if batch is None:
            raise SubmitError("no batch named %s" % name)
        if batch["user_id"] != user["id"]:
            raise SubmitError("not owner of %s" % name)
        found.append(batch)
    min_mod_time = float_of(root, "min_mod_time")
    out = element("server_time", time.time())
    for batch in found:
        sql = "SELECT id, name, canonical_resultid, error_mask FROM workunit WHERE batch = %s"
        args = [batch["id"]]
        if min_mod_time:
            sql += " AND mod_time > FROM_UNIXTIME(%s)"
            args.append(min_mod_time)
        wus = db.query(sql + " ORDER BY id", args)
        sent = {r[0] for r in db.rows("SELECT DISTINCT workunitid FROM result WHERE batch = %s "
                                      "AND sent_time > 0", (batch["id"],))}
        out += element("batch_size", len(wus))
        for wu in wus:
            if wu["canonical_resultid"]:
                status = "DONE"
            elif wu["error_mask"]:
                status = "ERROR"
            elif wu["id"] in sent:
                status = "IN_PROGRESS"
            else:
                status = "UNSENT"
            out += "<job>\n%s%s</job>\n" % (element("job_name", wu["name"]),
                                            element("status", status))
    return out


def abort_batch(req, db, root):
    user = auth.check(db, root)
    batches.abort(db, _batch_of(db, root, user))
    return element("success", 1)


def retire_batch(req, db, root):
    user = auth.check(db, root)
    batches.retire(db, req.cfg, _batch_of(db, root, user))
    return element("success", 1)


def set_expire_time(req, db, root):
    user = auth.check(db, root)
    batch = _batch_of(db, root, user)
    db.execute("UPDATE batch SET expire_time = %s WHERE id = %s",
               (float_of(root, "expire_time"), batch["id"]))
    return element("success", 1)


# ------------------------------------------------------------ jobs

def _job_of(db, user, wu):
    if not wu["batch"]:
        raise SubmitError("job %s is not part of a batch" % wu["name"])
    batch = batches.lookup(db, wu["batch"])
    if batch is None or batch["user_id"] != user["id"]:
        raise SubmitError("not owner")
    return wu


def state_string(r):
    """A result's state in words (BOINC's html/inc/result.inc)."""
    ss, outcome = r["server_state"], r["outcome"]
    if ss != S.RESULT_SERVER_STATE_OVER:
        return {S.RESULT_SERVER_STATE_INACTIVE: "Inactive", S.RESULT_SERVER_STATE_UNSENT: "Unsent",
                S.RESULT_SERVER_STATE_IN_PROGRESS: "In progress"}.get(ss, "Unknown")
    if outcome == S.RESULT_OUTCOME_SUCCESS:
        return {S.VALIDATE_STATE_INIT: "Completed, waiting for validation",
                S.VALIDATE_STATE_VALID: "Completed and validated",
                S.VALIDATE_STATE_INVALID: "Completed, marked as invalid",
                S.VALIDATE_STATE_NO_CHECK: "Completed, can't validate",
                S.VALIDATE_STATE_INCONCLUSIVE: "Completed, validation inconclusive",
                S.VALIDATE_STATE_TOO_LATE: "Completed, too late to validate",
                }.get(r["validate_state"], "Completed")
    if outcome == S.RESULT_OUTCOME_CLIENT_ERROR:
        if r["exit_status"] in (-221, 202):
            return "Cancelled by server"
        if r["exit_status"] in (-233, 200):
            return "Not started by deadline - canceled"
        return {S.RESULT_FILES_DOWNLOADING: "Error while downloading",
                S.RESULT_FILES_DOWNLOADED: "Error while computing",
                S.RESULT_COMPUTE_ERROR: "Error while computing",
                S.RESULT_FILES_UPLOADING: "Error while uploading",
                S.RESULT_ABORTED: "Aborted", S.RESULT_UPLOAD_FAILED: "Upload failed",
                }.get(r["client_state"], "Error")
    return {S.RESULT_OUTCOME_COULDNT_SEND: "Couldn't send",
            S.RESULT_OUTCOME_NO_REPLY: "Timed out - no response",
            S.RESULT_OUTCOME_DIDNT_NEED: "Didn't need",
            S.RESULT_OUTCOME_VALIDATE_ERROR: "Validate error",
            S.RESULT_OUTCOME_CLIENT_DETACHED: "Abandoned"}.get(outcome, "Unknown")


def _outfile_paths(cfg, result):
    """Paths in upload/ of the files named in a result's xml_doc_out."""
    try:
        root = parse_doc(result["xml_doc_out"])
    except Exception:                   # noqa: BLE001 - an unreadable doc lists nothing
        return []
    names = [(fi.findtext("name") or "").strip() for fi in root.iter("file_info")]
    return [dir_hier_path(n, cfg.upload_dir, cfg.uldl_dir_fanout) for n in names
            if n and "/" not in n and n not in (".", "..")]


def query_job(req, db, root):
    """One job's instances (results): name, id, state, output file sizes."""
    user = auth.check(db, root)
    job_id = int_of(root, "job_id")
    wu = db.query_one("SELECT id, name, batch FROM workunit WHERE id = %s", (job_id,))
    if wu is None:
        raise SubmitError("no such job")
    _job_of(db, user, wu)
    out = ""
    for r in db.query("SELECT * FROM result WHERE workunitid = %s ORDER BY id", (wu["id"],)):
        out += "<instance>\n" + element("name", r["name"]) + element("id", r["id"]) + \
            element("state", state_string(r))
        if r["server_state"] == S.RESULT_SERVER_STATE_OVER:
            for path in _outfile_paths(req.cfg, r):
                if os.path.isfile(path):
                    out += "<outfile>\n%s</outfile>\n" % element("size", os.path.getsize(path))
        out += "</instance>\n"
    return out


def query_completed_job(req, db, root):
    user = auth.check(db, root)
    name = text_of(root, "job_name")
    wu = db.query_one("SELECT * FROM workunit WHERE name = %s", (name,))
    if wu is None:
        raise SubmitError("no such job")
    _job_of(db, user, wu)
    out = element("error_mask", wu["error_mask"])
    result = None
    if wu["canonical_resultid"]:
        result = db.query_one("SELECT * FROM result WHERE id = %s", (wu["canonical_resultid"],))
        out += element("canonical_resultid", wu["canonical_resultid"])
    else:
        for r in db.query("SELECT * FROM result WHERE workunitid = %s ORDER BY id", (wu["id"],)):
            if r["outcome"] in (S.RESULT_OUTCOME_SUCCESS, S.RESULT_OUTCOME_CLIENT_ERROR,
                                S.RESULT_OUTCOME_VALIDATE_ERROR):
                result = r
        if result is not None:
            out += element("error_resultid", result["id"])
    if result is not None:
        stderr = result["stderr_out"]
        if isinstance(stderr, bytes):
            stderr = stderr.decode("utf-8", "replace")
        out += element("exit_status", result["exit_status"]) + \
            element("elapsed_time", result["elapsed_time"]) + \
            element("cpu_time", result["cpu_time"]) + \
            "<stderr_out><![CDATA[\n%s]]></stderr_out>\n" % (stderr or "").replace(
                "]]>", "]]]]><![CDATA[>")
    return "<completed_job>\n%s</completed_job>\n" % out


def abort_jobs(req, db, root):
    """Abort jobs by name, possibly of several batches: all checked first, then all aborted."""
    user = auth.check(db, root)
    ids = []
    for elem in root.findall("job_name"):
        name = (elem.text or "").strip()
        wu = db.query_one("SELECT id, name, batch FROM workunit WHERE name = %s", (name,))
        if wu is None:
            raise SubmitError("no job %s" % name)
        if not wu["batch"]:
            raise SubmitError("job %s is not part of a batch" % name)
        batch = batches.lookup(db, wu["batch"])
        if batch is None or batch["user_id"] != user["id"]:
            raise SubmitError("not owner of batch")
        ids.append(wu["id"])
    batches.abort_jobs(db, ids)
    return element("success", 1)


def get_templates(req, db, root):
    app_name = text_of(root, "app_name")
    if app_name:
        app = app_of(db, app_name)
    else:
        name = text_of(root, "job_name")
        wu = db.query_one("SELECT appid FROM workunit WHERE name = %s", (name,))
        if wu is None:
            raise SubmitError("job not found: %s" % name)
        app = db.query_one("SELECT * FROM app WHERE id = %s", (wu["appid"],))
    auth.check(db, root, app)
    texts = []
    for suffix in ("in", "out"):
        try:
            with open(req.cfg.project_path("templates", "%s_%s" % (app["name"], suffix)),
                      encoding="utf-8", errors="replace") as f:
                texts.append(_strip_decl(f.read()))
        except OSError:
            raise SubmitError("template file missing") from None
    return "<templates>\n%s\n%s\n</templates>\n" % tuple(texts)


def _strip_decl(text):
    text = text.strip()
    if text.startswith("<?xml"):
        text = text[text.find("?>") + 2:].lstrip()
    return text


OPS = {
    "abort_batch": abort_batch, "abort_jobs": abort_jobs, "create_batch": create_batch,
    "estimate_batch": estimate_batch, "get_templates": get_templates, "ping": ping,
    "query_batch": query_batch, "query_batch2": query_batch2, "query_batches": query_batches,
    "query_job": query_job, "query_completed_job": query_completed_job,
    "retire_batch": retire_batch, "set_expire_time": set_expire_time,
    "submit_batch": submit_batch,
}
