"""transitioner: move workunits and their results through BOINC's states.

Each pass reads the workunits whose ``transition_time`` has come (1000 at a
time, with all their results, in one query) and for each one, exactly as
BOINC's transitioner (database.md §5):

* times out in-progress results past their deadline (OVER / NO_REPLY, and a
  penalty on the host's host_app_version);
* asks for validation when a new success completes a quorum;
* sets error bits (couldn't send, too many errors, too many results); an
  errored WU gets its unsent results cancelled (DIDNT_NEED), its unchecked
  successes marked NO_CHECK and is handed to the assimilator;
* otherwise creates the results still needed, ``WUNAME_<n>`` from the
  output template (sched.result_template);
* hands an assimilated WU and its results to the file deleter once the
  last result is ``<delete_delay_hours>`` old;
* sets the next ``transition_time``.

Other programs write the same rows at the same time (the scheduler sends
and receives results; the validator, assimilator, cancel_jobs), so every
UPDATE names the value it expects to replace.  A result that changed under
us makes us drop our picture of its WU and look again a moment later.
New results of a whole batch go in as one multi-row INSERT and the WUs'
changes as one UPDATE, committed together: a WU never has its new
transition_time without its new results.

Where we differ from BOINC on purpose: a broken output template stops the
daemon (BOINC stores whatever half-processed text it got, and only stops
when the file can't be read); the SQL names the values it replaces.
"""

import time

from . import __version__
from . import states as S
from .crypt import CryptError, read_private_key
from .daemon import Daemon
from .errors import BoincError
from .result_template import ResultMaker, TemplateError, insert_results, read_template

SELECT_LIMIT = 1000             # workunits per query
DEFAULT_SLEEP_INTERVAL = 5
TEN_DAYS = 10 * 86400

# host_app_version.turnaround averaging (BOINC's HAV_AVG_*)
HAV_AVG_THRESH = 20
HAV_AVG_WEIGHT = 0.01
HAV_AVG_LIMIT = 10

WU_FIELDS = (
    "id", "name", "appid", "min_quorum", "need_validate", "canonical_resultid",
    "transition_time", "delay_bound", "error_mask", "max_error_results",
    "max_total_results", "file_delete_state", "assimilate_state", "target_nresults",
    "result_template_file", "priority", "hr_class", "batch", "app_version_id",
    "transitioner_flags", "size_class",
)
RESULT_FIELDS = (
    "id", "name", "report_deadline", "server_state", "outcome", "validate_state",
    "file_delete_state", "sent_time", "hostid", "received_time", "app_version_id",
    "exit_status",
)
# Workunit columns the transitioner may change, and how the UPDATE writes
# each so that it never undoes a concurrent writer's change.
_WU_SET = (
    ("need_validate", "%s", lambda orig, new, now: (new,)),
    ("error_mask", "error_mask | %s", lambda orig, new, now: (new,)),
    ("assimilate_state", "IF(assimilate_state = %s, %s, assimilate_state)",
     lambda orig, new, now: (orig, new)),
    ("file_delete_state", "IF(file_delete_state = %s, %s, file_delete_state)",
     lambda orig, new, now: (orig, new)),
    ("hr_class", "IF(hr_class = %s, %s, hr_class)", lambda orig, new, now: (orig, new)),
    ("app_version_id", "IF(app_version_id = %s, %s, app_version_id)",
     lambda orig, new, now: (orig, new)),
    # moved by someone else meanwhile: look again now (as BOINC)
    ("transition_time", "IF(transition_time = %s, %s, %s)",
     lambda orig, new, now: (orig, new, now)),
)
WU_CHANGEABLE = tuple(f for f, _, _ in _WU_SET)


class Workunit:
    __slots__ = WU_FIELDS + ("results",)

    def __getitem__(self, key):             # ResultMaker reads WUs as mappings
        return getattr(self, key)


class Result:
    __slots__ = RESULT_FIELDS


def atoi(text):
    """C's atoi: optional space and sign, then digits; 0 if none."""
    s = text.lstrip(" \t\n\v\f\r")
    end = 1 if s[:1] in ("+", "-") else 0
    while end < len(s) and s[end] in "0123456789":
        end += 1
    try:
        return int(s[:end])
    except ValueError:
        return 0


def result_suffix(name):
    """The number after a result name's last '_' (0 if none)."""
    p = name.rfind("_")
    return atoi(name[p + 1:]) if p >= 0 else 0


