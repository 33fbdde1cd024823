"""Credit: how much a validated job is worth, and granting it.

BOINC's current scheme ("credit new"): a job's claimed *peak FLOP count*
(PFC) is its elapsed time times the speed the scheduler estimated for the
host and app version (``result.flops_estimate``), scaled by per-version and
per-host factors once enough samples exist; the credit of a quorum is an
average of its valid results' PFCs, weighted towards the job's estimate
(``rsc_fpops_est``).  One credit (cobblestone) is 1/200 of a day on a
1 GFLOPS machine.

Granting adds to ``total_credit`` and the exponentially decaying
``expavg_credit`` (half-life one week) of the host, its owner and the
owner's team, and with ``<credit_by_app/>`` to credit_user/credit_team.

For example the real client's job of fixtures/real-client-7.20: the client
sent flops_estimate 1e9 (what it reports when its benchmarks failed), so
the host's speed is taken as AVG_CPU_FPOPS = 4.3e9 and the job marked a
runtime outlier (kept out of the statistics); with no samples yet there is
no version or host scale, so its PFC is 7.028467 s x 4.3e9 = 3.0222e10;
alone in its quorum that claim is the credit: x 200/86400e9 =
0.06995927800925926, exactly what BOINC granted.

The numbers here are BOINC's (credit.h, sched_config.h, lib/average.h,
lib/util.cpp); the code is ours.  :class:`Ledger` does the granting for a
whole batch of results with a handful of statements.
"""

import copy
import math
import time

# 1 credit = 1/200 day of a 1 GFLOPS machine: credit per floating-point op
COBBLESTONE_SCALE = 200 / 86400e9
SECONDS_PER_DAY = 86400
CREDIT_HALF_LIFE = 7 * SECONDS_PER_DAY
AVG_CPU_FPOPS = 4.3e9               # a host's speed when it reported none we trust
MIN_HOST_SAMPLES = 10               # host scaling needs this many samples of the host
MIN_VERSION_SAMPLES = 100           # ... and this many of the app version
CONS_VALID_HOST_SCALE = 10          # with app.host_scale_check: consecutive valid jobs
HAV_AVG_THRESH, HAV_AVG_WEIGHT, HAV_AVG_LIMIT = 20, 0.01, 10
AV_AVG_THRESH, AV_AVG_WEIGHT, AV_AVG_LIMIT = 100, 0.001, 10
DEFAULT_MAX_GRANTED_CREDIT = 200 * 1000 * 365   # a teraFLOPS-year

# How much a PFC is trusted
PFC_MODE_NORMAL = 0     # claimed, scaled for version and host
PFC_MODE_APPROX = 1     # reflects this job's size, less well
PFC_MODE_WU_EST = 2     # just the job's estimate: last resort
PFC_MODE_INVALID = 3    # above the credit limit: ignored


def fpops_to_credit(fpops):
    return fpops * COBBLESTONE_SCALE


def cpu_time_to_credit(cpu_time, cpu_flops_sec):
    return fpops_to_credit(cpu_time * cpu_flops_sec)


def update_average(now, work_start_time, work, half_life, avg, avg_time):
    """Fold ``work`` done since ``work_start_time`` into a decaying daily rate.

    Returns the new ``(avg, avg_time)``.  The old rate decays by
    ``exp(-dt ln2 / half_life)`` and the new work counts as if spread over
    the time since the last update; when that time is ~0 the limit of the
    same formula is used.  A first update is simply work per day since the
    work started.
    """
    if avg_time:
        diff = max(now - avg_time, 0.0)
        weight = math.exp(-diff * math.log(2) / half_life)
        avg *= weight
        if 1.0 - weight > 1e-6:
            avg += (1 - weight) * (work / (diff / SECONDS_PER_DAY))
        else:
            avg += math.log(2) * work * SECONDS_PER_DAY / half_life
    elif work:
        avg = work / ((now - work_start_time) / SECONDS_PER_DAY)
    return avg, now


