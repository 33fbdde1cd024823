"""feeder: keep the shared-memory job cache filled with unsent results.

BOINC's feeder (sched/feeder.cpp) in Python, over the segment described in
sched/shmem.py.  At start-up it removes ``reread_db``, recreates the
semaphore and the segment, and caches the non-deprecated platforms, apps,
the newest app version per (app, platform, plan class) and the multi-host
assignments.  Each pass fills EMPTY slots from one buffered query of unsent
results (``feeder_query_size`` rows, ordered as the options say), skipping
results already cached and retiring results of errored workunits; slots
held by schedulers that died go back to PRESENT.  ``reread_db`` makes it
rescan the tables (the catalog's generation goes up).  On exit the segment
and the semaphore are removed.

Accepted but not acted on (logged at start-up): ``<hr_allocate_slots>``
(HR slot quotas; the ordering options apply to every app instead), and
BOINC's every-600-s update of app-version credit scales, which belongs to
the credit code.
"""

import math
import os
import time

from . import schema
from . import shmem
from . import states
from .daemon import Daemon
from .errors import BoincError

REREAD_DB = "reread_db"
HR_NTYPES = 3
DEFAULT_ORDER = "ORDER BY r1.priority DESC, r1.workunitid"
ORDERS = {
    "random_order": "ORDER BY r1.random",
    "random_order_db": "ORDER BY rand()",
    "priority_asc": "ORDER BY r1.priority ASC",
    "priority_order": "ORDER BY r1.priority DESC",
    "priority_order_create_time": "ORDER BY r1.priority DESC, r1.workunitid",
    "batch_accel": "ORDER BY r1.priority DESC, workunit.id",
}
FIRST_PASS, SECOND_PASS, OVER = 0, 1, 2

_WU_SELECT = ", ".join("workunit." + c for c in shmem.WU_COLUMNS)
# BOINC's enumeration, in two steps with the same rows in the same order:
# first the narrow result columns (+ the job's id), sorted, then the chosen
# jobs' workunit rows by id.  Sorting the unsent pool joined with every
# workunit column (blobs included) makes MariaDB build an on-disk temporary
# table of the whole pool: 150 ms at 20,000 unsent jobs, against 55 ms this
# way.  STRAIGHT_JOIN keeps BOINC's access path (unsent results by
# ind_res_st, then their workunits) whatever the table statistics say: with
# the statistics of freshly filled tables MariaDB otherwise starts from
# workunit and, held to ind_res_st, rescans every unsent result per workunit
# (seconds at 2000 jobs).
# The apps are a subquery, not a join: MariaDB joins app through a join
# buffer, which makes it sort even rows read in order from res_feeder.
_FILL_QUERY = (
    "SELECT HIGH_PRIORITY STRAIGHT_JOIN "
    "r1.id, r1.priority, r1.server_state, r1.report_deadline, r1.workunitid "
    "FROM result r1 FORCE INDEX (%s), workunit "
    "WHERE r1.server_state=%%s AND r1.workunitid=workunit.id "
    "AND workunit.appid IN (SELECT id FROM app WHERE deprecated=0) "
    "AND workunit.transitioner_flags=0")
_WU_QUERY = "SELECT workunit.id, %s FROM workunit WHERE workunit.id IN (%%s)" % _WU_SELECT
# --by_batch: results ranked within their batch, rank 0 of every batch first.
_BY_BATCH_QUERY = (
    "SELECT STRAIGHT_JOIN r1.id, r1.priority, r1.server_state, r1.report_deadline, %s "
    "FROM (SELECT r.id, r.priority, r.server_state, r.report_deadline, r.workunitid, "
    "r.appid, ROW_NUMBER() OVER (PARTITION BY r.batch ORDER BY r.id) AS batch_rank "
    "FROM result r WHERE r.server_state=%%s) r1, workunit, app "
    "WHERE r1.workunitid=workunit.id AND workunit.appid=app.id "
    "AND app.deprecated=0 AND workunit.transitioner_flags=0" % _WU_SELECT)


