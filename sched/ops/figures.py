"""The numbers behind the status page, the XML status and the metrics.

Each function runs a few aggregate queries (or looks at shared memory) and
returns plain dicts, so the HTML page, ``server_status?xml=1`` and the
Prometheus endpoint say the same thing.
"""

import time

from .. import states
from ..config import DEFAULT_SHMEM_WORK_ITEMS

DAY = 86400


def job_counts(db, now=None):
    """BOINC's server_status counts, plus result counts by state and the
    oldest unsent result."""
    now = int(now or time.time())
    by_state = {s: 0 for s in states.SERVER_STATE}
    for state, n in db.rows("SELECT server_state, COUNT(*) FROM result GROUP BY server_state"):
        by_state[state] = n
    by_outcome = {o: 0 for o in states.OUTCOME}
    for outcome, n in db.rows("SELECT outcome, COUNT(*) FROM result WHERE server_state=%s "
                              "GROUP BY outcome", (states.RESULT_SERVER_STATE_OVER,)):
        by_outcome[outcome] = n
    c = dict(
        results_by_state=by_state, results_over_by_outcome=by_outcome,
        results_ready_to_send=by_state[states.RESULT_SERVER_STATE_UNSENT],
        results_in_progress=by_state[states.RESULT_SERVER_STATE_IN_PROGRESS],
        results_need_file_delete=db.scalar(
            "SELECT COUNT(*) FROM result WHERE file_delete_state=%s",
            (states.FILE_DELETE_READY,)),
        wus_need_validate=db.scalar("SELECT COUNT(*) FROM workunit WHERE need_validate=1"),
        wus_need_assimilate=db.scalar(
            "SELECT COUNT(*) FROM workunit WHERE assimilate_state=%s", (states.ASSIMILATE_READY,)),
        wus_need_file_delete=db.scalar(
            "SELECT COUNT(*) FROM workunit WHERE file_delete_state=%s",
            (states.FILE_DELETE_READY,)),
        wus_total=db.scalar("SELECT COUNT(*) FROM workunit"),
    )
    oldest = db.query_one("SELECT id, name, create_time FROM result WHERE server_state=%s "
                          "ORDER BY create_time, id LIMIT 1",
                          (states.RESULT_SERVER_STATE_UNSENT,))
    c["oldest_unsent"] = oldest
    c["oldest_unsent_age"] = max(0, now - oldest["create_time"]) if oldest else 0
    first = db.scalar("SELECT MIN(transition_time) FROM workunit")
    c["transitioner_backlog"] = max(0.0, (now - first) / 3600.0) if first else 0.0
    since = now - DAY
    c.update(
        users_with_recent_credit=db.scalar("SELECT COUNT(*) FROM user WHERE expavg_credit>1"),
        users_with_credit=db.scalar("SELECT COUNT(*) FROM user WHERE total_credit>1"),
        users_past_24_hours=db.scalar("SELECT COUNT(*) FROM user WHERE create_time>%s",
                                      (since,)),
        users_active_24_hours=db.scalar(
            "SELECT COUNT(DISTINCT userid) FROM host WHERE rpc_time>%s", (since,)),
        hosts_with_recent_credit=db.scalar("SELECT COUNT(*) FROM host WHERE expavg_credit>1"),
        hosts_with_credit=db.scalar("SELECT COUNT(*) FROM host WHERE total_credit>1"),
        hosts_past_24_hours=db.scalar("SELECT COUNT(*) FROM host WHERE create_time>%s",
                                      (since,)),
        hosts_active_24_hours=db.scalar("SELECT COUNT(*) FROM host WHERE rpc_time>%s",
                                        (since,)),
        flops=float(db.scalar("SELECT COALESCE(SUM(expavg_credit), 0) FROM user") or 0) / 200,
    )
    return c


