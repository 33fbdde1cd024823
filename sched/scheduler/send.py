"""Choosing jobs for a host from the feeder's cache (BOINC's score-based way).

For each job slot holding an unsent result: find the best app version this
host can run (platform, plan class, client version, quotas), check the job
fits (memory, disk, deadline), score it, then take the best-scoring jobs
until the host's request is filled.  A slot is claimed in shared memory
before the DB is touched, and the result is marked sent with a conditional
UPDATE, so a job is never sent twice.
"""

import os
import time

from .. import shmem, states
from ..db import LOCK_ERRORS, DatabaseError
from . import Random, plans
from .quota import generalized_app_version_id
from .reply import app_version_xml, result_xml

GIGA = 1e9
DEFAULT_RAM_SIZE = 64e6
MIN_FLOPS = 1e9          # hosts reporting no benchmark are taken as 1 GFLOPS


def insert_after(doc, marker, text):
    i = doc.find(marker)
    if i < 0:
        return None
    i += len(marker)
    return doc[:i] + text + doc[i:]


class WorkRequest:
    """How much work the host wants and what it can hold (send_work_setup)."""

    def __init__(self, ctx):
        req, cfg, host = ctx.req, ctx.cfg, ctx.host
        prefs = ctx.prefs
        ncpus = host.get("p_ncpus") or 1
        pct = prefs.get("max_ncpus_pct", 0)
        if 0 < pct < 100:
            ncpus = max(1, int(ncpus * pct / 100))
        ncpus = min(ncpus, cfg.max_ncpus)
        self.ncpus = ncpus
        self.seconds_to_fill = req.work_req_seconds
        self.req_secs = req.cpu_req_secs
        self.req_instances = req.cpu_req_instances
        self.rsc_spec = req.cpu_req_secs > 0 or req.cpu_req_instances > 0
        self.max_jobs = cfg.max_wus_to_send * ncpus if cfg.max_wus_to_send else 10 ** 9
        self.in_progress = len(req.other_results)
        self.max_in_progress = cfg.max_wus_in_progress * ncpus if cfg.max_wus_in_progress else 0
        self.disk_available = _disk_available(ctx)
        ram = host.get("m_nbytes") or DEFAULT_RAM_SIZE
        busy, idle = prefs.get("ram_max_used_busy_pct", 0), prefs.get("ram_max_used_idle_pct", 0)
        frac = min(max(busy, idle) / 100.0, 1.0) if busy > 0 and idle > 0 else 1.0
        self.usable_ram = ram * frac
        ts = req.time_stats
        on, active = ts.get("on_frac", 1.0), ts.get("active_frac", 1.0)
        self.available_frac = min(max((on if on > 0 else 1.0) * (active if active > 0 else 1.0),
                                      0.1), 1.0)
        self.njobs = 0
        self.reasons = {}          # message -> priority, said once each
        self.quota_exceeded = None  # a version's max_jobs_per_day, when it was the limit

    def need_more(self):
        if self.njobs >= self.max_jobs:
            return False
        if self.max_in_progress and self.in_progress + self.njobs >= self.max_in_progress:
            self.reasons.setdefault("This computer has reached a limit on tasks in progress",
                                    "notice")
            return False
        if self.rsc_spec:
            return self.req_secs > 0 or self.req_instances > 0
        return self.seconds_to_fill > 0


def _disk_available(ctx):
    host, prefs, cfg = ctx.host, ctx.prefs, ctx.cfg
    min_free = max(prefs.get("disk_min_free_gb", 0.0), cfg.default_disk_min_free_gb)
    used = ctx.req.disk_usage.get("d_boinc_used_total", 0.0)
    x = host.get("d_free", 0.0) - min_free * GIGA
    if used:
        if prefs.get("disk_max_used_pct", 0) > 0:
            x = min(x, host.get("d_total", 0.0) * prefs["disk_max_used_pct"] / 100.0 - used)
        if prefs.get("disk_max_used_gb", 0) > 0:
            x = min(x, prefs["disk_max_used_gb"] * GIGA - used)
    if x < 0:
        ctx.wreq_disk_short = -x
        return 0.0
    return x


def _is_64bit(platform):
    return "64" in platform


def _memory_limit_ok(wu, platform):
    """Big jobs need a 64-bit platform (BOINC's per-OS 32-bit limits)."""
    if _is_64bit(platform):
        return True
    if "linux" in platform:
        limit = 3 * GIGA
    elif "darwin" in platform or "solaris" in platform:
        limit = 4 * GIGA
    else:
        limit = 2 * GIGA
    return wu["rsc_memory_bound"] <= limit


def _host_ncpus(ctx):
    """The CPUs a daily quota is scaled by: what the request reports (BOINC
    copies it into the host before sending), not the preferences' share."""
    return ctx.req.host.get("p_ncpus") or ctx.host.get("p_ncpus") or 0