class Average:
    """A running mean that becomes an exponential average after a while."""

    __slots__ = ("n", "avg")

    def __init__(self, n=0.0, avg=0.0):
        self.n, self.avg = float(n), float(avg)

    def _step(self, sample, thresh, weight, limit):
        if sample < 0:
            return None, True
        truncated = False
        if self.n and self.avg and sample > self.avg * limit:
            sample, truncated = self.avg * limit, True
        self.n += 1
        return sample, truncated

    def update(self, sample, thresh, weight, limit):
        """Add a sample (capped at ``limit`` times the mean); True if capped."""
        sample, truncated = self._step(sample, thresh, weight, limit)
        if sample is None:
            return True
        delta = sample - self.avg
        self.avg += delta / self.n if self.n < thresh else weight * delta
        return truncated

    def get_avg(self):
        return self.avg


class AverageVar(Average):
    """:class:`Average` that also tracks the variance."""

    __slots__ = ("var", "q")

    def __init__(self, n=0.0, avg=0.0, var=0.0, q=0.0):
        super().__init__(n, avg)
        self.var, self.q = float(var), float(q)

    def update_var(self, sample, thresh, weight, limit):
        sample, truncated = self._step(sample, thresh, weight, limit)
        if sample is None:
            return True
        delta = sample - self.avg
        if self.n < thresh:
            self.avg += delta / self.n
            self.q += delta * (sample - self.avg)
            self.var = self.q / self.n
        else:
            self.avg += weight * delta
            self.var += weight * (delta * delta - self.var)
        return truncated


def low_average(values):
    """Mean where each value weighs the sum of the others (damps big outliers)."""
    if len(values) == 1:
        return values[0]
    total = sum(values)
    return sum(x * (total - x) for x in values) / ((len(values) - 1) * total)


def pegged_average(values, anchor):
    """Mean weighted by closeness to ``anchor``."""
    if len(values) == 1:
        return values[0]
    weights = [1.0 / (0.1 * anchor + abs(anchor - x)) for x in values]
    return sum(w * x for w, x in zip(weights, values)) / sum(weights)


# ------------------------------------------------------------ statistics rows

HAV_COLUMNS = ("host_id", "app_version_id", "pfc_n", "pfc_avg", "et_n", "et_avg", "et_var",
               "et_q", "max_jobs_per_day", "n_jobs_today", "turnaround_n", "turnaround_avg",
               "turnaround_var", "turnaround_q", "consecutive_valid")


class HostAppVersion:
    """A host_app_version row: the host's record with one app version."""

    def __init__(self, row):
        self.host_id = row["host_id"]
        self.app_version_id = row["app_version_id"]
        self.pfc = Average(row["pfc_n"], row["pfc_avg"])
        self.et = AverageVar(row["et_n"], row["et_avg"], row["et_var"], row["et_q"])
        self.turnaround = AverageVar(row["turnaround_n"], row["turnaround_avg"],
                                     row["turnaround_var"], row["turnaround_q"])
        self.consecutive_valid = row["consecutive_valid"]
        self.max_jobs_per_day = row["max_jobs_per_day"]
        self.n_jobs_today = row["n_jobs_today"]

    @classmethod
    def blank(cls, host_id, app_version_id):
        row = dict.fromkeys(HAV_COLUMNS, 0)
        row.update(host_id=host_id, app_version_id=app_version_id)
        return cls(row)

    def row(self):
        return dict(host_id=self.host_id, app_version_id=self.app_version_id,
                    pfc_n=self.pfc.n, pfc_avg=self.pfc.avg,
                    et_n=self.et.n, et_avg=self.et.avg, et_var=self.et.var, et_q=self.et.q,
                    max_jobs_per_day=self.max_jobs_per_day, n_jobs_today=self.n_jobs_today,
                    turnaround_n=self.turnaround.n, turnaround_avg=self.turnaround.avg,
                    turnaround_var=self.turnaround.var, turnaround_q=self.turnaround.q,
                    consecutive_valid=self.consecutive_valid)

    def copy(self):
        return copy.deepcopy(self)