def app_counts(db, now=None):
    """Per non-deprecated app: unsent and in-progress results, and runtime
    (hours) and users of the results validated in the last 24 hours."""
    now = int(now or time.time())
    apps = db.query("SELECT id, name, user_friendly_name FROM app WHERE deprecated=0 "
                    "ORDER BY id")
    counts = {}
    for appid, state, n in db.rows(
            "SELECT appid, server_state, COUNT(*) FROM result WHERE server_state IN (%s, %s) "
            "GROUP BY appid, server_state", (states.RESULT_SERVER_STATE_UNSENT,
                                             states.RESULT_SERVER_STATE_IN_PROGRESS)):
        counts[appid, state] = n
    runtimes = {}
    for row in db.query(
            "SELECT appid, AVG(elapsed_time) AS avg, MIN(elapsed_time) AS min, "
            "MAX(elapsed_time) AS max, COUNT(DISTINCT userid) AS users FROM result "
            "WHERE validate_state=%s AND received_time>%s GROUP BY appid",
            (states.VALIDATE_STATE_VALID, now - DAY)):
        runtimes[row["appid"]] = row
    for app in apps:
        app["unsent"] = counts.get((app["id"], states.RESULT_SERVER_STATE_UNSENT), 0)
        app["in_progress"] = counts.get((app["id"], states.RESULT_SERVER_STATE_IN_PROGRESS), 0)
        info = runtimes.get(app["id"])
        app["runtime"] = None if info is None else dict(
            avg=float(info["avg"] or 0) / 3600, min=float(info["min"] or 0) / 3600,
            max=float(info["max"] or 0) / 3600, users=info["users"])
    return apps


def cache_state(cfg):
    """The feeder's shared-memory job cache: dict with ``error`` or its state."""
    from .. import shmem
    try:
        cache = shmem.JobCache.attach(cfg)
    except shmem.ShmemError as exc:
        return dict(error=str(exc), key=cfg.shmem_key)
    try:
        h = cache.header()
        slots = cache.slots()
        present = sum(1 for s in slots if s.state == shmem.PRESENT)
        empty = sum(1 for s in slots if s.state == shmem.EMPTY)
        state = dict(
            error=None, key=cfg.shmem_key, ready=bool(h.ready), generation=h.generation,
            feeder_pid=h.feeder_pid, created=h.create_time, segment_size=h.segment_size,
            nslots=h.max_wu_results, present=present, empty=empty,
            reserved=len(slots) - present - empty, configured_slots=cfg.shmem_work_items
            or DEFAULT_SHMEM_WORK_ITEMS, oldest_slot=min(
                (s.time_added for s in slots if s.state == shmem.PRESENT), default=0))
        try:
            catalog = cache.catalog()
            state.update(apps=[a["name"] for a in catalog.apps],
                         app_version_ids=sorted(av["id"] for av in catalog.app_versions),
                         napp_versions=len(catalog.app_versions))
        except shmem.ShmemError as exc:
            state.update(error=str(exc))
        return state
    finally:
        cache.detach()


# ---------------------------------------------------------------- history

HOUR = 3600
_S = states
# When a result left the queue of unsent jobs, and when it stopped being in
# progress (NULL: it is still there).  A result that went OVER without being
# sent or reported (cancelled, timed out) left when its row last changed
# (mod_time): close enough for a picture.
_LEFT_UNSENT = ("(CASE WHEN sent_time>0 THEN sent_time WHEN server_state IN (%d, %d) THEN NULL "
                "ELSE COALESCE(UNIX_TIMESTAMP(mod_time), create_time) END)"
                % (_S.RESULT_SERVER_STATE_INACTIVE, _S.RESULT_SERVER_STATE_UNSENT))
_LEFT_IN_PROGRESS = ("(CASE WHEN received_time>0 THEN received_time WHEN server_state=%d "
                     "THEN NULL ELSE COALESCE(UNIX_TIMESTAMP(mod_time), sent_time) END)"
                     % _S.RESULT_SERVER_STATE_IN_PROGRESS)