def weighted_interleave(weights, nslots):
    """Slot -> app index, each app getting slots in proportion to its weight,
    spread as evenly as possible (BOINC's weighted_interleave).  An app of
    weight 0 ends up with one slot, as in BOINC."""
    credit = [1e-100 if w == 0 else 0.0 for w in weights]
    out = []
    for _ in range(nslots):
        best = max(range(len(weights)), key=lambda j: (credit[j], -j))
        out.append(best)
        credit[best] -= (1.0 / weights[best]) if weights[best] else math.inf
    return out


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value


def _plain(row):
    out = {}
    for k, v in row.items():
        if isinstance(v, (bytes, bytearray)):
            v = v.decode("utf-8", "replace")
        elif hasattr(v, "timestamp"):
            v = v.timestamp()
        elif v is not None and not isinstance(v, (int, float, str)):
            v = float(v)
        out[k] = v
    return out


class _Enum:
    """One buffered enumeration of unsent results (BOINC's DB_WORK_ITEM): the
    query runs when the enumeration is inactive; running off the end of its
    rows makes it inactive again."""

    def __init__(self, appid, limit, label):
        self.appid = appid
        self.limit = limit
        self.label = label          # the app id named in log lines
        self.rows = None
        self.pos = 0

    @property
    def active(self):
        return self.rows is not None

    def next(self, query):
        if self.rows is None:
            self.rows, self.pos = query(self), 0
        if self.pos >= len(self.rows):
            self.rows = None
            return None
        self.pos += 1
        return self.rows[self.pos - 1]