class AppVersionStats:
    """An app_version's credit statistics; samples wait in memory until flushed."""

    def __init__(self, row):
        self.id = row["id"]
        self.appid = row["appid"]
        self.platformid = row.get("platformid", 0)
        self.plan_class = row.get("plan_class", "")
        self.version_num = row.get("version_num", 0)
        self.load(row)
        self.pfc_samples = []           # PFC / rsc_fpops_est of valid jobs
        self.credit_samples = []        # (credit, sent_time)

    def load(self, row):
        self.pfc = Average(row["pfc_n"], row["pfc_avg"])
        self.pfc_scale = row["pfc_scale"]
        self.expavg_credit = row["expavg_credit"]
        self.expavg_time = row["expavg_time"]

    @property
    def dirty(self):
        return bool(self.pfc_samples or self.credit_samples)


AV_COLUMNS = ("id", "appid", "platformid", "plan_class", "version_num", "pfc_n", "pfc_avg",
              "pfc_scale", "expavg_credit", "expavg_time")


def load_app_versions(db, ids=None, appid=None):
    """AppVersionStats by id, for the given ids or one app's versions."""
    if ids is not None:
        ids = sorted(set(ids))
        if not ids:
            return {}
        rows = db.query("SELECT %s FROM app_version WHERE id IN (%s)"
                        % (", ".join(AV_COLUMNS), ", ".join(["%s"] * len(ids))), ids)
    else:
        rows = db.query("SELECT %s FROM app_version WHERE appid = %%s" % ", ".join(AV_COLUMNS),
                        (appid,))
    return {r["id"]: AppVersionStats(r) for r in rows}


def write_modified_app_versions(db, versions, now=None, log=None):
    """Fold the waiting samples into each app_version row.

    The row changes only if nobody else changed it since we read it (another
    validator, or the feeder's new pfc_scale); otherwise it is read again and
    the samples folded into the new values (at most 10 times).
    """
    for av in versions:
        if not av.dirty:
            continue
        for _ in range(10):
            now = time.time() if now is None else now
            orig = (av.pfc.n, av.expavg_credit, av.pfc_scale)
            pfc = Average(av.pfc.n, av.pfc.avg)
            for x in av.pfc_samples:
                pfc.update(x, AV_AVG_THRESH, AV_AVG_WEIGHT, AV_AVG_LIMIT)
            expavg, expavg_time = av.expavg_credit, av.expavg_time
            for credit, sent_time in av.credit_samples:
                expavg, expavg_time = update_average(now, sent_time, credit, CREDIT_HALF_LIFE,
                                                     expavg, expavg_time)
            n = db.execute(
                "UPDATE app_version SET pfc_n=%s, pfc_avg=%s, expavg_credit=%s, expavg_time=%s "
                "WHERE id=%s AND pfc_n=%s AND ABS(expavg_credit-%s)<1e-4 "
                "AND ABS(pfc_scale-%s)<1e-6",
                (pfc.n, pfc.avg, expavg, expavg_time, av.id) + orig)
            if n == 1:
                av.pfc, av.expavg_credit, av.expavg_time = pfc, expavg, expavg_time
                break
            row = db.query_one("SELECT %s FROM app_version WHERE id=%%s" % ", ".join(AV_COLUMNS),
                               (av.id,))
            if row is None:
                break
            av.load(row)
        else:
            if log is not None:
                log.critical("[AV#%d] statistics not updated: the row kept changing", av.id)
        av.pfc_samples, av.credit_samples = [], []


# ----------------------------------------------------------------- claiming

def wu_estimated_pfc(wu, app):
    """A job's PFC when nothing better is known: its estimate, app-scaled."""
    x = wu.rsc_fpops_est
    if app.min_avg_pfc:
        x *= app.min_avg_pfc
    return x


def _ratio(a, b):
    """a/b as C computes it: division by zero gives inf (or nan)."""
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 else math.copysign(math.inf, a)


def is_pfc_sane(x, wu, app, log):
    if not 1e-4 <= x <= 1e4:
        log.critical("Bad FLOP ratio (%f): check workunit.rsc_fpops_est for %s (app %s)",
                     x, wu.name, app.name)
        return False
    return True


