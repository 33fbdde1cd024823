"""``/NAME_ops/metrics``: the project's health in Prometheus' text format.

Served behind the same HTTP authentication as the other ops pages (the
numbers say a lot about the project; Prometheus scrapes with
``basic_auth``), so there is one password file and one place to protect.
Gauges are computed at scrape time from the database, the pid files and
shared memory; a part that can't be read is left out and named in
``boinc_scrape_error{part=...}``.

Scheduler RPCs are counted from the hosts' own RPC sequence numbers
(``host.rpc_seqno``: every client numbers its requests), so the counter
needs no log parsing and survives scheduler restarts.  The last-hour
figures read the result table whole (BOINC indexes no time column), so a
large project scrapes every minute or so, not every few seconds.
"""

import time

from .. import states
from . import daemons, figures
from .app import Response, close_db

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    """Samples grouped by metric name (the format wants each family together)."""

    def __init__(self):
        self.families = {}      # name -> [help, type, sample lines]; insertion order

    def add(self, name, value, help_text, kind="gauge", **labels):
        family = self.families.setdefault(name, [help_text, kind, []])
        text = ",".join('%s="%s"' % (k, _label(v)) for k, v in labels.items())
        family[2].append("%s%s %s" % (name, "{%s}" % text if text else "",
                                      repr(float(value)) if isinstance(value, float)
                                      else int(value or 0)))

    def text(self):
        lines = []
        for name, (help_text, kind, samples) in self.families.items():
            lines += ["# HELP %s %s" % (name, help_text), "# TYPE %s %s" % (name, kind)]
            lines += samples
        return "\n".join(lines) + "\n"


def collect(cfg, connect, now=None):
    """(text, [(part, exception)]); ``connect()`` returns the DB connection."""
    now = int(now or time.time())
    m = Exposition()
    errors = []
    for d in daemons.servers_status(cfg)[:2] + daemons.daemon_status(cfg):
        if d.status in (daemons.RUNNING, daemons.NOT_RUNNING):
            m.add("boinc_daemon_up", d.status == daemons.RUNNING,
                  "1 if the daemon (or server) runs", host=d.host, command=d.display,
                  cmd=d.cmd)
    c = figures.cache_state(cfg)
    m.add("boinc_shmem_attached", "nslots" in c, "1 if the feeder's job cache exists")
    if "nslots" in c:
        m.add("boinc_shmem_ready", c["ready"], "1 once the feeder has filled the cache")
        m.add("boinc_shmem_generation", c["generation"],
              "catalog generation (goes up on each reread_db)", "counter")
        for state in ("present", "empty", "reserved"):
            m.add("boinc_shmem_slots", c[state], "job cache slots by state", state=state)
    try:
        _db_metrics(m, connect(), now)
        m.add("boinc_db_up", 1, "1 if the database answered")
    except Exception as exc:        # noqa: BLE001 - a scrape must still answer
        m.add("boinc_db_up", 0, "1 if the database answered")
        errors.append(("database", exc))
    for part, _ in errors:
        m.add("boinc_scrape_error", 1, "a part of the metrics could not be read", part=part)
    return m.text(), errors


def _db_metrics(m, db, now):
    j = figures.job_counts(db, now)
    for n, name in sorted(states.SERVER_STATE.items()):
        m.add("boinc_results", j["results_by_state"][n], "results by server state",
              server_state=name)
    m.add("boinc_queue_depth", j["results_ready_to_send"], "results ready to send (unsent)")
    m.add("boinc_oldest_unsent_result_age_seconds", j["oldest_unsent_age"],
          "age of the oldest unsent result")
    for stage, key in (("validation", "wus_need_validate"),
                       ("assimilation", "wus_need_assimilate"),
                       ("file_deletion", "wus_need_file_delete")):
        m.add("boinc_workunits_waiting", j[key], "daemon backlogs: workunits waiting",
              stage=stage)
    m.add("boinc_results_waiting_file_deletion", j["results_need_file_delete"],
          "results whose files wait for the file deleter")
    m.add("boinc_transitioner_backlog_seconds", j["transitioner_backlog"] * 3600.0,
          "how far the transitioner is behind")
    m.add("boinc_hosts_active", j["hosts_active_24_hours"],
          "hosts that contacted the scheduler", window="24h")
    m.add("boinc_users_active", j["users_active_24_hours"],
          "users with a host that contacted the scheduler", window="24h")
    m.add("boinc_host_rpcs_total", db.scalar("SELECT COALESCE(SUM(rpc_seqno), 0) FROM host"),
          "scheduler RPCs made by the project's hosts (sum of host.rpc_seqno)", "counter")
    m.add("boinc_hosts_active", db.scalar(
        "SELECT COUNT(*) FROM host WHERE rpc_time>%s", (now - 3600,)),
        "hosts that contacted the scheduler", window="1h")
    m.add("boinc_results_sent", db.scalar(
        "SELECT COUNT(*) FROM result WHERE sent_time>%s", (now - 3600,)),
        "jobs sent to hosts", window="1h")
    for outcome, n in db.rows("SELECT outcome, COUNT(*) FROM result WHERE server_state=%s "
                              "AND (received_time>%s OR (outcome=%s AND report_deadline>%s "
                              "AND report_deadline<=%s)) GROUP BY outcome",
                              (states.RESULT_SERVER_STATE_OVER, now - 3600,
                               states.RESULT_OUTCOME_NO_REPLY, now - 3600, now)):
        m.add("boinc_results_over", n, "results that ended, by outcome", window="1h",
              outcome=states.OUTCOME.get(outcome, outcome))
    errors = db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s AND outcome IN "
                       "(%s, %s, %s) AND (received_time>%s OR (outcome=%s AND "
                       "report_deadline>%s AND report_deadline<=%s))",
                       (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_CLIENT_ERROR,
                        states.RESULT_OUTCOME_NO_REPLY, states.RESULT_OUTCOME_VALIDATE_ERROR,
                        now - 3600, states.RESULT_OUTCOME_NO_REPLY, now - 3600, now))
    m.add("boinc_result_errors", errors,
          "results that failed (client error, no reply, invalid)", window="1h")
    m.add("boinc_workunits_errored", db.scalar(
        "SELECT COUNT(*) FROM workunit WHERE error_mask<>0"),
        "workunits with an error bit set (still in the database)")
    for app in figures.app_counts(db, now):
        m.add("boinc_app_results_unsent", app["unsent"], "unsent results per app",
              app=app["name"])
        m.add("boinc_app_results_in_progress", app["in_progress"],
              "results in progress per app", app=app["name"])


def metrics(req):
    text, errors = collect(req.cfg, lambda: req.db)
    for part, exc in errors:
        req.log("metrics: %s: %s" % (part, exc))
        close_db()          # reconnect on the next scrape
    return Response(text, content_type=CONTENT_TYPE)