class Feeder(Daemon):
    name = "feeder"
    description = ("Creates a shared memory segment holding DB info and an array of "
                   "work items (results/workunits to send).")
    sleep_interval = 5.0

    def __init__(self):
        super().__init__()
        self.cache = None
        self.enums = []
        self.slot_app = []
        self.catalog = None

    def add_arguments(self, p):
        p.add("allapps", action="store_true",
              help="interleave results from all apps, slots in proportion to app.weight")
        for name, clause in ORDERS.items():
            p.add(name, dest="order", action="store_const", const=clause,
                  help="order the query: %s" % clause)
        p.add("by_batch", dest="order", action="store_const", const="by_batch",
              help="interleave results of all batches")
        p.add("wmod", type=int, nargs=2, metavar=("N", "I"),
              help="handle only workunits with id %% N == I")
        p.add("appids", metavar="A,B", help="get work only for these app ids")
        p.add("purge_stale", type=int, metavar="MIN", default=0,
              help="drop jobs cached for more than MIN minutes without being sent")

    # -- start-up
    def setup(self):
        cfg, args = self.config, self.args
        for opt in ("mod", "wmod"):
            v = getattr(args, opt)
            if v and not 0 <= v[1] < v[0]:
                raise BoincError("--%s N I needs 0 <= I < N" % opt)
        self.appids = []
        if args.appids:
            try:
                self.appids = [int(a) for a in args.appids.split(",") if a.strip()]
            except ValueError:
                raise BoincError("--appids wants app ids separated by commas, not %r"
                                 % args.appids) from None
        self.order = args.order or DEFAULT_ORDER
        self.purge_stale_time = args.purge_stale * 60
        try:
            os.unlink(cfg.project_path(REREAD_DB))
        except FileNotFoundError:
            pass
        nslots = cfg.work_items
        # BOINC enumerates 2 x slots unless <feeder_query_size> says; each
        # enumeration sorts the whole unsent pool, so ours takes at least
        # MIN_ENUM (the order of the jobs sent is the same).
        self.enum_limit = cfg.feeder_query_size or max(cfg.query_size, self.MIN_ENUM)
        max_counts = {}
        for table in shmem.DEFAULT_MAX:
            value = cfg.get("shmem_max_" + table)
            if value:
                max_counts[table] = self._config_int("shmem_max_" + table, value)
        catalog_bytes = shmem.CATALOG_BYTES
        if cfg.get("shmem_catalog_bytes"):
            catalog_bytes = self._config_int("shmem_catalog_bytes", cfg.get("shmem_catalog_bytes"))
        self.cache = shmem.FeederCache.create(cfg, nslots, max_counts, catalog_bytes)
        self._isolation_conn = None
        self._set_isolation()
        self.fill_index = self._fill_index()
        self.scan_tables()
        h = self.cache.header()
        self.log.normal("read %d platforms, %d apps, %d app_versions, %d assignments",
                        h.nplatforms, h.napps, h.napp_versions, h.nassignments)
        self.log.normal("Using %d job slots", h.max_wu_results)
        if cfg.hr_allocate_slots:
            self.log.warning("<hr_allocate_slots> is not supported; HR jobs are fed in "
                             "the same order as the others")
        self.make_enums()

    def _fill_index(self):
        """The index the enumeration reads unsent results by: res_feeder
        (schema.ADDED_INDEXES) when present and it gives the order asked for,
        else BOINC's ind_res_st, with which MariaDB sorts all unsent results
        at every enumeration."""
        if self.order != DEFAULT_ORDER:
            return "ind_res_st"
        name = schema.index_like(self.db, "result", "res_feeder")
        if name:
            self.log.normal("reading unsent results in order from index %s", name)
            return name
        self.log.normal("the result table has no index res_feeder: each enumeration "
                        "sorts all unsent results (bin/upgrade says how to add it)")
        return "ind_res_st"

    def _config_int(self, tag, value):
        try:
            n = int(value, 0)
        except ValueError:
            n = 0
        if n <= 0:
            raise BoincError("%s: <%s> must be a positive number, not %r"
                             % (self.config.path, tag, value))
        return n

    def _set_isolation(self):
        # Dirty reads, as BOINC's feeder: never wait on writers' locks.
        if self.db.conn is not self._isolation_conn:
            self.db.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
            self._isolation_conn = self.db.conn

    def scan_tables(self):
        """Read the tables the scheduler needs into the catalog; bump generation."""
        db, cfg, h = self.db, self.config, self.cache.header()
        platforms = [_plain(r) for r in
                     db.query("SELECT * FROM platform WHERE deprecated=0 ORDER BY id")]
        apps = [_plain(r) for r in
                db.query("SELECT * FROM app WHERE deprecated=0 ORDER BY id")]
        self._check_room("platforms", len(platforms), h.max_platforms)
        self._check_room("apps", len(apps), h.max_apps)
        for app in apps:
            if cfg.non_cpu_intensive:
                app["non_cpu_intensive"] = 1
            if app.get("n_size_classes", 0) > 1:
                app["size_class_quantiles"] = self._size_census(app)
        self._apply_hr(apps)
        if self.args.allapps and apps and not sum(a["weight"] for a in apps):
            for app in apps:
                app["weight"] = 1.0

        versions = [_plain(r) for r in
                    db.query("SELECT * FROM app_version WHERE deprecated=0 ORDER BY id")]
        grouped = {}
        for av in versions:
            grouped.setdefault((av["appid"], av["platformid"]), []).append(av)
        app_versions = []
        for platform in platforms:
            for app in apps:
                app_versions += self._newest(app, grouped.get((app["id"], platform["id"]), []))
        self._check_room("app_versions", len(app_versions), h.max_app_versions)
        assignments = [_plain(r) for r in
                       db.query("SELECT * FROM assignment WHERE multi<>0 ORDER BY id")]
        self._check_room("assignments", len(assignments), h.max_assignments)

        have = [False] * len(shmem.PROC_TYPES)
        for av in app_versions:
            have[shmem.plan_class_to_proc_type(av["plan_class"])] = True
        for name, yes in zip(shmem.PROC_TYPES, have):
            self.log.normal("have apps for %s: %s", name, "yes" if yes else "no")
        summary = dict(
            nplatforms=len(platforms), napps=len(apps), napp_versions=len(app_versions),
            nassignments=len(assignments),
            app_weight_sum=float(sum(a["weight"] for a in apps)),
            locality_sched_lite=int(any(a["locality_scheduling"] == states.LOCALITY_SCHED_LITE
                                        for a in apps)),
            have_nci_app=int(any(a["non_cpu_intensive"] for a in apps)))
        for key, yes in zip(shmem._PROC_KEYS, have):
            summary["have_%s_apps" % key] = int(yes)
        summary.update(self.perf_info())
        data = dict(platforms=platforms, apps=apps, app_versions=app_versions,
                    assignments=assignments)
        self.cache.write_catalog(data, summary)
        self.catalog = data
        self.app_ids = {a["id"] for a in apps}

    def _check_room(self, table, n, room):
        if n > room:
            raise BoincError(
                "The shared-memory catalog has room for %d %s but the database has %d "
                "in use: deprecate old rows, or raise <shmem_max_%s> in config.xml; then "
                "restart the project" % (room, table, n, table))

    def _newest(self, app, avs):
        """The versions BOINC keeps: the newest per plan class; with
        app.min_version, every version >= it (older ones flagged deprecated)."""
        newest = {}
        for av in avs:
            pc = av["plan_class"]
            if pc not in newest or av["version_num"] > newest[pc]:
                newest[pc] = av["version_num"]
        kept = []
        for av in avs:
            av["deprecated"] = int(av["version_num"] < newest[av["plan_class"]])
            av["superseded"] = bool(av["deprecated"])
            if app["min_version"]:
                if av["version_num"] < app["min_version"]:
                    self.log.normal("version too small %d < %d", av["version_num"],
                                    app["min_version"])
                    continue
            elif av["deprecated"]:
                continue
            for field in ("min_core_version", "max_core_version"):
                if 0 < av[field] < 10000:       # given as maj*100+min
                    av[field] *= 100
            kept.append(av)
        return kept

    def _size_census(self, app):
        path = self.config.project_path("size_census_%s" % app["name"])
        try:
            with open(path) as f:
                lines = f.read().split()
        except OSError:
            raise BoincError("Missing size census file for app %s (%s): run size_census "
                             "or set app.n_size_classes to 0" % (app["name"], path)) from None
        need = app["n_size_classes"] - 1
        if len(lines) < need:
            raise BoincError("Size census file for app %s is too short (%s)"
                             % (app["name"], path))
        return [float(x) for x in lines[:need]]

    def _apply_hr(self, apps):
        """Homogeneous redundancy checks and the global <homogeneous_redundancy>."""
        cfg = self.config
        for app in apps:
            if not 0 <= app["homogeneous_redundancy"] < HR_NTYPES:
                raise BoincError("HR type %d out of range for app %s"
                                 % (app["homogeneous_redundancy"], app["name"]))
        some = any(a["homogeneous_redundancy"] for a in apps)
        if cfg.homogeneous_redundancy:
            if not 0 <= cfg.homogeneous_redundancy < HR_NTYPES:
                raise BoincError("Main HR type %d out of range" % cfg.homogeneous_redundancy)
            if some:
                raise BoincError("You can specify HR at global or app level, but not both")
            for app in apps:
                app["homogeneous_redundancy"] = cfg.homogeneous_redundancy
                app["weight"] = 1.0
        elif some and not self.args.allapps and \
                len({a["homogeneous_redundancy"] for a in apps}) > 1:
            raise BoincError("You must use --allapps if apps have different HR")

    def perf_info(self):
        """Host p_fpops statistics (BOINC's defaults below 10 hosts)."""
        mean, stddev, p50, p95 = shmem.DEFAULT_PERF
        if (self.db.scalar("SELECT COUNT(*) FROM host") or 0) >= 10:
            row = self.db.rows("SELECT AVG(p_fpops), STDDEV(p_fpops), COUNT(*) FROM host "
                               "WHERE expavg_credit>10")[0]
            if row[2]:
                mean, stddev = float(row[0]), float(row[1])
                p50, p95 = (float(self.db.scalar(
                    "SELECT p_fpops FROM host WHERE expavg_credit>10 ORDER BY p_fpops "
                    "LIMIT %s,1", (int(row[2] * pct / 100.0),))) for pct in (50, 95))
        return dict(host_fpops_mean=mean, host_fpops_stddev=stddev,
                    host_fpops_50_percentile=p50, host_fpops_95_percentile=p95)

    def make_enums(self):
        """One enumeration, or with --allapps one per app and a slot -> app map."""
        n = self.cache.max_wu_results
        apps = self.catalog["apps"]
        if self.args.allapps and apps:
            weights = [a["weight"] for a in apps]
            total = sum(weights)
            self.enums = [_Enum(a["id"], int(math.floor(0.5 + self.enum_limit * w / total)),
                                a["id"]) for a, w in zip(apps, weights)]
            self.slot_app = weighted_interleave(weights, n)
        else:
            self.enums = [_Enum(None, self.enum_limit, apps[0]["id"] if apps else 0)]
            self.slot_app = [0] * n

    # -- the loop
    def do_pass(self):
        self.check_reread_trigger()
        if self.config.dont_send_jobs:
            action = False
        else:
            action = self.scan_work_array()
        if not self.cache.ready:
            self.cache.set_ready(True)
        if action and self.config.job_size_matching:
            self.update_job_stats()
        if not action:
            self.log.debug("No action; sleeping %d sec", self.sleep_interval)
        return action

    def check_reread_trigger(self):
        path = self.config.project_path(REREAD_DB)
        if not os.path.exists(path):
            return
        self.log.normal("Found trigger file %s; re-scanning database tables.", REREAD_DB)
        self.scan_tables()
        self.cache.empty_present()     # jobs of apps now gone must not linger
        self.make_enums()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise BoincError("Can't unlink trigger file %s: %s; exiting"
                             % (path, exc.strerror)) from None
        self.log.normal("Done re-scanning: trigger file removed.")

    def _query(self, enum):
        sql = _BY_BATCH_QUERY if self.order == "by_batch" else _FILL_QUERY % self.fill_index
        params = [states.RESULT_SERVER_STATE_UNSENT]
        if self.args.mod:
            sql += " AND mod(r1.id, %s) = %s"
            params += list(self.args.mod)
        if self.args.wmod:
            sql += " AND mod(workunit.id, %s) = %s"
            params += list(self.args.wmod)
        if self.appids:
            sql += " AND workunit.appid IN (%s)" % ",".join("%s" for _ in self.appids)
            params += self.appids
        if enum.appid is not None:
            sql += " AND r1.appid=%s"
            params.append(enum.appid)
        # ties (a job's several results) in result order, as the tests and
        # operators expect to see them
        sql += " ORDER BY r1.batch_rank" if self.order == "by_batch" else \
            " %s, r1.id" % self.order.rstrip()
        sql += " LIMIT %s"
        params.append(enum.limit)
        rows = self.db.rows(sql, params)
        if self.order == "by_batch" or not rows:
            return rows
        ids = sorted({r[4] for r in rows})
        wus = {w[0]: w[1:] for w in self.db.rows(_WU_QUERY % ",".join(["%s"] * len(ids)), ids)}
        # a job gone between the two statements (purged) is skipped
        return [r[:4] + wus[r[4]] for r in rows if r[4] in wus]

    def get_job(self, app_index, phases, in_cache, pending):
        """The next enumerated result not already cached, or None once the
        enumeration has run out a second time in this pass (BOINC's
        get_job_from_db)."""
        enum = self.enums[app_index]
        while True:
            row = enum.next(self._query)
            if row is None:
                if phases[app_index] != FIRST_PASS:
                    phases[app_index] = OVER
                    return None
                phases[app_index] = SECOND_PASS
                pending["ncollisions"] = 0      # new jobs may have come in
                self.log.normal("restarted enumeration for appid %d", enum.label)
                continue
            resultid = row[0]
            wu = dict(zip(shmem.WU_COLUMNS, row[4:]))
            if wu["appid"] not in self.app_ids:
                continue
            if wu["error_mask"]:
                self.db.execute(
                    "UPDATE result SET server_state=%s, outcome=%s WHERE id=%s "
                    "AND server_state=%s",
                    (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_DIDNT_NEED,
                     resultid, states.RESULT_SERVER_STATE_UNSENT))
                self.log.normal("[RESULT#%d] WU had error, marking as DIDNT_NEED", resultid)
                continue
            slot = in_cache.get(resultid)
            if slot is not None:
                if wu["hr_class"] > 0:
                    pending["bump"].append(slot)
                pending["ncollisions"] += 1
                self.log.debug("result [RESULT#%d] already in array", resultid)
                continue
            return row, wu

    def scan_work_array(self):
        """One pass over the slots, filling EMPTY ones; True if any was filled."""
        self._set_isolation()
        cache, cfg, log = self.cache, self.config, self.log
        now = time.time()
        # what a pass needs of each slot, without decoding whole slots
        slots = cache.columns("state", "resultid", "time_added")
        in_cache = {resultid: i for i, (state, resultid, _) in enumerate(slots)
                    if state != shmem.EMPTY}
        phases = [FIRST_PASS if e.active else SECOND_PASS for e in self.enums]
        pending = {"ncollisions": 0, "bump": []}
        filled, dead = [], []
        for i, (state, resultid, time_added) in enumerate(slots):
            if state == shmem.PRESENT:
                if not (self.purge_stale_time and time_added < now - self.purge_stale_time):
                    continue
                log.normal("remove result [RESULT#%d] from slot %d because it is stale",
                           resultid, i)
                stale = cache.slot(i)
                if stale.resultid != resultid or not cache.unpublish(i, resultid):
                    continue            # a scheduler claimed it meanwhile
                self.purge_stale(stale)
                in_cache.pop(resultid, None)
            elif state != shmem.EMPTY:
                log.normal("checking pid %d", state)
                if not os.path.exists("/proc/%d" % state):
                    dead.append((i, state))
                continue
            app_index = self.slot_app[i]
            if phases[app_index] == OVER:
                continue
            job = self.get_job(app_index, phases, in_cache, pending)
            if job is None:
                continue
            row, wu = job
            resultid, res_priority, res_server_state, res_report_deadline = row[:4]
            log.normal("adding result [RESULT#%d] in slot %d", resultid, i)
            need_reliable = bool(cfg.reliable_on_priority
                                 and res_priority >= cfg.reliable_on_priority)
            cache.put(i, resultid, res_priority, res_server_state, res_report_deadline, wu,
                      infeasible_count=1 if wu["hr_class"] > 0 else 0,
                      need_reliable=need_reliable, time_added=time.time())
            in_cache[resultid] = i
            filled.append(i)
        for i, pid in cache.publish(filled, dead, pending["bump"]):
            log.normal("Result reserved by non-existent process PID %d; resetting", pid)
        log.debug("Added %d results to array", len(filled))
        # Jobs may be waiting if we filled or collided -- or if no slot was free
        # to try (a full cache): then a drain should wake us (see sleep).
        had_empty = any(state == shmem.EMPTY for state, _, _ in slots)
        self.work_waiting = bool(filled or pending["ncollisions"] or not had_empty)
        self.empty_after_pass = cache.count_empty()
        if pending["ncollisions"]:
            log.debug("%d results already in array", pending["ncollisions"])
            return False
        return bool(filled)

    # How often the feeder looks at the slots while it sleeps.
    WATCH_INTERVAL = 0.01
    MIN_ENUM = 1000

    def sleep(self, seconds):
        """Sleep, but wake early once schedulers have emptied a quarter of the
        slots while jobs are waiting in the DB.  BOINC's feeder sleeps its
        full interval, so busy schedulers find the cache empty and the cache
        size caps the jobs sent per second; ours refills as they drain it."""
        if not getattr(self, "work_waiting", False) or self.cache is None:
            return super().sleep(seconds)
        wake_at = self.empty_after_pass + max(1, self.cache.max_wu_results // 4)
        end = time.monotonic() + seconds
        next_check = 0.0
        while True:
            now = time.monotonic()
            if now >= end:
                return
            if now >= next_check:           # the stop trigger, once a second
                self.check_stop()
                next_check = now + 1.0
            time.sleep(min(self.WATCH_INTERVAL, end - now))
            if self.cache.count_empty() >= wake_at:
                return

    def purge_stale(self, slot):
        """A job cached too long: if committed to an HR class, un-commit it."""
        if slot.hr_class:
            self.db.execute("UPDATE workunit SET hr_class=0, target_nresults=target_nresults+1,"
                            " transition_time=%s WHERE id=%s",
                            (int(time.time()), slot.workunitid))

    def update_job_stats(self):
        """fpops_size of each cached job: its rsc_fpops_est in std deviations."""
        present = self.cache.present_slots()
        if not present:
            return
        est = [s.rsc_fpops_est for s in present]
        mean = sum(est) / len(est)
        var = sum(e * e for e in est) / len(est) - mean * mean
        stdev = math.sqrt(var) if var > 0 else 1.0
        for s in present:
            self.cache.set_fpops_size(s.index, (s.rsc_fpops_est - mean) / stdev)

    def cleanup(self):
        if self.cache is not None:
            self.cache.destroy()
            self.cache = None


def run():
    Feeder.run()