def get_pfc(r, wu, app, av_lookup, hav, log, debug=False):
    """The claimed PFC of valid result ``r`` and how much to trust it.

    Returns ``(pfc, mode)``.  As a side effect (as BOINC) fixes up
    ``r.elapsed_time``/``r.flops_estimate`` and sets ``r.runtime_outlier``
    when the host's speed can't be trusted, adds the job to the statistics of
    ``hav`` (a :class:`HostAppVersion`, None when the host has none) and of
    the app version (``av_lookup(id)`` -> :class:`AppVersionStats` or None).
    Returns ``(None, None)`` when the result's app version is unknown.
    """
    def dbg(fmt, *args):
        if debug:
            log.normal("[credit] [RESULT#%d] " + fmt, r.id, *args)

    mode = PFC_MODE_APPROX
    if r.runtime_outlier:
        dbg("runtime outlier, not updating stats")
    if hav is None:                     # no host_app_version: all we have is the estimate
        return wu_estimated_pfc(wu, app), PFC_MODE_WU_EST

    if r.elapsed_time < 1e-6:           # old clients report only CPU time
        r.elapsed_time = r.cpu_time
    if r.flops_estimate <= 0:
        r.flops_estimate, r.runtime_outlier = AVG_CPU_FPOPS, True
        log.warning("[RESULT#%d] result has non-pos flops_estimate", r.id)
    if r.flops_estimate == 1e9:         # what a client sends when benchmarks failed
        r.flops_estimate, r.runtime_outlier = AVG_CPU_FPOPS, True
        log.warning("[RESULT#%d] result has 1e9 flops_estimate", r.id)

    raw_pfc = r.elapsed_time * r.flops_estimate
    dbg("raw credit: %.2f (%.2f sec, %.2f est GFLOPS)", raw_pfc * COBBLESTONE_SCALE,
        r.elapsed_time, r.flops_estimate / 1e9)
    avp = av_lookup(r.app_version_id) if r.app_version_id > 0 else None

    # BOINC checks the claim against rsc_fpops_bound here but, in both
    # branches below, replaces the result of the check; only its log remains.
    scale = avp.pfc_scale if avp is not None and avp.pfc_scale else 1.0
    if raw_pfc * scale > wu.rsc_fpops_bound:
        dbg("WARNING: sanity check failed: %.2f>%.2f", raw_pfc * scale * COBBLESTONE_SCALE,
            wu.rsc_fpops_bound * COBBLESTONE_SCALE)

    if r.app_version_id < 0:            # anonymous platform: scale by the host alone
        do_scale = hav.pfc.n >= MIN_HOST_SAMPLES and hav.pfc.avg > 0
        if do_scale and app.host_scale_check and hav.consecutive_valid < CONS_VALID_HOST_SCALE:
            do_scale = False
        if do_scale:
            pfc = raw_pfc * app.min_avg_pfc / hav.pfc.avg
        else:
            pfc = wu_estimated_pfc(wu, app)
        dbg("anon platform, returning %.2f", pfc * COBBLESTONE_SCALE)
    else:
        if avp is None:
            log.critical("get_pfc() [RESULT#%d]: No AVP %d!!", r.id, r.app_version_id)
            return None, None
        host_scale = 0.0
        if ((not app.host_scale_check or hav.consecutive_valid >= CONS_VALID_HOST_SCALE)
                and hav.pfc.n >= MIN_HOST_SAMPLES and hav.pfc.avg > 0
                and avp.pfc.n >= MIN_VERSION_SAMPLES):
            host_scale = min(avp.pfc.avg / hav.pfc.avg, 10.0)
            dbg("host scale: %.2f (%f/%f)", host_scale, avp.pfc.avg, hav.pfc.avg)
        pfc = raw_pfc
        if avp.pfc_scale:
            pfc *= avp.pfc_scale
            if host_scale:
                pfc *= host_scale
                mode = PFC_MODE_NORMAL
        elif host_scale:
            pfc *= host_scale
        x = _ratio(raw_pfc, wu.rsc_fpops_est)
        if not r.runtime_outlier and is_pfc_sane(x, wu, app, log):
            avp.pfc_samples.append(x)

    if not r.runtime_outlier:
        x = _ratio(raw_pfc, wu.rsc_fpops_est)
        if is_pfc_sane(x, wu, app, log):
            hav.pfc.update(x, HAV_AVG_THRESH, HAV_AVG_WEIGHT, HAV_AVG_LIMIT)
        hav.et.update_var(_ratio(r.elapsed_time, wu.rsc_fpops_est),
                          HAV_AVG_THRESH, HAV_AVG_WEIGHT, HAV_AVG_LIMIT)
        hav.turnaround.update_var(r.received_time - r.sent_time,
                                  HAV_AVG_THRESH, HAV_AVG_WEIGHT, HAV_AVG_LIMIT)
    if avp is not None:
        avp.credit_samples.append((pfc * COBBLESTONE_SCALE, r.sent_time))
    return pfc, mode


