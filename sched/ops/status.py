"""Server status (BOINC's server_status.php, HTML and ``?xml=1``) with charts.

Daemons of config.xml per host, the scheduler/upload/download servers, the
feeder's shared-memory cache, result and workunit counts, the oldest unsent
job, users and hosts active in the last 24 hours, per-app queues, and
pictures: results per hour, queue depth, per-app runtime and error rate.
"""

import time

from .. import states
from ..db import DatabaseError
from ..xmlutil import escape
from . import charts, daemons, figures
from .app import Response, close_db
from .html import Raw, box, esc, fields, join, link, table, tag, when, ago

XML_HEADER = '<?xml version="1.0" encoding="UTF-8" ?>\n'
_CLASS = {daemons.RUNNING: "running", daemons.NOT_RUNNING: "notrunning",
          daemons.DISABLED: "disabled", daemons.UNKNOWN: "unknown"}


def home(req):
    return server_status(req)


def _gather(req):
    """Everything the page shows; a part that fails is replaced by its error."""
    cfg = req.cfg
    data = dict(daemons=daemons.servers_status(cfg) + daemons.daemon_status(cfg),
                cache=figures.cache_state(cfg), now=int(time.time()))
    try:
        data["jobs"] = figures.job_counts(req.db, data["now"])
        data["apps"] = figures.app_counts(req.db, data["now"])
    except DatabaseError as exc:
        close_db()                  # connect afresh next time
        data["db_error"] = str(exc)
    return data


def server_status(req):
    data = _gather(req)
    if req.arg("xml") not in ("", "0"):
        return Response(_xml(data), content_type="text/xml; charset=utf-8")
    parts = [_row([_section("Daemons", _daemon_table(data["daemons"])),
                   _section("Job cache (shared memory)", _cache_box(data["cache"]))])]
    if "db_error" in data:
        parts.append(box("Can't read the database: %s" % data["db_error"], "problem"))
    else:
        work = _work_html(req, data)
        parts += [_row(work[:3]), _charts(req, data["now"]), _row(work[3:])]
    parts.append(tag("p", join(["Also as XML: ", link(req.url("server_status", xml=1),
                                                        "server_status?xml=1")])))
    return req.page("Server status", join(parts), here="")


def _section(title, body):
    return Raw("<section>%s%s</section>" % (tag("h2", title), esc(body)))


def _row(sections):
    return Raw('<div class="row">%s</div>' % "".join(esc(x) for x in sections))


def _daemon_table(items):
    rows = []
    for d in items:
        note = "" if d.enabled else " (project disabled on this host)"
        rows.append({"class": _CLASS[d.status], "cells": [
            d.host, tag("span", d.display, title=d.cmd), d.status + note, d.pid or ""]})
    return table(("host", "program", "status", "pid"), rows)


def _cache_box(c):
    if c.get("error") and "nslots" not in c:
        return box("Not attached: %s" % c["error"], "problem")
    rows = [("shmem key", "0x%x" % c["key"]), ("ready", "yes" if c["ready"] else "no"),
            ("feeder pid", c["feeder_pid"]), ("created", when(c["created"])),
            ("catalog generation", c["generation"]),
            ("slots", "%d (%d with a job, %d empty, %d reserved by a scheduler)" % (
                c["nslots"], c["present"], c["empty"], c["reserved"])),
            ("oldest job in cache", when(c["oldest_slot"]) if c["oldest_slot"] else "-")]
    if c.get("error"):
        rows.append(("catalog", Raw(tag("span", c["error"], class_="error"))))
    else:
        rows += [("apps cached", ", ".join(c["apps"]) or "none"),
                 ("app versions cached", ", ".join("#%d" % i for i in c["app_version_ids"])
                  or "none")]
    return fields(rows)


def _work_html(req, data):
    j, now = data["jobs"], data["now"]
    oldest = j["oldest_unsent"]
    work = [
        ("Tasks ready to send", j["results_ready_to_send"]),
        ("Tasks in progress", j["results_in_progress"]),
        ("Workunits waiting for validation", j["wus_need_validate"]),
        ("Workunits waiting for assimilation", j["wus_need_assimilate"]),
        ("Workunits waiting for file deletion", j["wus_need_file_delete"]),
        ("Tasks waiting for file deletion", j["results_need_file_delete"]),
        ("Transitioner backlog (hours)", "%.2f" % j["transitioner_backlog"]),
        ("Oldest unsent task", join([link(req.url("result", id=oldest["id"]), oldest["name"]),
                                     " (created %s ago)" % ago(now - oldest["create_time"])])
         if oldest else "none"),
    ]
    people = [
        ("Users with credit", j["users_with_credit"]),
        ("Users with recent credit", j["users_with_recent_credit"]),
        ("Users registered in past 24 hours", j["users_past_24_hours"]),
        ("Users active in past 24 hours (a host contacted us)", j["users_active_24_hours"]),
        ("Computers with credit", j["hosts_with_credit"]),
        ("Computers with recent credit", j["hosts_with_recent_credit"]),
        ("Computers registered in past 24 hours", j["hosts_past_24_hours"]),
        ("Computers active in past 24 hours", j["hosts_active_24_hours"]),
        ("Current GigaFLOPS", "%.2f" % j["flops"]),
    ]
    by_state = [(name, j["results_by_state"][n],
                 link(req.url("db", table="result", server_state=n), "list"))
                for n, name in sorted(states.SERVER_STATE.items())]
    by_outcome = [(name, j["results_over_by_outcome"][n],
                   link(req.url("db", table="result", server_state=5, outcome=n), "list"))
                  for n, name in sorted(states.OUTCOME.items())]
    app_rows = []
    for app in data["apps"]:
        rt = app["runtime"]
        app_rows.append([app["name"], app["unsent"], app["in_progress"],
                         "%.2f / %.2f / %.2f" % (rt["avg"], rt["min"], rt["max"]) if rt else "-",
                         rt["users"] if rt else 0])
    return [
        _section("Work", table(("", "count"), work, numeric=(1,))),
        _section("Users and computers", table(("", "count"), people, numeric=(1,))),
        _section("Tasks by application", table(
            ("application", "unsent", "in progress",
             "runtime of last 24 h, hours (avg / min / max)", "users in last 24 h"),
            app_rows, numeric=(1, 2, 4))),
        _section("Results by server state",
                 table(("server_state", "results", ""), by_state, numeric=(1,))),
        _section("Results that are over, by outcome",
                 table(("outcome", "results", ""), by_outcome, numeric=(1,))),
    ]


