"""Batch rows as BOINC keeps them, and what happens to a batch's jobs.

A batch is INIT while it is being filled, IN_PROGRESS once its jobs exist,
COMPLETE when every job has a canonical result or an error, ABORTED when its
owner aborted it and RETIRED when the owner is done with it (its collected
outputs are deleted and db_purge --batch may purge its jobs).  The counts
(njobs, nerror_jobs, fraction_done, credit_canonical) are recomputed from the
workunits whenever a batch is looked at (:func:`refresh`), as BOINC's
get_batch_params does.
"""

import os
import shutil
import time
from email.utils import formatdate

from .. import states as S
from .common import SubmitError

# A job's status (not stored; BOINC's WU_UNSENT ... in submit_util.inc).
UNSENT, IN_PROGRESS, SUCCESS, ERROR = "queued", "in_progress", "done", "error"

# credit per FLOP: 200 credits a day for one GFLOPS (BOINC's COBBLESTONE_SCALE)
COBBLESTONE_SCALE = 200 / 86400e9

RESULTS_DIR = "results"


def state_string(state):
    return {S.BATCH_STATE_INIT: "new", S.BATCH_STATE_IN_PROGRESS: "in progress",
            S.BATCH_STATE_COMPLETE: "completed", S.BATCH_STATE_ABORTED: "aborted",
            S.BATCH_STATE_RETIRED: "retired"}.get(state, "unknown state %s" % state)


def default_name(user, app):
    """BOINC's name for an unnamed batch: ``user:app:RFC 2822 date``."""
    return "%s:%s:%s" % (user["name"], app["name"], formatdate(localtime=True))


def create(db, user, app, name="", expire_time=0.0, njobs=0, logical_end_time=0.0):
    """A new batch row in state INIT; returns its id."""
    return db.insert(
        "INSERT INTO batch (user_id, create_time, logical_start_time, logical_end_time, "
        "est_completion_time, njobs, fraction_done, nerror_jobs, state, completion_time, "
        "credit_estimate, credit_canonical, credit_total, name, app_id, project_state, "
        "description, expire_time) VALUES (%s, %s, 0, %s, 0, %s, 0, 0, %s, 0, 0, 0, 0, "
        "%s, %s, 0, '', %s)",
        (user["id"], int(time.time()), logical_end_time, njobs, S.BATCH_STATE_INIT,
         name or default_name(user, app), app["id"], expire_time))


def lookup(db, batch_id=None, name=None):
    if batch_id:
        return db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
    if name:
        return db.query_one("SELECT * FROM batch WHERE name = %s ORDER BY id LIMIT 1", (name,))
    return None


WU_FIELDS = "id, name, rsc_fpops_est, canonical_credit, canonical_resultid, error_mask"


def workunits(db, batch_id, fields=WU_FIELDS):
    return db.query("SELECT %s FROM workunit WHERE batch = %%s ORDER BY id" % fields,
                    (batch_id,))


def refresh(db, batch, wus=None):
    """Recompute a batch's counts and state from its jobs and store them.

    Returns the batch dict updated, with ``njobs_success``, ``njobs_in_prog``
    and ``status`` (wu id -> job status) added.  A batch in INIT has no jobs
    yet and is left alone; COMPLETE is reached only from IN_PROGRESS.
    """
    batch = dict(batch, njobs_success=0, njobs_in_prog=0, status={})
    if batch["state"] == S.BATCH_STATE_INIT:
        return batch
    if wus is None:
        wus = workunits(db, batch["id"])
    if not wus:
        if batch["njobs"]:
            db.execute("UPDATE batch SET njobs = 0 WHERE id = %s", (batch["id"],))
            batch["njobs"] = 0
        return batch
    in_prog = {r[0] for r in db.rows(
        "SELECT DISTINCT workunitid FROM result WHERE batch = %s AND server_state IN (%s, %s)",
        (batch["id"], S.RESULT_SERVER_STATE_IN_PROGRESS, S.RESULT_SERVER_STATE_OVER))}
    nerror = nsuccess = nprog = 0
    credit = 0.0
    complete = True
    status = batch["status"]
    for wu in wus:
        if wu["canonical_resultid"]:
            nsuccess += 1
            credit += wu["canonical_credit"]
            status[wu["id"]] = SUCCESS
        elif wu["error_mask"]:
            nerror += 1
            status[wu["id"]] = ERROR
        else:
            complete = False
            if wu["id"] in in_prog:
                nprog += 1
                status[wu["id"]] = IN_PROGRESS
            else:
                status[wu["id"]] = UNSENT
    njobs = len(wus)
    batch.update(njobs=njobs, nerror_jobs=nerror, credit_canonical=credit,
                 fraction_done=(nsuccess + nerror) / njobs,
                 njobs_success=nsuccess, njobs_in_prog=nprog)
    if complete and batch["state"] == S.BATCH_STATE_IN_PROGRESS:
        batch.update(state=S.BATCH_STATE_COMPLETE, completion_time=int(time.time()))
    # The state only moves forward: another process may have aborted or
    # retired the batch since we read it.
    db.execute(
        "UPDATE batch SET fraction_done = %s, nerror_jobs = %s, credit_canonical = %s, "
        "njobs = %s, state = IF(state = %s, %s, state), "
        "completion_time = IF(state = %s, %s, completion_time) WHERE id = %s",
        (batch["fraction_done"], nerror, credit, njobs, S.BATCH_STATE_IN_PROGRESS,
         batch["state"], S.BATCH_STATE_COMPLETE, batch["completion_time"], batch["id"]))
    return batch


