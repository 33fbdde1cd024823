"""The validator framework: one daemon per app (``--app NAME``).

Project code says how to judge results by subclassing :class:`Validator`
(``init_result``, ``compare_results``, ``cleanup_result``); this module does
the rest as BOINC's validator does (database.md §6):

* enumerate the app's workunits with ``need_validate > 0`` with all their
  results (one query per batch);
* without a canonical result (``check_set``): when at least ``min_quorum``
  results are viable (over, success, not invalid), check each, then look
  for one that at least ``min_quorum/2+1`` of them (itself included) match;
  it becomes canonical, those matching it VALID, the others INVALID;
  results still undecided become INCONCLUSIVE.  With a canonical result the
  WU goes to the assimilator and its unsent results are not needed any
  more; without, ``target_nresults`` grows so that the transitioner makes
  another result (or the WU fails when it has too many successes);
* with a canonical result (``check_pair``): each newly returned result is
  compared with it;
* credit, host reliability counters (sched/credit.py).

A project's validator is a short program in its bin/, e.g.::

    #!/path/to/the/project's/python
    import os, sys; sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from sched.validator import Validator, run

    class SameAnswer(Validator):
        def init_result(self, result, files):
            with open(files[0].path) as f:       # raise InvalidResult if bad
                return f.read().split()[-1]
        def compare_results(self, r1, files1, r2, files2):
            return r1.data == r2.data

    run(SameAnswer)     # options: --app NAME and all of BOINC's validator options

A result whose files can't be read for a passing reason (``TransientError``
or an NFS-like OSError) makes the WU wait 6 hours; one that fails its check
(``InvalidResult``, a missing file, an unreadable xml_doc_in) gets outcome
VALIDATE_ERROR.  Any other exception in project code is a bug: the daemon
stops with a traceback and the WU is left as it was.

Where we differ from BOINC, on purpose:

* a result whose check met a transient error stays INIT (BOINC makes it
  INCONCLUSIVE and, with no consensus, asks for another result, so the
  promised retry never happens); the WU waits 6 hours, then the
  transitioner hands it back;
* a WU whose canonical result row is gone gets ``need_validate=0`` (BOINC
  would pick it up again at once, for ever); a result whose host row is gone
  still gets its verdict, without credit;
* ``--dry_run`` looks at one batch and exits.

Crash safety: all plug-in calls happen first; then, in one transaction per
chunk of WUs, the WUs and their results are locked and checked to be still
as they were read (a WU that changed meanwhile is left for the next pass),
and every change (results, WU, host/user/team credit, host_app_version,
credited_job) is written.  A validator killed at any point leaves each WU
either untouched or completely validated; never half, never twice.
"""

import copy
import errno
import time

from . import credit as C
from . import states as S
from .daemon import Daemon, Stop
from .db import DatabaseError
from .errors import BoincError
from .outputs import OutputFilesError, output_files

SELECT_LIMIT = 500          # workunits per enumeration query
WRITE_CHUNK = 100           # workunits per write transaction
FLUSH_SECONDS = 2.0         # ... or whatever was judged in this long
DEFAULT_SLEEP_INTERVAL = 5
RETRY_DELAY = 6 * 3600      # after a transient error
DEADLOCK_RETRIES = 3

# OSErrors that mean "the file system is unwell", not "the file is bad"
TRANSIENT_ERRNOS = frozenset((errno.EIO, errno.ESTALE, errno.ETIMEDOUT, errno.ENOTCONN,
                              errno.EHOSTDOWN, errno.EHOSTUNREACH, errno.ENOLCK))

# transition_time decisions (BOINC's names)
NO_CHANGE, IMMEDIATE, DELAYED, NEVER = "no_change", "immediate", "delayed", "never"


# ---------------------------------------------------------------- plug-ins

class TransientError(Exception):
    """Raise from project code: try this WU again later (6 hours)."""


class InvalidResult(Exception):
    """Raise from ``init_result``: the result is bad (outcome VALIDATE_ERROR)."""


class LongTermFailure(InvalidResult):
    """Raise from ``init_result`` for a client error that means the host can't
    run this app version (with ``--check_punitive`` its quota drops to 1)."""


class Validator:
    """Project validation code.  Subclass it and override what you need.

    ``init_result(result, files)`` checks one result; ``files`` is the list
    of its :class:`sched.outputs.OutputFile` (``path``, ``open_name``, ...).
    Whatever it returns is kept as ``result.data`` for ``compare_results``.
    Raise :class:`InvalidResult` if the result is bad, :class:`TransientError`
    to retry later; set ``result.suspicious = True`` for BOINC's "suspicious"
    results (never accepted alone under adaptive replication).

    ``compare_results(r1, files1, r2, files2)`` returns True if the two are
    equivalent.  ``cleanup_result(result)`` frees what ``init_result`` made.

    ``result.wu`` is the result's workunit; ``self.daemon`` gives access to
    ``args``, ``config``, ``log`` and ``app`` once :meth:`setup` has run.
    """

    description = "a validator"
    uses_files = True       # False: files aren't looked up (lists are empty)

    def __init__(self):
        self.daemon = None

    def add_arguments(self, parser):
        """Add the project's own command-line options."""

    def setup(self, daemon):
        """Called once options, config and DB are ready; raise BoincError to stop."""
        self.daemon = daemon

    def init_result(self, result, files):
        return None

    def compare_results(self, r1, files1, r2, files2):
        return True

    def cleanup_result(self, result):
        pass