def update_var(n, avg, var, q, sample, thresh=HAV_AVG_THRESH, weight=HAV_AVG_WEIGHT,
               limit=HAV_AVG_LIMIT):
    """BOINC's AVERAGE_VAR.update_var: a running mean and variance whose
    samples are capped at limit*avg and which turns exponential after
    ``thresh`` samples.  Returns the new (n, avg, var, q)."""
    if sample < 0:
        return n, avg, var, q
    if n and avg and sample > avg * limit:
        sample = avg * limit
    n += 1
    delta = sample - avg
    if n < thresh:
        avg += delta / n
        q += delta * (sample - avg)
        var = q / n
    else:
        avg += weight * delta
        var += weight * (delta * delta - var)
    return n, avg, var, q


_HAV_COLUMNS = ("host_id", "app_version_id", "pfc_n", "pfc_avg", "et_n", "et_avg",
                "et_var", "et_q", "max_jobs_per_day", "n_jobs_today", "turnaround_n",
                "turnaround_avg", "turnaround_var", "turnaround_q", "consecutive_valid")


def _new_hav(db, host_id, gavid):
    row = dict.fromkeys(_HAV_COLUMNS, 0)
    row.update(host_id=host_id, app_version_id=gavid)
    db.execute("INSERT INTO host_app_version (%s) VALUES (%s)"
               % (", ".join(_HAV_COLUMNS), ", ".join(["%s"] * len(_HAV_COLUMNS))),
               tuple(row[c] for c in _HAV_COLUMNS))
    return row


def hav_lookup(db, host_id, gavid):
    """The host_app_version row of (host, generalized app version id).

    As BOINC: if there is none, the host's row for its newest other version
    of the same app, platform and plan class is taken over (a new version
    inherits the host's record), else a zeroed row is made.  Raises
    LookupError if ``gavid`` names no app version.
    """
    cols = ", ".join(_HAV_COLUMNS)
    row = db.query_one("SELECT %s FROM host_app_version WHERE host_id = %%s "
                       "AND app_version_id = %%s" % cols, (host_id, gavid))
    if row:
        return row
    if gavid < 0:
        return _new_hav(db, host_id, gavid)
    av = db.query_one("SELECT appid, platformid, plan_class FROM app_version "
                      "WHERE id = %s", (gavid,))
    if av is None:
        raise LookupError("no app version #%d" % gavid)
    best = db.query_one(
        "SELECT %s FROM host_app_version h JOIN app_version av ON av.id = h.app_version_id "
        "WHERE h.host_id = %%s AND av.appid = %%s AND av.platformid = %%s "
        "AND av.plan_class = %%s ORDER BY av.version_num DESC LIMIT 1"
        % ", ".join("h." + c for c in _HAV_COLUMNS),
        (host_id, av["appid"], av["platformid"], av["plan_class"]))
    if best is None:
        return _new_hav(db, host_id, gavid)
    db.execute("UPDATE host_app_version SET app_version_id = %s WHERE host_id = %s "
               "AND app_version_id = %s", (gavid, host_id, best["app_version_id"]))
    best["app_version_id"] = gavid
    return best


def read_upload_key(cfg):
    """keys/upload_private, which BOINC's transitioner insists on."""
    path = cfg.key_path("upload_private")
    try:
        return read_private_key(path)
    except CryptError as exc:
        msg = str(exc)
        raise BoincError(msg if msg.startswith("can't read key") else
                         "can't read key %s: %s" % (path, msg)) from None


class Batch:
    """What a batch of workunits will write at its end."""

    def __init__(self):
        self.new_results = []       # rows for result_template.insert_results
        self.wu_updates = []        # (wu, original values of WU_CHANGEABLE)
        self.file_delete_ids = []   # results whose files may go