class VersionChooser:
    """The best app version per app for this host (cached for the RPC)."""

    def __init__(self, ctx, wreq):
        self.ctx, self.wreq = ctx, wreq
        self.cache = {}
        self.catalog = ctx.catalog

    def best(self, app, wu):
        key = (app["id"], wu["app_version_num"])
        if key not in self.cache:
            self.cache[key] = self._choose(app, wu["app_version_num"])
        return self.cache[key]

    def _choose(self, app, pinned_version):
        ctx, catalog = self.ctx, self.catalog
        best = None
        allow_beta = ctx.project_prefs.get("allow_beta_work", False)
        for pname in ctx.req.platforms:
            platform = catalog.platform_by_name(pname)
            if platform is None:
                continue
            for av in catalog.app_versions_for(app["id"], platform["id"]):
                if pinned_version and av["version_num"] != pinned_version:
                    continue
                if not pinned_version and av.get("superseded"):
                    continue
                if av["beta"] and not allow_beta:
                    continue
                if av["min_core_version"] and ctx.req.core_client_version < av["min_core_version"]:
                    continue
                if av["max_core_version"] and ctx.req.core_client_version > av["max_core_version"]:
                    continue
                usage = plans.host_usage(ctx, av["plan_class"], self.wreq.ncpus)
                if usage is None:
                    continue
                gavid = generalized_app_version_id(av["id"], app["id"])
                host_ncpus = _host_ncpus(ctx)
                if ctx.quota.quota_exceeded(gavid, host_ncpus):
                    self.wreq.reasons.setdefault(
                        "Daily job limit (%d) has been reached"
                        % ctx.quota.daily_limit(gavid, host_ncpus), "notice")
                    self.wreq.quota_exceeded = ctx.quota.get(gavid)["max_jobs_per_day"]
                    continue
                cand = (usage["projected_flops"], av, platform, usage)
                if best is None or cand[0] > best[0]:
                    best = cand
            if best and ctx.cfg.prefer_primary_platform:
                break
        return best


def _feasible(ctx, wreq, wu, app, platform):
    """None if the job fits this host, else a short reason (logged, and said)."""
    if ctx.cfg.user_filter and wu["batch"] and wu["batch"] != ctx.user["id"]:
        return "user filter"
    if not _memory_limit_ok(wu, platform["name"]):
        return "needs 64-bit platform"
    if wu["rsc_memory_bound"] > wreq.usable_ram:
        wreq.reasons.setdefault(
            "%s needs %.2f MB RAM but only %.2f MB is available for use."
            % (app["user_friendly_name"] or app["name"], wu["rsc_memory_bound"] / 1e6,
               wreq.usable_ram / 1e6), "notice")
        return "memory"
    if wu["rsc_disk_bound"] > wreq.disk_available:
        wreq.reasons.setdefault(
            "%s needs %.2f MB more disk space.  You currently have %.2f MB available and it "
            "needs %.2f MB." % (app["user_friendly_name"] or app["name"],
                                (wu["rsc_disk_bound"] - wreq.disk_available) / 1e6,
                                wreq.disk_available / 1e6, wu["rsc_disk_bound"] / 1e6),
            "notice")
        return "disk"
    return None


def _deadline_ok(ctx, wreq, wu, usage):
    if ctx.cfg.ignore_delay_bound or not ctx.req.estimated_delay:
        return True
    duration = wu["rsc_fpops_est"] / usage["projected_flops"] / wreq.available_frac
    if ctx.req.estimated_delay + duration > wu["delay_bound"]:
        ts = ctx.req.time_stats
        wreq.reasons.setdefault(
            "Tasks won't finish in time: BOINC runs %.1f%% of the time; computation is "
            "enabled %.1f%% of that" % (100 * ts.get("on_frac", 1.0),
                                        100 * ts.get("active_frac", 1.0)), "notice")
        return False
    return True


def _already_has_wu(ctx, wu):
    """one_result_per_user_per_wu / one_result_per_host_per_wu (a DB check)."""
    cfg = ctx.cfg
    if cfg.one_result_per_user_per_wu:
        n = ctx.db.scalar("SELECT count(*) FROM result WHERE workunitid=%s AND userid=%s",
                          (wu["id"], ctx.user["id"]))
        if n:
            return True
    if cfg.one_result_per_host_per_wu:
        n = ctx.db.scalar("SELECT count(*) FROM result WHERE workunitid=%s AND hostid=%s",
                          (wu["id"], ctx.host["id"]))
        if n:
            return True
    return False