def total_cpu_time(db, batch_id):
    return db.scalar("SELECT sum(result.cpu_time) FROM workunit JOIN result ON "
                     "workunit.id = result.workunitid WHERE workunit.batch = %s",
                     (batch_id,)) or 0.0


# ------------------------------------------------------------ ending jobs

def _cancel(db, wu_ids):
    """BOINC's abort: unsent results OVER/DIDNT_NEED, the jobs CANCELLED with
    their input files up for deletion.  transition_time = now so that the
    transitioner settles the jobs at once (BOINC's PHP leaves it)."""
    if not wu_ids:
        return
    marks = ",".join(["%s"] * len(wu_ids))
    with db.transaction():
        db.execute("UPDATE result SET server_state = %%s, outcome = %%s WHERE server_state = %%s "
                   "AND workunitid IN (%s)" % marks,
                   [S.RESULT_SERVER_STATE_OVER, S.RESULT_OUTCOME_DIDNT_NEED,
                    S.RESULT_SERVER_STATE_UNSENT] + list(wu_ids))
        db.execute("UPDATE workunit SET error_mask = error_mask | %%s, file_delete_state = %%s, "
                   "transition_time = %%s WHERE id IN (%s)" % marks,
                   [S.WU_ERROR_CANCELLED, S.FILE_DELETE_READY, int(time.time())]
                   + list(wu_ids))


def abort_jobs(db, wu_ids):
    _cancel(db, list(wu_ids))


def abort(db, batch):
    """Abort every job of the batch; the batch becomes ABORTED."""
    ids = [r[0] for r in db.rows("SELECT id FROM workunit WHERE batch = %s", (batch["id"],))]
    _cancel(db, ids)
    db.execute("UPDATE batch SET state = %s, completion_time = %s WHERE id = %s",
               (S.BATCH_STATE_ABORTED, int(time.time()), batch["id"]))


def results_dir(cfg, batch_id):
    """Where the batch-collect assimilator puts a batch's output files."""
    return cfg.project_path(RESULTS_DIR, str(int(batch_id)))


def retire(db, cfg, batch):
    """Retire a batch: its collected outputs go, its unsent jobs are cancelled,
    and it is RETIRED (kept, for db_purge --batch to purge its jobs)."""
    path = results_dir(cfg, batch["id"])
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SubmitError("can't delete %s: %s" % (path, exc.strerror)) from None
    batch = refresh(db, batch)
    unsent = [wu_id for wu_id, st in batch["status"].items() if st == UNSENT]
    _cancel(db, unsent)
    db.execute("UPDATE batch SET state = %s WHERE id = %s", (S.BATCH_STATE_RETIRED, batch["id"]))
    return not os.path.exists(path)


# ------------------------------------------------------------ priorities

def project_flops(db):
    """BOINC's crude project speed for estimates: from the users' recent credit."""
    credit = db.scalar("SELECT sum(expavg_credit) FROM user") or 0.0
    return 1e9 * (credit or 200.0) / 200.0


def allocation_end_time(db, user, app, flops):
    """BOINC's adjust_user_priority: move the submitter's logical start time on
    by the batch's share of the project and return it (the batch's logical
    end time; minus it is the jobs' priority)."""
    us = db.query_one("SELECT * FROM user_submit WHERE user_id = %s", (user["id"],))
    if us is None:
        raise SubmitError("no submit access")
    if app.get("min_avg_pfc"):
        flops *= app["min_avg_pfc"]
    total_quota = db.scalar("SELECT sum(quota) FROM user_submit") or 0.0
    since = time.time() - 30 * 86400
    credit = db.scalar("SELECT sum(expavg_credit) FROM app_version WHERE expavg_time > %s",
                       (since,)) or 0.0
    speed = credit / COBBLESTONE_SCALE / 86400
    delta = 0.0
    if total_quota and speed:
        delta = (flops / speed) / (us["quota"] / total_quota) if us["quota"] else 0.0
    start = max(us["logical_start_time"], time.time()) + delta
    db.execute("UPDATE user_submit SET logical_start_time = %s WHERE user_id = %s",
               (start, user["id"]))
    return start