def assign_credit_set(wu, results, app, av_lookup, havs, max_granted_credit, log,
                      debug=False):
    """The credit of a quorum: called once per valid result set.

    ``havs[i]`` is the HostAppVersion of ``results[i]`` (or None).  Only
    results whose ``validate_state`` is VALID count.  Every such result's
    PFC is capped at ``rsc_fpops_bound`` and ``max_granted_credit``; the
    credit is the pegged average (around the job's estimate) of the
    "normal" PFCs if there are two or more, else of all of them, a single
    normal one counting twice.
    """
    from .states import VALIDATE_STATE_VALID
    normal, approx = [], []
    for r, hav in zip(results, havs):
        if r.validate_state != VALIDATE_STATE_VALID:
            continue
        pfc, mode = get_pfc(r, wu, app, av_lookup, hav, log, debug)
        if pfc is None:
            continue
        if debug:
            log.normal("[credit] [RESULT#%d] get_pfc() returns credit %g mode %s", r.id,
                       pfc * COBBLESTONE_SCALE, "normal" if mode == PFC_MODE_NORMAL else "approx")
        if pfc > wu.rsc_fpops_bound:
            pfc = wu.rsc_fpops_bound
        if max_granted_credit and pfc * COBBLESTONE_SCALE > max_granted_credit:
            log.critical("[credit] Credit too high: %f", pfc * COBBLESTONE_SCALE)
            pfc, mode = max_granted_credit / COBBLESTONE_SCALE, PFC_MODE_INVALID
        if mode == PFC_MODE_NORMAL:
            normal.append(pfc)
        elif mode != PFC_MODE_INVALID:
            approx.append(pfc)

    estimate = wu_estimated_pfc(wu, app)
    if len(normal) > 1:
        x = pegged_average(normal, estimate)
    else:
        approx += normal * 2            # a lone normal claim weighs double
        x = pegged_average(approx, estimate) if approx else estimate
    credit = x * COBBLESTONE_SCALE
    if debug:
        log.normal("[credit] [WU#%d] assign_credit_set: credit %g", wu.id, credit)
    return credit


def credit_from_runtime(wu, results, max_granted_credit, log):
    """--credit_from_runtime: the low average of elapsed time x host speed."""
    claims = []
    for r in results:
        if r.flops_estimate == 1e9:
            r.flops_estimate = AVG_CPU_FPOPS
        pfc = r.flops_estimate * r.elapsed_time
        if pfc > wu.rsc_fpops_bound * 2:
            pfc = wu.rsc_fpops_bound
        c = pfc * COBBLESTONE_SCALE
        if c <= 0 or c > max_granted_credit:
            log.critical("[WU#%d %s] credit out of range: %f", wu.id, wu.name, c)
        else:
            claims.append(c)
        log.normal("[WU#%d][RESULT#%d] credit_from_runtime %.2f = %.0fs * %.2fGFLOPS",
                   wu.id, r.id, c, r.elapsed_time, r.flops_estimate / 1e9)
    if not claims:
        log.critical("[WU#%d %s] credit from runtime: no results have valid credit",
                     wu.id, wu.name)
        return 0.0
    return low_average(claims)


# ------------------------------------------------------------- bulk writing