class Transitioner(Daemon):
    name = "transitioner"
    description = ("Handles transitions in the state of a WU: a result has become "
                   "DONE (via timeout or client reply), the WU error mask is set, "
                   "assimilation is finished")
    sleep_interval = DEFAULT_SLEEP_INTERVAL

    def __init__(self):
        self._config = None
        self.key = None
        super().__init__()

    # BOINC's transitioner reads upload_private as soon as it has read
    # config.xml, before opening the database or saying "Starting", and
    # refuses to run without it (even with upload certificates off).
    @property
    def config(self):
        return self._config

    @config.setter
    def config(self, cfg):
        self._config = cfg
        if cfg is not None:
            self.key = read_upload_key(cfg)

    def add_arguments(self, parser):
        parser.add("wu_id", type=int, default=0, metavar="N",
                   help="transition WU N only, whatever its transition time (debugging)")
        parser.add("version", action="version", version="%(prog)s " + __version__,
                   help="show the version and exit")

    def setup(self):
        if self.args.wu_id:
            self.args.one_pass = True
        self.maker = ResultMaker(self.config, self.key)
        self.limit = SELECT_LIMIT

    # -- reading
    def enumerate(self, now):
        """Due workunits (at most self.limit), each with all its results."""
        if self.args.wu_id:
            where, params = "id = %s", [self.args.wu_id]
        else:
            where, params = "transition_time < %s", [now]
            clause, mod_params = self.mod_clause("id")
            where += clause
            params += mod_params
        sql = ("SELECT %s, %s FROM (SELECT %s FROM workunit WHERE %s "
               "AND transitioner_flags <> %%s LIMIT %%s) AS wu "
               "LEFT JOIN result AS res ON res.workunitid = wu.id"
               % (", ".join("wu." + f for f in WU_FIELDS),
                  ", ".join("res." + f for f in RESULT_FIELDS),
                  ", ".join(WU_FIELDS), where))
        rows = self.db.rows(sql, params + [S.TRANSITION_NONE, self.limit])
        wus = {}
        nwu = len(WU_FIELDS)
        for row in rows:
            wu = wus.get(row[0])
            if wu is None:
                wu = wus[row[0]] = Workunit()
                for f, v in zip(WU_FIELDS, row):
                    setattr(wu, f, v)
                wu.results = []
            if row[nwu] is not None:
                res = Result()
                for f, v in zip(RESULT_FIELDS, row[nwu:]):
                    setattr(res, f, v)
                wu.results.append(res)
        return list(wus.values())

    # -- the pass
    def do_pass(self):
        did_something = False
        while True:
            self.log.debug("doing a pass")
            wus = self.enumerate(int(time.time()))
            if not wus:
                break
            did_something = True
            batch = Batch()
            try:
                for wu in wus:
                    self.handle_wu(wu, batch)
            finally:
                self.flush(batch)           # keep the work of the WUs before a failure
            if self.args.wu_id:
                break
            if not self.args.one_pass:
                self.check_stop()
        return did_something

    def flush(self, batch):
        now = int(time.time())
        # one commit for the batch: a WU's new results and its new
        # transition_time are stored together or not at all
        with self.db.transaction():
            insert_results(self.db, batch.new_results)
            self.update_workunits(batch.wu_updates, now)
        if batch.file_delete_ids:
            self.db.execute(
                "UPDATE result SET file_delete_state = %%s WHERE file_delete_state = %%s "
                "AND id IN (%s)" % ", ".join(["%s"] * len(batch.file_delete_ids)),
                [S.FILE_DELETE_READY, S.FILE_DELETE_INIT] + batch.file_delete_ids)

    def update_workunits(self, updates, now):
        """One UPDATE for the changed fields of many WUs (CASE per column)."""
        sets, params, ids = [], [], set()
        for field, expr, args in _WU_SET:
            whens = []
            for wu, orig in updates:
                new = getattr(wu, field)
                if new != orig[field]:
                    whens.append("WHEN %s THEN " + expr)
                    params += [wu.id, *args(orig[field], new, now)]
                    ids.add(wu.id)
            if whens:
                sets.append("%s = CASE id %s ELSE %s END" % (field, " ".join(whens), field))
        if not sets:
            return
        ids = sorted(ids)
        self.db.execute("UPDATE workunit SET %s WHERE id IN (%s)"
                        % (", ".join(sets), ", ".join(["%s"] * len(ids))), params + ids)

    def update_result(self, res, **changes):
        """Write ``changes`` to a result if its changed fields (and, for a
        timeout, its deadline) are still what we read; True if written."""
        cond = ["id = %s"]
        params = list(changes.values())
        args = [res.id]
        for f in changes:
            cond.append("%s = %%s" % f)
            args.append(getattr(res, f))
        if "server_state" in changes and res.server_state == S.RESULT_SERVER_STATE_IN_PROGRESS:
            cond.append("report_deadline = %s")
            args.append(res.report_deadline)
        n = self.db.execute("UPDATE result SET %s WHERE %s"
                            % (", ".join("%s = %%s" % f for f in changes), " AND ".join(cond)),
                            params + args)
        for f, v in changes.items():
            setattr(res, f, v)
        return n == 1

    # -- one workunit
    def handle_wu(self, wu, batch):
        now = int(time.time())
        log = self.log
        tag = "[WU#%d %s]" % (wu.id, wu.name)
        orig = {f: getattr(wu, f) for f in WU_CHANGEABLE}
        results = wu.results
        cfg = self.config

        canonical = None
        if wu.canonical_resultid:
            for res in results:
                if res.id == wu.canonical_resultid:
                    canonical = res
            if canonical is None:
                log.critical("%s can't find canonical result", tag)
        canonical_files_deleted = (canonical is not None and
                                   canonical.file_delete_state == S.FILE_DELETE_DONE)

        ntotal = nunsent = ninprogress = nover = nerrors = nsuccess = 0
        ncouldnt_send = nno_reply = ndidnt_need = 0
        new_to_validate = False
        stale = False
        max_suffix = -1
        for res in results:
            ntotal += 1
            max_suffix = max(max_suffix, result_suffix(res.name))
            rtag = "%s [RESULT#%d %s]" % (tag, res.id, res.name)
            state = res.server_state
            if state in (S.RESULT_SERVER_STATE_INACTIVE, S.RESULT_SERVER_STATE_UNSENT):
                nunsent += 1
            elif state == S.RESULT_SERVER_STATE_IN_PROGRESS:
                if res.report_deadline < now:
                    log.normal("%s result timed out (%d < %d) server_state:IN_PROGRESS=>OVER;"
                               " outcome:NO_REPLY", rtag, res.report_deadline, now)
                    if self.update_result(res, server_state=S.RESULT_SERVER_STATE_OVER,
                                          outcome=S.RESULT_OUTCOME_NO_REPLY):
                        self.result_timed_out(res, wu)
                    else:
                        stale = self.changed_meanwhile(rtag)
                    nover += 1
                    nno_reply += 1
                else:
                    ninprogress += 1
            elif state == S.RESULT_SERVER_STATE_OVER:
                nover += 1
                outcome = res.outcome
                if outcome == S.RESULT_OUTCOME_COULDNT_SEND:
                    log.normal("%s result couldn't be sent", rtag)
                    ncouldnt_send += 1
                elif outcome == S.RESULT_OUTCOME_SUCCESS:
                    if res.validate_state == S.VALIDATE_STATE_INIT:
                        if canonical_files_deleted:
                            if self.update_result(res,
                                                  validate_state=S.VALIDATE_STATE_TOO_LATE):
                                log.normal("%s validate_state:INIT=>TOO_LATE", rtag)
                            else:
                                stale = self.changed_meanwhile(rtag)
                        else:
                            new_to_validate = True
                    if res.validate_state != S.VALIDATE_STATE_INVALID:
                        nsuccess += 1       # invalid results don't count
                elif outcome == S.RESULT_OUTCOME_CLIENT_ERROR:
                    # aborted by the volunteer: not the job's fault
                    if res.exit_status == S.EXIT_ABORTED_VIA_GUI:
                        nno_reply += 1
                    else:
                        nerrors += 1
                elif outcome == S.RESULT_OUTCOME_VALIDATE_ERROR:
                    nerrors += 1
                elif outcome in (S.RESULT_OUTCOME_CLIENT_DETACHED, S.RESULT_OUTCOME_NO_REPLY):
                    nno_reply += 1
                elif outcome == S.RESULT_OUTCOME_DIDNT_NEED:
                    ndidnt_need += 1
        if stale:
            return self.look_again(wu, orig, batch, now)

        log.debug("%s %d results: unsent %d, in_progress %d, over %d (success %d, error %d,"
                  " couldnt_send %d, no_reply %d, didnt_need %d)", tag, ntotal, nunsent,
                  ninprogress, nover, nsuccess, nerrors, ncouldnt_send, nno_reply, ndidnt_need)

        if new_to_validate and nsuccess >= wu.min_quorum:
            wu.need_validate = 1
            log.normal("%s need_validate:=>true", tag)

        if ncouldnt_send > 0:
            wu.error_mask |= S.WU_ERROR_COULDNT_SEND_RESULT

        # only errors, nothing that might still succeed: let other platforms
        # (homogeneous redundancy class, app version) have a go
        if nerrors and not (nsuccess or ninprogress or nno_reply) and not cfg.hr_class_static:
            wu.hr_class = 0
            wu.app_version_id = 0

        if nerrors > wu.max_error_results:
            log.normal("%s WU has too many errors (%d errors for %d results)",
                       tag, nerrors, ntotal)
            wu.error_mask |= S.WU_ERROR_TOO_MANY_ERROR_RESULTS

        needed = max(0, wu.target_nresults - nunsent - ninprogress - nsuccess)
        allowed = wu.max_total_results - ntotal
        if allowed < 0 or (allowed == 0 and needed > 0):
            log.normal("%s WU has too many total results (%d)", tag, ntotal)
            log.normal("   target_nresults=%d nunsent=%d ninprogress=%d nsuccess=%d "
                       "new_needed=%d new_allowed=%d", wu.target_nresults, nunsent,
                       ninprogress, nsuccess, needed, allowed)
            wu.error_mask |= S.WU_ERROR_TOO_MANY_TOTAL_RESULTS
        elif allowed > 0:
            needed = min(needed, allowed)

        if wu.error_mask:
            # no more sending; whatever succeeded won't be checked
            for res in results:
                rtag = "%s [RESULT#%d %s]" % (tag, res.id, res.name)
                if res.server_state in (S.RESULT_SERVER_STATE_INACTIVE,
                                        S.RESULT_SERVER_STATE_UNSENT):
                    log.normal("%s server_state:UNSENT=>OVER; outcome:=>DIDNT_NEED", rtag)
                    if not self.update_result(res, server_state=S.RESULT_SERVER_STATE_OVER,
                                              outcome=S.RESULT_OUTCOME_DIDNT_NEED):
                        stale = self.changed_meanwhile(rtag)
                elif (res.server_state == S.RESULT_SERVER_STATE_OVER
                      and res.outcome == S.RESULT_OUTCOME_SUCCESS
                      and res.validate_state in (S.VALIDATE_STATE_INIT,
                                                 S.VALIDATE_STATE_INCONCLUSIVE)):
                    if not self.update_result(res, validate_state=S.VALIDATE_STATE_NO_CHECK):
                        stale = self.changed_meanwhile(rtag)
            if stale:
                return self.look_again(wu, orig, batch, now)
            if wu.assimilate_state == S.ASSIMILATE_INIT:
                wu.assimilate_state = S.ASSIMILATE_READY
                log.normal("%s error_mask:%d assimilate_state:INIT=>READY", tag, wu.error_mask)
        elif (wu.canonical_resultid == 0 and needed > 0
              and wu.transitioner_flags != S.TRANSITION_NO_NEW_RESULTS):
            log.normal("%s Generating %d more results (%d target - %d unsent - %d in progress"
                       " - %d success)", tag, needed, wu.target_nresults, nunsent,
                       ninprogress, nsuccess)
            increase = 0
            if nover and cfg.reliable_priority_on_over:
                increase = cfg.reliable_priority_on_over
            elif nover and not nerrors and cfg.reliable_priority_on_over_except_error:
                increase = cfg.reliable_priority_on_over_except_error
            try:
                template = read_template(self.maker.template_path(wu))
                rows = [self.maker.row(wu, max_suffix + 1 + j, increase, now, template)
                        for j in range(needed)]
            except TemplateError as exc:
                # as BOINC: what breaks one WU's results may break them all
                raise BoincError("%s create_result_ti(): %s" % (tag, exc)) from None
            batch.new_results += rows

        # all over and validated: nothing out there, nothing left to check
        all_over_and_validated = True
        ready_to_assimilate = True
        last_received = 0
        for res in results:
            if res.server_state == S.RESULT_SERVER_STATE_OVER:
                last_received = max(last_received, res.received_time)
                if res.outcome == S.RESULT_OUTCOME_SUCCESS:
                    if res.validate_state == S.VALIDATE_STATE_INIT:
                        all_over_and_validated = ready_to_assimilate = False
                elif res.outcome == S.RESULT_OUTCOME_NO_REPLY:
                    if now < res.report_deadline:
                        all_over_and_validated = False
            else:
                all_over_and_validated = ready_to_assimilate = False

        # assimilation deferred until every result is in
        if (ready_to_assimilate and wu.assimilate_state == S.ASSIMILATE_INIT
                and wu.canonical_resultid > 0):
            wu.assimilate_state = S.ASSIMILATE_READY
            log.normal("%s Deferred assimilation now set to ASSIMILATE_STATE_READY", tag)

        deferred_delete = 0
        if wu.assimilate_state == S.ASSIMILATE_DONE:
            if now >= last_received + cfg.delete_delay:
                if all_over_and_validated and wu.file_delete_state == S.FILE_DELETE_INIT:
                    wu.file_delete_state = S.FILE_DELETE_READY
                    log.debug("%s ASSIMILATE_DONE: file_delete_state:=>READY", tag)
                # errors' output can go now, successes' once checked; the
                # canonical result's only when nothing is left to compare with it
                for res in results:
                    if res is canonical and not all_over_and_validated:
                        continue
                    if res.outcome == S.RESULT_OUTCOME_CLIENT_ERROR:
                        delete = True
                    elif res.outcome == S.RESULT_OUTCOME_SUCCESS:
                        delete = res.validate_state != S.VALIDATE_STATE_INIT
                    else:
                        delete = False
                    if delete and res.file_delete_state == S.FILE_DELETE_INIT:
                        log.normal("%s [RESULT#%d %s] file_delete_state:=>READY",
                                   tag, res.id, res.name)
                        res.file_delete_state = S.FILE_DELETE_READY
                        batch.file_delete_ids.append(res.id)
            else:
                deferred_delete = last_received + cfg.delete_delay
                log.debug("%s deferring file deletion for %.0f seconds",
                          tag, deferred_delete - now)

        # next look: never for a finished WU, else a safety net, brought
        # forward to the first deadline and the deferred deletion
        if wu.canonical_resultid or wu.error_mask:
            transition_time = S.INT_MAX
        else:
            transition_time = now + max(TEN_DAYS, int(1.5 * wu.delay_bound))
        for res in results:
            if res.server_state == S.RESULT_SERVER_STATE_IN_PROGRESS:
                transition_time = min(transition_time, res.report_deadline)
        if deferred_delete and deferred_delete < transition_time:
            transition_time = int(deferred_delete)
        # behind schedule: back off twice as long as we are late (1 min .. 1 day)
        if transition_time < now:
            extra = min(max(2 * (now - transition_time), 60), 86400)
            log.debug("%s transition time in past: adding extra delay %d sec", tag, extra)
            transition_time = now + extra
        wu.transition_time = transition_time
        log.debug("%s setting transition_time to %d", tag, transition_time)
        batch.wu_updates.append((wu, orig))

    def changed_meanwhile(self, rtag):
        self.log.normal("%s changed meanwhile (scheduler?); will look again", rtag)
        return True

    def look_again(self, wu, orig, batch, now):
        """Our picture of the WU is stale: change nothing, look again soon."""
        for f in WU_CHANGEABLE:
            setattr(wu, f, orig[f])
        wu.transition_time = now
        batch.wu_updates.append((wu, orig))

    def result_timed_out(self, res, wu):
        """Penalise the host's record for this app version (BOINC's rules)."""
        gavid = S.generalized_app_version_id(res.app_version_id, wu.appid)
        try:
            hav = hav_lookup(self.db, res.hostid, gavid)
        except LookupError as exc:
            self.log.normal("result_timed_out(): hav_lookup failed: %s", exc)
            return
        n, avg, var, q = update_var(hav["turnaround_n"], hav["turnaround_avg"],
                                    hav["turnaround_var"], hav["turnaround_q"],
                                    float(wu.delay_bound))
        quota = self.config.daily_result_quota
        old = hav["max_jobs_per_day"]
        if self.config.debug_quota:
            new = max(1, min(old or quota, quota) - 1)
            self.log.normal("[quota] max_jobs_per_day for %d; %d->%d", gavid, old, new)
        # the quota is worked out in the UPDATE: the scheduler and validator
        # change it too
        self.db.execute(
            "UPDATE host_app_version SET turnaround_n = %s, turnaround_avg = %s, "
            "turnaround_var = %s, turnaround_q = %s, max_jobs_per_day = GREATEST(1, "
            "LEAST(IF(max_jobs_per_day = 0, %s, max_jobs_per_day), %s) - 1), "
            "consecutive_valid = 0 WHERE host_id = %s AND app_version_id = %s",
            (n, avg, var, q, quota, quota, res.hostid, gavid))


def main(argv=None):
    return Transitioner().main(argv)


def run():
    Transitioner.run()