# ------------------------------------------------------------------- rows

class Item:
    """A workunit or result row as attributes."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, getattr(self, "id", "?"))


WU_COLUMNS = ("id", "name", "appid", "need_validate", "canonical_resultid", "canonical_credit",
              "min_quorum", "assimilate_state", "transition_time", "opaque", "batch",
              "target_nresults", "max_success_results", "error_mask", "rsc_fpops_est",
              "rsc_fpops_bound")
RESULT_COLUMNS = ("id", "workunitid", "name", "validate_state", "server_state", "outcome",
                  "granted_credit", "xml_doc_in", "xml_doc_out", "stderr_out", "cpu_time",
                  "batch", "opaque", "exit_status", "hostid", "userid", "teamid", "sent_time",
                  "received_time", "appid", "app_version_id", "app_version_num",
                  "elapsed_time", "flops_estimate", "runtime_outlier")
_TEXT = ("xml_doc_in", "xml_doc_out", "stderr_out")
# What must not have changed between reading a WU and writing our verdict
WU_SNAPSHOT = ("need_validate", "canonical_resultid", "error_mask", "target_nresults",
               "assimilate_state")
RESULT_SNAPSHOT = ("server_state", "outcome", "validate_state")
# Result fields phase two changes
MUTABLE = ("validate_state", "outcome", "server_state", "granted_credit", "elapsed_time",
           "flops_estimate", "runtime_outlier")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def make_result(row, wu):
    r = Item(**row)
    for name in _TEXT:
        setattr(r, name, _text(getattr(r, name)))
    r.runtime_outlier = bool(r.runtime_outlier)
    r.claimed_credit = 0.0              # only init_result sets it (--post_assigned_credit)
    r.suspicious = False
    r.transient = False                 # its check met a transient error
    r.data = None
    r.wu = wu
    r.orig = tuple(row[c] for c in RESULT_SNAPSHOT)
    return r


class Verdict:
    """What phase one decided about a WU; phase two turns it into rows."""

    def __init__(self, wu, results):
        self.wu, self.results = wu, results
        self.kind = None            # "set", "pair" or None (only need_validate=0)
        self.viable = []
        self.canonical = None       # the canonical result (both kinds)
        self.canonicalid = 0
        self.tested = []            # pair: results compared with the canonical one
        self.retry = False
        self.punish = []            # results whose hosts --check_punitive punishes
        self.checked_set = False    # set: enough viable results to check


# ------------------------------------------------------------------ daemon

class ValidatorDaemon(Daemon):
    sleep_interval = DEFAULT_SLEEP_INTERVAL

    def __init__(self, plugin, name="validator"):
        super().__init__()
        self.plugin = plugin
        self.name = name
        self.description = getattr(plugin, "description", "") or "a validator"
        self.app = None
        self.app_versions = {}
        self.n_handled = 0

    # -- options
    def add_arguments(self, parser):
        import sched
        parser.add("v", "version", action="version", version=sched.__version__)
        parser.add("app", metavar="NAME", help="the application whose results to validate")
        parser.add("one_pass_N_WU", type=int, default=0, metavar="N",
                   help="validate at most N workunits, then exit")
        parser.add("max_wu_to_validate", type=int, default=0, metavar="N",
                   help="same as --one_pass_N_WU (not a BOINC option)")
        parser.add("dry_run", action="store_true",
                   help="don't update the database, only log (one batch)")
        parser.add("min_wu_id", type=int, default=0, metavar="N", help="only WUs with id >= N")
        parser.add("max_wu_id", type=int, default=0, metavar="N", help="only WUs with id <= N")
        parser.add("wu_id", type=int, default=0, metavar="N",
                   help="validate WU N (whatever its need_validate), then exit")
        parser.add("max_granted_credit", type=float, default=C.DEFAULT_MAX_GRANTED_CREDIT,
                   metavar="X", help="grant no more than X credit per result (0: no limit)")
        parser.add("update_credited_job", action="store_true",
                   help="add a credited_job row (user, WU opaque) for each valid result")
        parser.add("credit_from_wu", action="store_true",
                   help="grant the WU's canonical_credit (create_work --credit)")
        parser.add("credit_from_runtime", nargs="?", const=True, default=False, metavar="X",
                   help="grant credit from runtime x host speed (X is ignored, as by BOINC; "
                   "the limit is --max_granted_credit)")
        parser.add("post_assigned_credit", action="store_true",
                   help="grant the claimed_credit init_result() set on the canonical result")
        parser.add("grant_claimed_credit", action="store_true",
                   help="old name; taken as --post_assigned_credit")
        parser.add("no_credit", action="store_true", help="grant no credit")
        parser.add("check_punitive", action="store_true",
                   help="limit hosts whose client errors are long-term failures to 1 job/day")
        self.plugin.add_arguments(parser)

    def setup(self):
        a = self.args
        if not a.app:
            raise BoincError("must use '--app' to specify an application")
        if a.max_wu_to_validate and not a.one_pass_N_WU:
            a.one_pass_N_WU = a.max_wu_to_validate
        if a.one_pass_N_WU or a.wu_id or a.dry_run:
            a.one_pass = True
        if a.grant_claimed_credit:
            a.post_assigned_credit = True
        if a.credit_from_runtime:
            if not a.max_granted_credit:
                raise BoincError("if use credit_from_runtime, must specify max credit "
                                 "(--max_granted_credit X)")
            self.log.normal("using credit from runtime")
        if a.max_granted_credit:
            self.log.normal("max_granted_credit: %f", a.max_granted_credit)
        if a.mod:
            self.log.normal("Modulus %d, remainder %d", a.mod[0], a.mod[1])
        if a.min_wu_id:
            self.log.normal("min wu id %d", a.min_wu_id)
        if a.max_wu_id:
            self.log.normal("max wu id %d", a.max_wu_id)
        self.load_app()
        self.plugin.daemon = self
        self.plugin.setup(self)
        self.log.normal("Starting validator, debug level %d", self.log.level)

    def load_app(self):
        """The app row, read every pass (the feeder may change min_avg_pfc)."""
        row = self.db.query_one("SELECT id, name, target_nresults, min_avg_pfc, "
                                "host_scale_check FROM app WHERE name=%s", (self.args.app,))
        if row is None:
            raise BoincError("can't find app %s (check --app; apps come from project.xml "
                             "via bin/xadd)" % self.args.app)
        self.app = Item(**row)
        return self.app

    def cleanup(self):
        if self.db is not None and self.app_versions and not self.args.dry_run:
            try:
                C.write_modified_app_versions(self.db, self.app_versions.values(),
                                              log=self.log)
            except DatabaseError as exc:
                self.log.critical("app version statistics not written: %s", exc)

    # -- enumeration
    def enumerate(self, after_id):
        """Up to SELECT_LIMIT WUs (id > after_id) with all their results."""
        a = self.args
        where, args = ["appid=%s", "need_validate > 0", "id > %s"], [self.app.id, after_id]
        if a.wu_id:                             # debugging: this WU, whatever its state
            where, args = ["id=%s"], [a.wu_id]
        if a.mod:
            where.append("MOD(id, %s) = %s")
            args += list(a.mod)
        if a.min_wu_id:
            where.append("id >= %s")
            args.append(a.min_wu_id)
        if a.max_wu_id:
            where.append("id <= %s")
            args.append(a.max_wu_id)
        sql = ("SELECT %s, %s FROM (SELECT id AS sel_id FROM workunit WHERE %s "
               "ORDER BY id LIMIT %d) AS sel JOIN workunit wu ON wu.id = sel.sel_id "
               "LEFT JOIN result res ON res.workunitid = wu.id ORDER BY wu.id, res.id"
               % (", ".join("wu.%s" % c for c in WU_COLUMNS),
                  ", ".join("res.%s AS r_%s" % (c, c) for c in RESULT_COLUMNS),
                  " AND ".join(where), SELECT_LIMIT))
        nwu = len(WU_COLUMNS)
        wus = {}
        for row in self.db.rows(sql, args):
            wu = wus.get(row[0])
            if wu is None:
                wu = wus[row[0]] = Item(**dict(zip(WU_COLUMNS, row[:nwu])))
                wu.results = []
                wu.snapshot = {c: getattr(wu, c) for c in WU_SNAPSHOT}
            if row[nwu] is not None:
                wu.results.append(make_result(dict(zip(RESULT_COLUMNS, row[nwu:])), wu))
        return list(wus.values())

    # -- the pass
    def do_pass(self):
        self.load_app()
        pending = self.app_versions.values()
        if not self.args.dry_run and any(av.dirty for av in pending):
            C.write_modified_app_versions(self.db, pending, log=self.log)
        self.app_versions = C.load_app_versions(self.db, appid=self.app.id)
        found = limit_reached = False
        after = 0
        chunk, chunk_started = [], time.monotonic()
        while not limit_reached:
            wus = self.enumerate(after)
            for wu in wus:
                try:
                    self.check_stop()
                except Stop:
                    self.flush(chunk)
                    raise
                chunk.append(self.judge(wu))
                found = True
                self.n_handled += 1
                if self.args.one_pass_N_WU and self.n_handled >= self.args.one_pass_N_WU:
                    limit_reached = True
                    break
                if len(chunk) >= WRITE_CHUNK or time.monotonic() - chunk_started > FLUSH_SECONDS:
                    self.flush(chunk)
                    chunk, chunk_started = [], time.monotonic()
            # a short batch is the end of this sweep; WUs skipped in it (changed
            # meanwhile) come round in the next pass
            if len(wus) < SELECT_LIMIT or self.args.wu_id or self.args.dry_run:
                break
            after = wus[-1].id
        self.flush(chunk)
        if not self.args.dry_run:
            C.write_modified_app_versions(self.db, self.app_versions.values(), log=self.log)
        return found

    # -- phase one: the plug-in's verdicts (no database writes)
    def files_of(self, r):
        if not self.plugin.uses_files:
            return []
        if not hasattr(r, "files"):
            r.files = output_files(self.config, r)
        return r.files

    def _init(self, r, where):
        """Run init_result; returns "ok", "suspicious", "transient", "long_term" or "error"."""
        label = "[RESULT#%d %s]" % (r.id, r.name)
        try:
            r.data = self.plugin.init_result(r, self.files_of(r))
        except TransientError as exc:
            self.log.critical("%s: init_result(%s) transient failure: %s", where, label, exc)
            return "transient"
        except LongTermFailure as exc:
            self.log.normal("%s: init_result(%s) long-term failure: %s", where, label, exc)
            return "long_term"
        except (InvalidResult, OutputFilesError) as exc:
            self.log.critical("%s: init_result(%s) failed: %s", where, label, exc)
            return "error"
        except OSError as exc:
            if exc.errno in TRANSIENT_ERRNOS:
                self.log.critical("%s: init_result(%s) transient failure: %s", where, label, exc)
                return "transient"
            self.log.critical("%s: init_result(%s) failed: %s", where, label, exc)
            return "error"
        if r.suspicious:
            self.log.normal("%s considered to be suspicious", label)
            return "suspicious"
        return "ok"

    def _compare(self, r1, r2, where):
        """compare_results; returns True, False, "transient" or "error"."""
        try:
            return bool(self.plugin.compare_results(r1, self.files_of(r1), r2,
                                                    self.files_of(r2)))
        except TransientError as exc:
            self.log.critical("%s: compare_results([RESULT#%d], [RESULT#%d]) transient "
                              "failure: %s", where, r1.id, r2.id, exc)
            return "transient"
        except (InvalidResult, OutputFilesError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
                return "transient"
            self.log.critical("%s: compare_results([RESULT#%d %s], [RESULT#%d %s]) failed: %s",
                              where, r1.id, r1.name, r2.id, r2.name, exc)
            return "error"

    def _cleanup(self, r):
        self.plugin.cleanup_result(r)
        r.data = None

    def check_set(self, results, wu):
        """Find a canonical result among ``results``; (canonical, retry)."""
        n = len(results)
        min_valid = wu.min_quorum // 2 + 1
        retry = False
        had_error = [False] * n
        good = suspicious = 0
        initialised = []
        try:
            for i, r in enumerate(results):
                status = self._init(r, "check_set")
                initialised.append(r)
                if status == "ok":
                    good += 1
                elif status == "suspicious":
                    suspicious += 1
                elif status == "transient":
                    retry = had_error[i] = r.transient = True
                else:
                    r.outcome = S.RESULT_OUTCOME_VALIDATE_ERROR
                    r.validate_state = S.VALIDATE_STATE_INVALID
                    had_error[i] = True
            # a lone suspicious result doesn't count; with others to compare it does
            if suspicious > 1 or good > 0:
                good += suspicious
            if suspicious and wu.min_quorum < abs(self.app.target_nresults):
                self.log.normal("suspicious result - raising quorum")
                wu.min_quorum = abs(self.app.target_nresults)
            if good < wu.min_quorum:
                return None, retry
            for i in range(n):
                if had_error[i]:
                    continue
                matches = [j == i for j in range(n)]
                for j in range(n):
                    if had_error[j] or j == i:
                        continue
                    same = self._compare(results[i], results[j], "check_set")
                    if same == "transient":
                        for r in results:
                            r.transient = True
                        return None, True
                    matches[j] = same is True
                if sum(1 for j in range(n) if matches[j] and not had_error[j]) >= min_valid:
                    for j in range(n):
                        if not had_error[j]:
                            results[j].validate_state = (S.VALIDATE_STATE_VALID if matches[j]
                                                         else S.VALIDATE_STATE_INVALID)
                    return results[i], retry
            return None, retry
        finally:
            for r in initialised:
                self._cleanup(r)

    def check_pair(self, r1, r2):
        """Compare new result ``r1`` with the canonical ``r2``; True: retry later.

        As BOINC: a failed check of either (even "suspicious") makes ``r1``
        a VALIDATE_ERROR; a comparison that fails makes it INVALID.
        """
        inited = []
        try:
            for r in (r1, r2):
                status = self._init(r, "check_pair")
                inited.append(r)
                if status == "transient":
                    return True
                if status != "ok":
                    r1.outcome = S.RESULT_OUTCOME_VALIDATE_ERROR
                    r1.validate_state = S.VALIDATE_STATE_INVALID
                    return False
            same = self._compare(r1, r2, "check_pair")
        finally:
            for r in inited:
                self._cleanup(r)
        if same == "transient":
            return True
        r1.validate_state = S.VALIDATE_STATE_VALID if same is True else S.VALIDATE_STATE_INVALID
        return False

    def judge(self, wu):
        v = Verdict(wu, wu.results)
        if self.args.check_punitive:
            for r in wu.results:
                if (r.server_state == S.RESULT_SERVER_STATE_OVER
                        and r.outcome == S.RESULT_OUTCOME_CLIENT_ERROR):
                    if self._init(r, "scan_punitive") == "long_term":
                        v.punish.append(r)
                    self._cleanup(r)
        if wu.canonical_resultid:
            self.log.normal("[WU#%d %s] Already has canonical result %d", wu.id, wu.name,
                            wu.canonical_resultid)
            v.canonical = next((r for r in wu.results if r.id == wu.canonical_resultid), None)
            if v.canonical is None:
                self.log.critical("[WU#%d %s] Can't find canonical result %d", wu.id, wu.name,
                                  wu.canonical_resultid)
                return v
            v.kind = "pair"
            for r in wu.results:
                if (r.server_state != S.RESULT_SERVER_STATE_OVER
                        or r.outcome != S.RESULT_OUTCOME_SUCCESS
                        or r.validate_state not in (S.VALIDATE_STATE_INIT,
                                                    S.VALIDATE_STATE_INCONCLUSIVE)):
                    continue
                self.log.normal("[WU#%d] handle_wu(): testing result %d", wu.id, r.id)
                if self.check_pair(r, v.canonical):
                    v.retry = True      # usually a failed NFS mount: later
                    break
                v.tested.append(r)
            return v
        self.log.normal("[WU#%d %s] handle_wu(): No canonical result yet", wu.id, wu.name)
        v.kind = "set"
        v.viable = [r for r in wu.results
                    if r.server_state == S.RESULT_SERVER_STATE_OVER
                    and r.outcome == S.RESULT_OUTCOME_SUCCESS
                    and r.validate_state != S.VALIDATE_STATE_INVALID]
        self.log.debug("[WU#%d %s] Found %d viable results", wu.id, wu.name, len(v.viable))
        if len(v.viable) >= wu.min_quorum:
            self.log.debug("[WU#%d %s] Enough for quorum, checking set.", wu.id, wu.name)
            v.checked_set = True
            v.canonical, v.retry = self.check_set(v.viable, wu)
            v.canonicalid = v.canonical.id if v.canonical is not None else 0
        return v

    # -- phase two: credit and rows, in one transaction per chunk
    def flush(self, verdicts):
        if not verdicts:
            return
        # phase two changes results in memory; a retried attempt starts afresh
        saved = [(r, [getattr(r, f) for f in MUTABLE]) for v in verdicts for r in v.results]
        if self.args.dry_run:
            writer = Writer(self, verdicts, dry_run=True)
            writer.run()
            writer.rollback_samples()
            return
        for attempt in range(DEADLOCK_RETRIES + 1):
            for r, values in saved:
                for f, x in zip(MUTABLE, values):
                    setattr(r, f, x)
            writer = Writer(self, verdicts)
            try:
                with self.db.transaction():
                    writer.run()
            except DatabaseError as exc:
                writer.rollback_samples()
                text = str(exc)
                if attempt < DEADLOCK_RETRIES and ("Deadlock" in text or "Lock wait" in text):
                    self.log.normal("database busy (%s); trying again", text)
                    continue
                raise
            except BaseException:
                writer.rollback_samples()
                raise
            return


class Writer:
    """Turns a chunk of verdicts into database changes (BOINC's handle_wu
    after check_set/check_pair), on fresh locked rows."""

    def __init__(self, daemon, verdicts, dry_run=False):
        self.d, self.log, self.args = daemon, daemon.log, daemon.args
        self.db, self.dry_run = daemon.db, dry_run
        self.verdicts = verdicts
        self.now = time.time()
        self.ledger = C.Ledger(self.db, credit_by_app=daemon.config.credit_by_app,
                               lock=not dry_run, now=self.now)
        self.result_rows, self.wu_rows, self.credited_jobs = [], [], []
        self.havs, self.hav_orig = {}, {}
        self.av_samples = {}            # av id -> (pfc samples, credit samples) added

    # -- reading
    def lock_and_check(self):
        """Lock the chunk's WUs and results; drop the verdicts whose rows moved."""
        ids = sorted(v.wu.id for v in self.verdicts)
        lock = "" if self.dry_run else " FOR UPDATE"
        marks = ", ".join(["%s"] * len(ids))
        fresh = {r["id"]: r for r in self.db.query(
            "SELECT id, transition_time, %s FROM workunit WHERE id IN (%s)%s"
            % (", ".join(WU_SNAPSHOT), marks, lock), ids)}
        now_results = {}
        for r in self.db.query("SELECT id, workunitid, %s FROM result WHERE workunitid IN (%s)%s"
                               % (", ".join(RESULT_SNAPSHOT), marks, lock), ids):
            now_results.setdefault(r["workunitid"], {})[r["id"]] = tuple(
                r[c] for c in RESULT_SNAPSHOT)
        keep = []
        for v in self.verdicts:
            row = fresh.get(v.wu.id)
            before = {r.id: r.orig for r in v.results}
            if (row is None or any(row[c] != v.wu.snapshot[c] for c in WU_SNAPSHOT)
                    or now_results.get(v.wu.id, {}) != before):
                self.log.normal("[WU#%d %s] changed while being validated; will look again",
                                v.wu.id, v.wu.name)
                continue
            v.wu.transition_time = row["transition_time"]
            keep.append(v)
        return keep

    def load_havs(self, pairs):
        """host_app_version rows for (host, generalized app version) pairs."""
        hosts = sorted({h for h, _ in pairs if h})
        if hosts:
            lock = "" if self.dry_run else " FOR UPDATE"
            for row in self.db.query("SELECT %s FROM host_app_version WHERE host_id IN (%s)%s"
                                     % (", ".join(C.HAV_COLUMNS), ", ".join(["%s"] * len(hosts)),
                                        lock), hosts):
                key = (row["host_id"], row["app_version_id"])
                self.havs[key] = C.HostAppVersion(row)
        for key in sorted(set(pairs)):
            if key[0] and key not in self.havs:
                self.hav_lookup(*key, needed=pairs)
        for key, hav in self.havs.items():
            self.hav_orig[key] = hav.row()

    def hav_lookup(self, host_id, gavid, needed=()):
        """BOINC's hav_lookup for a missing row: take over the host's row for
        another version of the same app/platform/plan class (the newest, and
        not one this chunk needs), else make one.  Versions that aren't
        app_version rows (anonymous platform) get none."""
        av = self.db.query_one("SELECT id, appid, platformid, plan_class FROM app_version "
                               "WHERE id=%s", (gavid,))
        if av is None:
            return
        best = None
        for (h, other), hav in sorted(self.havs.items()):
            if h != host_id or (h, other) in needed:
                continue
            row = self.db.query_one("SELECT appid, platformid, plan_class, version_num FROM "
                                    "app_version WHERE id=%s", (other,))
            if (row and (row["appid"], row["platformid"], row["plan_class"])
                    == (av["appid"], av["platformid"], av["plan_class"])
                    and (best is None or row["version_num"] > best[0])):
                best = (row["version_num"], other)
        if best is not None:
            hav = self.havs.pop((host_id, best[1]))
            if not self.dry_run:
                self.db.execute("UPDATE host_app_version SET app_version_id=%s WHERE host_id=%s "
                                "AND app_version_id=%s", (gavid, host_id, best[1]))
            hav.app_version_id = gavid
            self.havs[(host_id, gavid)] = hav
            return
        hav = C.HostAppVersion.blank(host_id, gavid)
        if not self.dry_run:
            row = hav.row()
            self.db.execute("INSERT INTO host_app_version (%s) VALUES (%s) ON DUPLICATE KEY "
                            "UPDATE host_id=host_id" % (", ".join(C.HAV_COLUMNS),
                                                        ", ".join(["%s"] * len(row))),
                            [row[c] for c in C.HAV_COLUMNS])
            got = self.db.query_one("SELECT %s FROM host_app_version WHERE host_id=%%s AND "
                                    "app_version_id=%%s FOR UPDATE" % ", ".join(C.HAV_COLUMNS),
                                    (host_id, gavid))
            if got is not None:
                hav = C.HostAppVersion(got)
        self.havs[(host_id, gavid)] = hav

    def hav_of(self, r):
        return self.havs.get((r.hostid, S.generalized_app_version_id(r.app_version_id, r.appid)))

    def av_lookup(self, avid):
        av = self.d.app_versions.get(avid)
        if av is None:
            av = C.load_app_versions(self.db, ids=[avid]).get(avid)
            if av is None:
                return None
            self.d.app_versions[avid] = av
        if avid not in self.av_samples:
            self.av_samples[avid] = (len(av.pfc_samples), len(av.credit_samples))
        return av

    # -- the work
    def run(self):
        verdicts = self.lock_and_check()
        results = [r for v in verdicts for r in v.results]
        self.ledger.load_hosts(sorted({r.hostid for r in results if r.hostid}))
        self.ledger.load_owners()
        if self.ledger.credit_by_app:
            self.ledger.load_by_app(results)
        pairs = set()
        for v in verdicts:
            for r in (v.viable if v.kind == "set" and v.checked_set else
                      v.tested if v.kind == "pair" else []) + v.punish:
                pairs.add((r.hostid, S.generalized_app_version_id(r.app_version_id, r.appid)))
        self.load_havs(pairs)
        for v in verdicts:
            wu = Item(**{c: getattr(v.wu, c) for c in WU_COLUMNS})
            for r in v.punish:
                self.punish(r)
            transition = NO_CHANGE
            if v.kind == "set":
                transition = self.settle_set(v, wu)
            elif v.kind == "pair":
                transition = self.settle_pair(v, wu)
            self.finish_wu(wu, transition)
        if self.dry_run:
            self.log.normal("DB not updated (dry run)")
            return
        self.write()

    def rollback_samples(self):
        for avid, (npfc, ncredit) in self.av_samples.items():
            av = self.d.app_versions[avid]
            del av.pfc_samples[npfc:], av.credit_samples[ncredit:]

    def punish(self, r):
        hav = self.hav_of(r)
        if hav is None:
            self.log.critical("scan_punitive(): can't find HAV for results %d", r.id)
            return
        self.log.normal("punishing host %d for app version %d", r.hostid, r.app_version_id)
        hav.max_jobs_per_day = hav.n_jobs_today = 1

    def is_valid(self, r, wu, hav):
        """BOINC's is_valid: turnaround, quota, reliability, credited_job."""
        self.ledger.turnaround(r.hostid, r.received_time - r.sent_time)
        if hav is not None:
            hav.max_jobs_per_day += 1
            unreplicated = wu.target_nresults == 1 and self.d.app.target_nresults > 1
            if not unreplicated:
                hav.consecutive_valid += 1
                self.log.debug("[HAV#%d] consecutive valid now %d", hav.app_version_id,
                               hav.consecutive_valid)
        if self.args.update_credited_job:
            host = self.ledger.hosts.get(r.hostid)
            if host is not None:
                self.credited_jobs.append((host["userid"], int(wu.opaque)))

    def is_invalid(self, hav):
        if hav is None:
            return
        hav.consecutive_valid = 0
        if hav.max_jobs_per_day > self.d.config.daily_result_quota:
            hav.max_jobs_per_day -= 1

    def grant(self, r, amount):
        r.granted_credit = amount
        if r.hostid not in self.ledger.hosts:
            # BOINC leaves such a result unvalidated for ever; we record the
            # verdict and skip only the host's credit
            self.log.critical("[RESULT#%d] lookup of host %d failed", r.id, r.hostid)
        else:
            self.ledger.grant(r.hostid, r.sent_time, amount)
        if self.ledger.credit_by_app:
            self.ledger.grant_by_app(r, amount)

    def log_hav(self, r, hav):
        if hav is None:
            return
        key = (hav.host_id, hav.app_version_id)
        orig = self.hav_orig.get(key)
        self.log.normal("[HOST#%d AV#%d] [outlier=%d] Updating HAV in DB.  pfc.n=%f->%f",
                        hav.host_id, hav.app_version_id, r.runtime_outlier,
                        orig["pfc_n"] if orig else 0.0, hav.pfc.n)

    def add_result_row(self, r):
        self.result_rows.append(dict(
            id=r.id, validate_state=r.validate_state, granted_credit=r.granted_credit,
            server_state=r.server_state, outcome=r.outcome, opaque=r.opaque,
            runtime_outlier=1 if r.runtime_outlier else 0))

    def settle_set(self, v, wu):
        """A WU without a canonical result, after check_set."""
        a = self.args
        transition = DELAYED if v.retry else NO_CHANGE
        if not v.checked_set:
            return transition
        havs = [self.hav_of(r) for r in v.viable]
        amount = 0.0
        if v.canonicalid:
            # the usual computation runs whatever the option, for the statistics
            if not a.credit_from_runtime:
                amount = C.assign_credit_set(wu, v.viable, self.d.app, self.av_lookup, havs,
                                             a.max_granted_credit, self.log,
                                             self.d.config.debug_credit)
            if a.credit_from_wu:
                amount = wu.canonical_credit
                if amount == 0:
                    self.log.critical("[WU#%d %s] credit not specified in WU", wu.id, wu.name)
            elif a.credit_from_runtime:
                amount = C.credit_from_runtime(wu, v.viable, a.max_granted_credit, self.log)
            elif a.post_assigned_credit:
                amount = v.canonical.claimed_credit
                if amount == 0:
                    self.log.critical("[WU#%d %s] post-assigned credit missing", wu.id, wu.name)
            elif a.no_credit:
                amount = 0.0
            if a.max_granted_credit and amount > a.max_granted_credit:
                amount = a.max_granted_credit
        n_viable = 0
        for r, hav in zip(v.viable, havs):
            update = False
            if (r.outcome != S.RESULT_OUTCOME_SUCCESS
                    or r.validate_state == S.VALIDATE_STATE_INVALID):
                transition, update = IMMEDIATE, True
            else:
                n_viable += 1
            if r.validate_state == S.VALIDATE_STATE_VALID:
                update = True
                self.is_valid(r, wu, hav)
                if not a.no_credit:
                    self.grant(r, amount)
                    self.log.normal("[RESULT#%d %s] Valid; granted %f credit [HOST#%d]",
                                    r.id, r.name, amount, r.hostid)
            elif r.validate_state == S.VALIDATE_STATE_INVALID:
                update = True
                self.log.normal("[RESULT#%d %s] Invalid [HOST#%d]", r.id, r.name, r.hostid)
                self.is_invalid(hav)
            elif r.validate_state == S.VALIDATE_STATE_INIT and r.transient:
                # BOINC makes it INCONCLUSIVE, which the transitioner never
                # sends back to us: the retry would never come.  Left INIT, it
                # is validated again when the transitioner next looks at the WU.
                pass
            elif r.validate_state == S.VALIDATE_STATE_INIT:
                self.log.normal("[RESULT#%d %s] Inconclusive [HOST#%d]", r.id, r.name,
                                r.hostid)
                r.validate_state = S.VALIDATE_STATE_INCONCLUSIVE
                update = True
            self.log_hav(r, hav)
            if update:
                self.add_result_row(r)
        if v.canonicalid:
            # the assimilator's turn; waking the transitioner now would race it
            transition = NEVER
            self.log.debug("[WU#%d %s] Found a canonical result: id=%d", wu.id, wu.name,
                           v.canonicalid)
            wu.canonical_resultid, wu.canonical_credit = v.canonicalid, amount
            wu.assimilate_state = S.ASSIMILATE_READY
            for r in v.results:
                if r.server_state == S.RESULT_SERVER_STATE_UNSENT:
                    r.server_state = S.RESULT_SERVER_STATE_OVER
                    r.outcome = S.RESULT_OUTCOME_DIDNT_NEED
                    self.add_result_row(r)
        elif v.retry:
            # Undecided, not "no consensus": BOINC would ask for one more result
            # and wake the transitioner now, which would hand the WU straight
            # back to us.  Wait out the outage instead (the results stay INIT).
            transition = DELAYED
        else:
            if n_viable > wu.max_success_results:
                wu.error_mask |= S.WU_ERROR_TOO_MANY_SUCCESS_RESULTS
                transition = IMMEDIATE
            if n_viable >= wu.target_nresults:     # no consensus: one more result
                wu.target_nresults = n_viable + 1
                transition = IMMEDIATE
        return transition

    def settle_pair(self, v, wu):
        """A WU with a canonical result: the results compared with it."""
        a = self.args
        transition = NO_CHANGE
        for r in v.tested:
            transition = IMMEDIATE          # may be the last result: let the transitioner look
            update = r.outcome == S.RESULT_OUTCOME_VALIDATE_ERROR
            hav = self.hav_of(r)
            if r.validate_state == S.VALIDATE_STATE_VALID:
                update = True
                self.log.normal("[RESULT#%d %s] pair_check() matched: setting result to valid",
                                r.id, r.name)
                self.is_valid(r, wu, hav)
                # statistics as usual (on a copy: nothing of it is written back),
                # but the canonical result's credit
                C.assign_credit_set(wu, [copy.copy(r)], self.d.app, self.av_lookup, [hav],
                                    a.max_granted_credit, self.log, self.d.config.debug_credit)
                if not a.no_credit:
                    self.grant(r, v.canonical.granted_credit)
            elif r.validate_state == S.VALIDATE_STATE_INVALID:
                update = True
                self.log.normal("[RESULT#%d %s] pair_check() didn't match: setting result to "
                                "invalid", r.id, r.name)
                self.is_invalid(hav)
            if hav is not None and r.validate_state in (S.VALIDATE_STATE_VALID,
                                                        S.VALIDATE_STATE_INVALID):
                self.log_hav(r, hav)
            if update:
                self.log.normal("[RESULT#%d %s] granted_credit %f", r.id, r.name,
                                r.granted_credit)
                self.add_result_row(r)
        if v.retry:
            transition = DELAYED
        return transition

    def finish_wu(self, wu, transition):
        if transition == IMMEDIATE:
            wu.transition_time = int(self.now)
        elif transition == DELAYED:
            wu.transition_time = min(wu.transition_time, int(self.now) + RETRY_DELAY)
        elif transition == NEVER:
            wu.transition_time = S.INT_MAX
        self.wu_rows.append(dict(
            id=wu.id, need_validate=0, error_mask=wu.error_mask,
            assimilate_state=wu.assimilate_state, transition_time=wu.transition_time,
            target_nresults=wu.target_nresults, canonical_resultid=wu.canonical_resultid,
            canonical_credit=wu.canonical_credit))

    # -- writing
    def write(self):
        db = self.db
        if self.result_rows:
            C.bulk_update(db, "result", ("id",), self.result_rows, set_cols=(
                "validate_state", "granted_credit", "server_state", "outcome", "opaque",
                "runtime_outlier"))
        self.ledger.write()
        changed = [hav.row() for key, hav in sorted(self.havs.items())
                   if hav.row() != self.hav_orig.get(key)]
        if changed:
            C.bulk_update(db, "host_app_version", ("host_id", "app_version_id"), changed,
                          set_cols=C.HAV_COLUMNS[2:])
        if self.credited_jobs:
            db.executemany("INSERT IGNORE INTO credited_job (userid, workunitid) "
                           "VALUES (%s, %s)", sorted(set(self.credited_jobs)))
        if self.wu_rows:
            C.bulk_update(db, "workunit", ("id",), self.wu_rows, set_cols=(
                "need_validate", "error_mask", "assimilate_state", "transition_time",
                "target_nresults", "canonical_resultid", "canonical_credit"))


def run(plugin_class, name=None):
    """Entry point of a validator program: ``run(MyValidator)``."""
    import os
    import sys
    prog = name or os.path.basename(sys.argv[0]) or "validator"
    sys.exit(ValidatorDaemon(plugin_class(), prog).main(sys.argv[1:]))