def bulk_update(db, table, keys, rows, set_cols=(), add_cols=(), chunk=500):
    """Update many rows with one statement per ``chunk`` rows.

    ``rows``: dicts holding the ``keys`` columns and the new values;
    ``set_cols`` are assigned, ``add_cols`` added to the current value.  The
    values travel as a derived table (``SELECT .. UNION ALL SELECT ..``)
    joined on the keys: linear in the rows, unlike a CASE per column.
    """
    cols = list(keys) + list(set_cols) + list(add_cols)
    assigns = ["t.%s = v.%s" % (c, c) for c in set_cols]
    assigns += ["t.%s = t.%s + v.%s" % (c, c, c) for c in add_cols]
    on = " AND ".join("t.%s = v.%s" % (k, k) for k in keys)
    first = "SELECT " + ", ".join("%%s AS %s" % c for c in cols)
    rest = "SELECT " + ", ".join(["%s"] * len(cols))
    rows = list(rows)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        values = " UNION ALL ".join([first] + [rest] * (len(part) - 1))
        args = [row[c] for row in part for c in cols]
        db.execute("UPDATE %s AS t JOIN (%s) AS v ON %s SET %s"
                   % (table, values, on, ", ".join(assigns)), args)


def _in(ids):
    return ", ".join(["%s"] * len(ids))