def send_work(ctx):
    """Fill ctx.reply with jobs; returns the number sent."""
    cache, reply, log, cfg = ctx.cache, ctx.reply, ctx.log, ctx.cfg
    wreq = WorkRequest(ctx)
    if getattr(ctx, "wreq_disk_short", 0):
        wreq.reasons.setdefault("Tasks need more disk space than BOINC can use here", "notice")
    candidates = _candidates(ctx, VersionChooser(ctx, wreq))
    now = int(time.time())
    quota = ctx.quota.snapshot()
    try:
        # One transaction: one commit for all the jobs of the RPC, not two each.
        with ctx.db.transaction():
            marked = _mark_jobs(ctx, wreq, candidates, now)
            texts = _result_texts(ctx.db, [job[0] for job in marked])
    except DatabaseError as exc:
        if exc.code not in LOCK_ERRORS:
            raise
        # Another scheduler holds a job's workunit: nothing was sent; the jobs
        # taken from the cache stay unsent in the DB and the feeder brings them back.
        log.normal("jobs not sent: %s", exc)
        ctx.quota.restore(quota)
        marked, texts = [], {}
        wreq.njobs = 0
    for resultid, wu, xml_doc, app, av, platform, usage, deadline in marked:
        name, xml_in = texts[resultid]
        _add_to_reply(ctx, resultid, name, xml_in, wu, xml_doc, app, av, platform, usage,
                      deadline)
    reply.njobs_sent = wreq.njobs
    if wreq.njobs == 0 and ctx.req.requesting_work:
        reply.message("No tasks sent", "low")
        for text, priority in wreq.reasons.items():
            reply.message(text, priority)
        if wreq.quota_exceeded is not None:
            reply.message("This computer has finished a daily quota of %d tasks"
                          % wreq.quota_exceeded, "low")
    return wreq.njobs


_rng = Random()


def _candidates(ctx, chooser):
    """The cached jobs this host has an app version for, best score first
    (priority, +1 for a job other hosts couldn't take), equal scores in slot
    order from a random slot on.  Made as they are taken: a slot is read
    whole only when its turn comes, so a large cache costs little more per
    request than a small one."""
    cache = ctx.cache
    heads = cache.present()
    start = int(_rng.random() * len(heads))
    heads = heads[start:] + heads[:start]
    heads.sort(key=lambda h: -(h[2] + (1 if h[3] else 0)))         # stable
    for index, resultid, _, _ in heads:
        slot = cache.slot(index)
        if slot.state != shmem.PRESENT or slot.resultid != resultid:
            continue            # taken meanwhile
        wu = cache.workunit(slot)
        wu["id"] = slot.workunitid
        app = ctx.catalog.app(wu["appid"])
        if app is None or app["non_cpu_intensive"]:
            continue
        best = chooser.best(app, wu)
        if best is not None:
            yield wu, slot, app, best


def _mark_jobs(ctx, wreq, candidates, now):
    """Claim and mark sent the candidates the host takes, best first; the list
    of (resultid, wu, xml_doc, app, av, platform, usage, deadline) marked."""
    cache, log, cfg = ctx.cache, ctx.log, ctx.cfg
    marked = []
    sent_wus = set()
    host_ncpus = _host_ncpus(ctx)
    for wu, slot, app, (flops, av, platform, usage) in candidates:
        if not wreq.need_more():
            break
        if wu["id"] in sent_wus:
            continue
        gavid = generalized_app_version_id(av["id"], app["id"])
        if ctx.quota.quota_exceeded(gavid, host_ncpus):
            continue                # reached with the jobs of this RPC (BOINC checks per job)
        reason = _feasible(ctx, wreq, wu, app, platform)
        if reason is None and not _deadline_ok(ctx, wreq, wu, usage):
            reason = "deadline"
        if reason:
            if cfg.debug_send_job:
                log.normal("[send_job] [WU#%d %s] infeasible: %s", wu["id"], wu["name"], reason)
            cache.note_infeasible(slot)
            continue
        if not cache.claim(slot):
            continue            # another scheduler got there first
        try:
            if (cfg.one_result_per_user_per_wu or cfg.one_result_per_host_per_wu) \
                    and _already_has_wu(ctx, wu):
                cache.release(slot)
                continue
            xml_doc = wu["xml_doc"]
            if xml_doc is None:         # too big for the slot: from the DB
                xml_doc = cache.workunit(slot, ctx.db)["xml_doc"] or ""
            deadline = _mark_sent(ctx, slot.resultid, wu, av, usage, now)
        except BaseException:
            cache.release(slot)
            raise
        cache.take(slot)        # sent, or no longer sendable: the feeder refills it
        if deadline is None:
            continue
        marked.append((slot.resultid, wu, xml_doc, app, av, platform, usage, deadline))
        ctx.quota.job_sent(gavid)
        sent_wus.add(wu["id"])
        wreq.njobs += 1
        duration = wu["rsc_fpops_est"] / usage["projected_flops"] / wreq.available_frac
        wreq.seconds_to_fill -= duration
        wreq.req_secs -= duration * usage["avg_ncpus"]
        wreq.req_instances -= usage["avg_ncpus"]
        wreq.disk_available -= wu["rsc_disk_bound"]
    return marked