def _charts(req, now, hours=72, days=7):
    per_hour = figures.results_per_hour(req.db, hours, now)
    depth = figures.queue_depth(req.db, hours, now)
    apps = figures.app_history(req.db, days, now)
    t0, t1 = per_hour[0][1][0][0], now
    figs = [
        (charts.time_series("Results per hour, last %d hours" % hours, per_hour, t0, t1,
                            y_label="results / hour"), "Results sent and reported per hour"),
        (charts.time_series("Queue depth, last %d hours" % hours, depth, t0, t1,
                            y_label="results"), "Unsent and in-progress results"),
        (charts.bars("Mean runtime of successful results, last %d days (s)" % days,
                     [(a["name"], a["runtime"], None) for a in apps], unit=" s"),
         "Per-app runtime"),
        (charts.bars("Error rate, last %d days (%%)" % days,
                     [(a["name"], 100.0 * a["error_rate"], "%s: %d errors of %d results" % (
                         a["name"], a["errors"], a["n"])) for a in apps], unit=" %"),
         "Per-app error rate (client errors, invalid and timed-out results)"),
    ]
    return _section("Pictures", Raw('<div class="charts">%s</div>' % "".join(
        "<figure>%s<figcaption>%s</figcaption></figure>" % (svg, esc(caption))
        for svg, caption in figs)))


# ---------------------------------------------------------------- XML

def _item(name, value):
    if isinstance(value, float):
        value = ("%.6f" % value).rstrip("0").rstrip(".")
    return "   <%s>%s</%s>\n" % (name, escape(str(value or 0)), name)


def _xml(data):
    out = [XML_HEADER, "<server_status>\n<daemon_status>\n"]
    for d in data["daemons"]:
        out.append("  <daemon>\n    <host>%s</host>\n    <command>%s</command>\n"
                   "    <status>%s</status>\n  </daemon>\n"
                   % (escape(d.host), escape(d.display), d.status))
    out.append("</daemon_status>\n")
    if "jobs" in data:
        j = data["jobs"]
        out.append("<database_file_states>\n")
        for name, key in (
                ("results_ready_to_send", "results_ready_to_send"),
                ("results_in_progress", "results_in_progress"),
                ("workunits_waiting_for_validation", "wus_need_validate"),
                ("workunits_waiting_for_assimilation", "wus_need_assimilate"),
                ("workunits_waiting_for_deletion", "wus_need_file_delete"),
                ("results_waiting_for_deletion", "results_need_file_delete"),
                ("transitioner_backlog_hours", "transitioner_backlog"),
                ("users_with_recent_credit", "users_with_recent_credit"),
                ("users_with_credit", "users_with_credit"),
                ("users_registered_in_past_24_hours", "users_past_24_hours"),
                ("hosts_with_recent_credit", "hosts_with_recent_credit"),
                ("hosts_with_credit", "hosts_with_credit"),
                ("hosts_registered_in_past_24_hours", "hosts_past_24_hours"),
                ("current_floating_point_speed", "flops")):
            out.append(_item(name, j[key]))
        out.append("<tasks_by_app>\n")
        for app in data["apps"]:
            out.append("<app>\n" + _item("id", app["id"]) + _item("name", app["name"])
                       + _item("unsent", app["unsent"]) + _item("in_progress", app["in_progress"]))
            rt = app["runtime"]
            if rt:
                out.append(_item("avg_runtime", rt["avg"]) + _item("min_runtime", rt["min"])
                           + _item("max_runtime", rt["max"]) + _item("users", rt["users"]))
            out.append("</app>\n")
        out.append("</tasks_by_app>\n</database_file_states>\n")
        # Ours, beyond BOINC's elements.
        out.append("<job_states>\n")
        for n, name in sorted(states.SERVER_STATE.items()):
            out.append(_item("results_%s" % name.lower(), j["results_by_state"][n]))
        out.append(_item("oldest_unsent_result_age", j["oldest_unsent_age"]))
        out.append(_item("users_active_in_past_24_hours", j["users_active_24_hours"]))
        out.append(_item("hosts_active_in_past_24_hours", j["hosts_active_24_hours"]))
        out.append("</job_states>\n")
    c = data["cache"]
    out.append("<shared_memory>\n")
    if "nslots" in c:
        for key in ("ready", "generation", "feeder_pid", "nslots", "present", "empty",
                    "reserved"):
            out.append(_item(key, int(c[key])))
    if c.get("error"):
        out.append("   <error>%s</error>\n" % escape(c["error"]))
    out.append("</shared_memory>\n</server_status>\n")
    return "".join(out)