class Ledger:
    """Credit of a batch: host, user and team rows read (locked), changed in
    memory as BOINC's grant_credit changes them one by one, then written with
    one statement per table.
    """

    HOST_COLS = ("id", "userid", "total_credit", "expavg_credit", "expavg_time",
                 "avg_turnaround")

    def __init__(self, db, credit_by_app=False, lock=True, now=None):
        self.db, self.credit_by_app = db, credit_by_app
        self.lock = " FOR UPDATE" if lock else ""
        self.now = time.time() if now is None else now
        self.hosts, self.users, self.teams = {}, {}, {}
        self.credit_user, self.credit_team = {}, {}     # (id, appid) -> row
        self.changed = {"host": set(), "user": set(), "team": set()}
        self.added = {"host": {}, "user": {}, "team": {}}

    def load_hosts(self, host_ids):
        ids = sorted(set(host_ids) - set(self.hosts))
        if ids:
            for row in self.db.query("SELECT %s FROM host WHERE id IN (%s)%s"
                                     % (", ".join(self.HOST_COLS), _in(ids), self.lock), ids):
                self.hosts[row["id"]] = row
        return [self.hosts[i] for i in host_ids if i in self.hosts]

    def load_owners(self):
        """The users of the loaded hosts and their teams."""
        ids = sorted({h["userid"] for h in self.hosts.values()} - set(self.users))
        if ids:
            for row in self.db.query("SELECT id, teamid, total_credit, expavg_credit, "
                                     "expavg_time FROM user WHERE id IN (%s)%s"
                                     % (_in(ids), self.lock), ids):
                self.users[row["id"]] = row
        ids = sorted({u["teamid"] for u in self.users.values() if u["teamid"]}
                     - set(self.teams))
        if ids:
            for row in self.db.query("SELECT id, total_credit, expavg_credit, expavg_time "
                                     "FROM team WHERE id IN (%s)%s" % (_in(ids), self.lock),
                                     ids):
                self.teams[row["id"]] = row

    def load_by_app(self, results):
        """credit_user / credit_team rows of these results (credit_type 0)."""
        for table, col, attr, store in (("credit_user", "userid", "userid", self.credit_user),
                                        ("credit_team", "teamid", "teamid", self.credit_team)):
            pairs = sorted({(getattr(r, attr), r.appid) for r in results} - set(store))
            if not pairs:
                continue
            ids = sorted({p[0] for p in pairs})
            rows = self.db.query("SELECT %s, appid, njobs, total, expavg, expavg_time FROM %s "
                                 "WHERE %s IN (%s) AND credit_type=0%s"
                                 % (col, table, col, _in(ids), self.lock), ids)
            for row in rows:
                store[(row[col], row["appid"])] = dict(row, new=False, njobs_add=0,
                                                       total_add=0.0)

    def turnaround(self, host_id, turnaround):
        """BOINC's host.avg_turnaround: 0.7 old + 0.3 new."""
        host = self.hosts.get(host_id)
        if host is None:
            return
        old = host["avg_turnaround"]
        host["avg_turnaround"] = turnaround if old == 0 else 0.7 * old + 0.3 * turnaround
        self.changed["host"].add(host_id)

    def _grant(self, kind, row, start_time, credit):
        row["expavg_credit"], row["expavg_time"] = update_average(
            self.now, start_time, credit, CREDIT_HALF_LIFE, row["expavg_credit"],
            row["expavg_time"])
        row["total_credit"] += credit
        self.added[kind][row["id"]] = self.added[kind].get(row["id"], 0.0) + credit
        self.changed[kind].add(row["id"])

    def grant(self, host_id, start_time, credit):
        """Credit for work started at ``start_time`` to a host, its owner and team."""
        host = self.hosts.get(host_id)
        if host is None:
            return False
        self._grant("host", host, start_time, credit)
        user = self.users.get(host["userid"])
        if user is not None:
            self._grant("user", user, start_time, credit)
            team = self.teams.get(user["teamid"]) if user["teamid"] else None
            if team is not None:
                self._grant("team", team, start_time, credit)
        return True

    def grant_by_app(self, result, credit):
        """<credit_by_app/>: the result's user and team (team 0 too) per app."""
        for store, key in ((self.credit_user, (result.userid, result.appid)),
                           (self.credit_team, (result.teamid, result.appid))):
            row = store.get(key)
            if row is None:             # a new row starts its average now
                row = store[key] = dict(njobs=0, total=0.0, expavg=0.0, expavg_time=self.now,
                                        new=True, njobs_add=0, total_add=0.0)
            row["expavg"], row["expavg_time"] = update_average(
                self.now, result.sent_time, credit, CREDIT_HALF_LIFE, row["expavg"],
                row["expavg_time"])
            row["total"] += credit
            row["total_add"] += credit
            row["njobs"] += 1
            row["njobs_add"] += 1

    def write(self):
        for kind, table, cols in (("host", "host", ("expavg_credit", "expavg_time",
                                                    "avg_turnaround")),
                                  ("user", "user", ("expavg_credit", "expavg_time")),
                                  ("team", "team", ("expavg_credit", "expavg_time"))):
            source = {"host": self.hosts, "user": self.users, "team": self.teams}[kind]
            rows = [dict(source[i], total_add=self.added[kind].get(i, 0.0))
                    for i in sorted(self.changed[kind])]
            for row in rows:
                row["total_credit"] = row["total_add"]
            if rows:
                bulk_update(self.db, table, ("id",), rows, set_cols=cols,
                            add_cols=("total_credit",))
        for table, col, store in (("credit_user", "userid", self.credit_user),
                                  ("credit_team", "teamid", self.credit_team)):
            rows = [(k[0], k[1], r["njobs_add"], r["total_add"], r["expavg"], r["expavg_time"])
                    for k, r in sorted(store.items()) if r["njobs_add"]]
            if rows:
                self.db.executemany(
                    "INSERT INTO %s (%s, appid, njobs, total, expavg, expavg_time, credit_type) "
                    "VALUES (%%s, %%s, %%s, %%s, %%s, %%s, 0) ON DUPLICATE KEY UPDATE "
                    "njobs=njobs+VALUES(njobs), total=total+VALUES(total), "
                    "expavg=VALUES(expavg), expavg_time=VALUES(expavg_time)" % (table, col),
                    rows)
        for kind in self.changed:
            self.changed[kind].clear()
            self.added[kind].clear()
        for store in (self.credit_user, self.credit_team):
            for row in store.values():
                row["njobs_add"], row["total_add"], row["new"] = 0, 0.0, False


def grant_credit(db, host_id, start_time, credit, credit_by_app_result=None):
    """Grant credit to one host (and owner, team) now: for other programs
    (a trickle handler) that grant outside the validator."""
    with db.transaction():
        ledger = Ledger(db, credit_by_app=credit_by_app_result is not None)
        ledger.load_hosts([host_id])
        ledger.load_owners()
        if not ledger.grant(host_id, start_time, credit):
            return False
        if credit_by_app_result is not None:
            ledger.load_by_app([credit_by_app_result])
            ledger.grant_by_app(credit_by_app_result, credit)
        ledger.write()
    return True