def _hours(now, hours):
    last = int(now) // HOUR
    return last - hours + 1, last


def results_per_hour(db, hours=72, now=None):
    """Series of results sent, and reported (success / error), per hour."""
    now = int(now or time.time())
    first, last = _hours(now, hours)
    start = first * HOUR
    sent = dict(db.rows("SELECT FLOOR(sent_time/3600), COUNT(*) FROM result "
                        "WHERE sent_time>=%s GROUP BY 1", (start,)))
    ok, bad = {}, {}
    for bucket, good, error in db.rows(
            "SELECT FLOOR(received_time/3600), SUM(outcome=%s), SUM(outcome<>%s) FROM result "
            "WHERE received_time>=%s GROUP BY 1",
            (_S.RESULT_OUTCOME_SUCCESS, _S.RESULT_OUTCOME_SUCCESS, start)):
        ok[bucket], bad[bucket] = good, error

    def series(d):
        return [(b * HOUR, int(d.get(b, 0) or 0)) for b in range(first, last + 1)]
    return [("sent", series(sent)), ("reported ok", series(ok)), ("reported error", series(bad))]


def queue_depth(db, hours=72, now=None):
    """Unsent and in-progress results at the end of each hour, reconstructed
    from the results' create/sent/received times (no sampling needed)."""
    now = int(now or time.time())
    first, last = _hours(now, hours)
    start = first * HOUR
    out = []
    for label, enter, left in (("unsent", "create_time", _LEFT_UNSENT),
                               ("in progress", "sent_time", _LEFT_IN_PROGRESS)):
        # Entries before the window count in its first hour (if still there).
        sql = ("SELECT b, SUM(d) FROM ("
               "SELECT GREATEST(FLOOR({enter}/3600), %s) AS b, 1 AS d FROM result "
               "WHERE {enter}>0 AND ({left} IS NULL OR {left}>=%s) "
               "UNION ALL SELECT FLOOR({left}/3600), -1 FROM result "
               "WHERE {enter}>0 AND {left}>=%s) t GROUP BY b").format(enter=enter, left=left)
        deltas = dict(db.rows(sql, (first, start, start)))
        depth, points = 0, []
        for b in range(first, last + 1):
            depth += int(deltas.get(b, 0) or 0)
            points.append((min((b + 1) * HOUR, now), depth))
        out.append((label, points))
    return out


def app_history(db, days=7, now=None):
    """Per app over the last ``days``: results reported or timed out, errors,
    and the mean runtime (s) of the successful ones."""
    now = int(now or time.time())
    since = now - days * DAY
    rows = db.query(
        "SELECT app.name AS name, COUNT(*) AS n, SUM(r.outcome=%s) AS ok, "
        "SUM(r.outcome IN (%s, %s, %s)) AS errors, "
        "AVG(CASE WHEN r.outcome=%s THEN r.elapsed_time END) AS runtime "
        "FROM result r JOIN app ON app.id=r.appid "
        "WHERE r.server_state=%s AND (r.received_time>%s OR (r.outcome=%s AND "
        "r.report_deadline>%s AND r.report_deadline<=%s)) GROUP BY app.id, app.name "
        "ORDER BY app.name",
        (_S.RESULT_OUTCOME_SUCCESS, _S.RESULT_OUTCOME_CLIENT_ERROR, _S.RESULT_OUTCOME_NO_REPLY,
         _S.RESULT_OUTCOME_VALIDATE_ERROR, _S.RESULT_OUTCOME_SUCCESS,
         _S.RESULT_SERVER_STATE_OVER, since, _S.RESULT_OUTCOME_NO_REPLY, since, now))
    for row in rows:
        row["n"], row["ok"], row["errors"] = int(row["n"]), int(row["ok"] or 0), \
            int(row["errors"] or 0)
        row["runtime"] = float(row["runtime"] or 0)
        row["error_rate"] = row["errors"] / row["n"] if row["n"] else 0.0
    return rows