def _result_texts(db, resultids):
    """{resultid: (name, xml_doc_in)} of the results, in one statement."""
    if not resultids:
        return {}
    rows = db.rows("SELECT id, name, xml_doc_in FROM result WHERE id IN (%s)"
                   % ",".join(["%s"] * len(resultids)), resultids)
    return {r[0]: (r[1], r[2].decode("utf-8", "replace") if isinstance(r[2], bytes) else r[2])
            for r in rows}


def send_result(ctx, resultid, wu, wu_xml_doc, app, av, platform, usage, now,
                old_state=states.RESULT_SERVER_STATE_UNSENT, deadline=None):
    """Mark one result sent (conditionally on its old state) and add it to the
    reply; False if it can't be sent.  ``deadline`` keeps a resent result's
    existing deadline; None gives a new one."""
    deadline = _mark_sent(ctx, resultid, wu, av, usage, now, old_state, deadline)
    if deadline is None:
        return False
    ctx.quota.job_sent(generalized_app_version_id(av["id"], app["id"]))
    name, xml_in = _result_texts(ctx.db, [resultid])[resultid]
    _add_to_reply(ctx, resultid, name, xml_in, wu, wu_xml_doc, app, av, platform, usage,
                  deadline)
    return True


def _mark_sent(ctx, resultid, wu, av, usage, now,
               old_state=states.RESULT_SERVER_STATE_UNSENT, deadline=None):
    """The DB side of sending: the result's new state and the job's transition
    time.  The deadline sent, or None when the result can't be sent."""
    cfg, db, log = ctx.cfg, ctx.db, ctx.log
    if deadline is None:
        deadline = now + wu["delay_bound"]
    db_deadline = deadline + cfg.report_grace_period
    if db.execute("UPDATE workunit SET transition_time=IF(transition_time<%s, transition_time, "
                  "%s) WHERE id=%s", (db_deadline, db_deadline, wu["id"])) != 1:
        log.normal("[WU#%d] workunit gone; not sending", wu["id"])
        return None
    n = db.execute("UPDATE result SET server_state=%s, hostid=%s, userid=%s, sent_time=%s, "
                   "report_deadline=%s, flops_estimate=%s, app_version_id=%s "
                   "WHERE id=%s AND server_state=%s",
                   (states.RESULT_SERVER_STATE_IN_PROGRESS, ctx.host["id"], ctx.user["id"], now,
                    db_deadline, usage["peak_flops"], av["id"], resultid, old_state))
    if n != 1:
        log.normal("[RESULT#%d] [HOST#%d]: CAN'T SEND, already sent to another host",
                   resultid, ctx.host["id"])
        return None
    return deadline


def _add_to_reply(ctx, resultid, name, xml_in, wu, wu_xml_doc, app, av, platform, usage,
                  deadline):
    cfg, log, reply = ctx.cfg, ctx.log, ctx.reply
    for tag in ("<name>%s</name>\n" % name, "<wu_name>%s</wu_name>\n" % wu["name"],
                "<report_deadline>%d</report_deadline>\n" % deadline):
        xml_in = insert_after(xml_in, "<result>\n", tag) or xml_in
    wu_tags = ("    <rsc_fpops_est>%f</rsc_fpops_est>\n    <rsc_fpops_bound>%f</rsc_fpops_bound>\n"
               "    <rsc_memory_bound>%f</rsc_memory_bound>\n    <rsc_disk_bound>%f</rsc_disk_bound>\n"
               "    <name>%s</name>\n    <app_name>%s</app_name>\n"
               % (wu["rsc_fpops_est"], wu["rsc_fpops_bound"], wu["rsc_memory_bound"],
                  wu["rsc_disk_bound"], wu["name"], app["name"]))
    if wu.get("keywords"):
        wu_tags += "    <job_keyword_ids>%s</job_keyword_ids>\n" % wu["keywords"]
    wu_doc = insert_after(wu_xml_doc, "<workunit>\n", wu_tags)
    reply.add_unique("apps", app["id"], app)
    reply.add_unique("app_versions", av["id"], app_version_xml(av, platform["name"], usage))
    if wu_doc is not None:
        reply.add_unique("workunits", wu["id"], wu_doc)
    reply.results.append(result_xml(xml_in, platform["name"], av["version_num"],
                                    av["plan_class"]))
    if cfg.debug_send:
        log.normal("[send] [HOST#%d] sending [RESULT#%d %s] (est. dur. %.2fs)", ctx.host["id"],
                   resultid, name, wu["rsc_fpops_est"] / usage["projected_flops"])
