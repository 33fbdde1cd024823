"""Putting jobs in: workunit rows from input templates (BOINC's backend_lib).

:func:`create_work` makes one job; :class:`WorkCreator` makes many, with
multi-row INSERTs, in one transaction.  Both are what ``bin/create_work`` runs
and what remote job submission will call.  A job is all or nothing: every
check (template, input files, parameters, name) passes before a row is
written, and input files copied into the hierarchy for a job that then fails
are taken back.

Also here: cancelling jobs (``bin/cancel_jobs``).
"""

import operator
import os
import re
import sys
import time
from dataclasses import dataclass, field, fields

from . import states
from .db import DatabaseError
from .errors import BoincError
from .input_template import InputTemplate, sub_appname_xml
from .stage import InputFiles

# Defaults for a new job when neither the command line nor the template says
# (tools/backend_lib.h).
DEFAULT_RSC_FPOPS_EST = 3600e9
DEFAULT_RSC_FPOPS_BOUND = 86400e9
DEFAULT_RSC_MEMORY_BOUND = 5e8
DEFAULT_RSC_DISK_BOUND = 1e9
DEFAULT_DELAY_BOUND = 7 * 86400

# A multi-row INSERT is flushed at about this many bytes (max_allowed_packet
# is at least 1 MB on any MariaDB/MySQL a BOINC project runs).
INSERT_BYTES = 900_000
# Names are checked against the DB this many jobs at a time.
CHUNK_JOBS = 1000


class WorkError(BoincError):
    """A job can't be created as asked."""


@dataclass
class Workunit:
    """A ``workunit`` row, with BOINC's defaults for a new job."""
    id: int = 0
    create_time: int = 0
    appid: int = 0
    name: str = ""
    xml_doc: str = ""
    batch: int = 0
    rsc_fpops_est: float = DEFAULT_RSC_FPOPS_EST
    rsc_fpops_bound: float = DEFAULT_RSC_FPOPS_BOUND
    rsc_memory_bound: float = DEFAULT_RSC_MEMORY_BOUND
    rsc_disk_bound: float = DEFAULT_RSC_DISK_BOUND
    need_validate: int = 0
    canonical_resultid: int = 0
    canonical_credit: float = 0.0
    transition_time: int = 0
    delay_bound: int = DEFAULT_DELAY_BOUND
    error_mask: int = 0
    file_delete_state: int = 0
    assimilate_state: int = 0
    hr_class: int = 0
    opaque: float = 0.0
    min_quorum: int = 1
    target_nresults: int = 1
    max_error_results: int = 1
    max_total_results: int = 1
    max_success_results: int = 1
    result_template_file: str = ""
    priority: int = 0
    rsc_bandwidth_bound: float = 0.0
    fileset_id: int = 0
    app_version_id: int = 0
    transitioner_flags: int = 0
    size_class: int = -1
    keywords: str = ""
    app_version_num: int = 0


# Columns we write, in schema order (mod_time takes its default).
WU_COLUMNS = tuple(f.name for f in fields(Workunit) if f.name != "id")
_WU_DEFAULTS = {f.name: f.default for f in fields(Workunit)}


@dataclass
class Assignment:
    """An ``assignment`` row: a targeted (multi=0) or broadcast (multi=1) job."""
    target_type: int = states.ASSIGN_NONE
    target_id: int = 0
    multi: bool = False


@dataclass
class Job:
    """Everything create_work needs for one job."""
    wu: Workunit
    template: InputTemplate
    infiles: list = field(default_factory=list)      # InputFile
    result_template_file: str = ""                   # as stored, relative to the project
    command_line: str = ""
    sub_appname: str = ""
    assignment: Assignment = None
    label: str = ""                                  # names the job in messages


def default_wu_name(appname):
    """BOINC's name for an unnamed job: ``APP_<pid>_<time %f>``."""
    return "%s_%d_%f" % (appname, os.getpid(), time.time())


def find_app(db, name):
    """The app row called ``name``."""
    app = db.query_one("SELECT * FROM app WHERE name = %s", (name,))
    if app is None:
        raise WorkError("app not found: no app named '%s' in the database "
                        "(add it to project.xml and run bin/xadd)" % name)
    return app


_BAD_WU_NAME = re.compile(r"[/\\<>&\x00-\x1f\x7f]|^$")


def check_wu_name(name):
    """Job names become result and output file names: keep them file-name safe."""
    if _BAD_WU_NAME.search(name):
        raise WorkError("bad workunit name %r: no '/', '\\', control characters "
                        "or any of <>& allowed" % name)


def _name_key(name):
    # The unique index on workunit.name is case-insensitive and ignores
    # trailing spaces (utf8mb4_unicode_ci, PAD SPACE).
    return name.rstrip(" ").casefold()


def validate(wu):
    """BOINC's checks of a job's parameters (create_work2), same messages."""
    for column in ("rsc_fpops_est", "rsc_fpops_bound", "rsc_disk_bound",
                   "target_nresults", "max_error_results", "max_total_results",
                   "max_success_results"):
        if getattr(wu, column) == 0:
            raise WorkError("no %s given; can't create job" % column)
    if wu.max_success_results > wu.max_total_results:
        raise WorkError("max_success_results > max_total_results; can't create job")
    if wu.max_error_results > wu.max_total_results:
        raise WorkError("max_error_results > max_total_results; can't create job")
    if wu.target_nresults > wu.max_success_results:
        raise WorkError("target_nresults %d > max_success_results %d; can't create job"
                        % (wu.target_nresults, wu.max_success_results))


class WorkCreator:
    """Makes workunits for one project; remembers what can be done once.

    ``warn`` gets warnings (default: stderr); ``notify`` gets the lines BOINC's
    create_work prints on stdout (``copy X to Y``), default: dropped.
    """

    def __init__(self, db, cfg, warn=None, notify=None, files=None):
        self.db = db
        self.cfg = cfg
        self.warn = warn or (lambda m: sys.stderr.write(m + "\n"))
        self.files = files or InputFiles(cfg, self.warn, notify)
        self._templates_checked = set()
        self._columns = None

    # -- preparing one job (no DB writes)

    def _check_result_template(self, relpath):
        if relpath in self._templates_checked:
            return
        path = self.cfg.project_path(relpath)
        if not os.path.isfile(path):
            raise WorkError("result template file %s doesn't exist" % path)
        if len(relpath) > 63:
            raise WorkError("result template filename is too big: %d bytes, max is 63"
                            % len(relpath))
        self._templates_checked.add(relpath)

    def columns(self):
        """The workunit columns this database has (older schemas lack a few)."""
        if self._columns is None:
            have = {r[0] for r in self.db.rows("SHOW COLUMNS FROM workunit")}
            self._columns = tuple(c for c in WU_COLUMNS if c in have)
            self._missing = tuple(c for c in WU_COLUMNS if c not in have)
        return self._columns

    def prepare(self, job, now=None):
        """Fill in ``job.wu`` (xml_doc, parameters, times); raise if it can't be made."""
        wu = job.wu
        check_wu_name(wu.name)
        wu.xml_doc = job.template.expand(job.infiles, self.files, job.command_line,
                                         sub_appname_xml(job.sub_appname))
        job.template.apply_params(wu)
        self._check_result_template(job.result_template_file)
        wu.result_template_file = job.result_template_file
        validate(wu)
        if job.assignment is not None:
            wu.transitioner_flags = (states.TRANSITION_NONE if job.assignment.multi
                                     else states.TRANSITION_NO_NEW_RESULTS)
        now = int(time.time()) if now is None else now
        wu.create_time = now
        wu.transition_time = states.INT_MAX if wu.transitioner_flags else now
        self.columns()
        for column in self._missing:
            if getattr(wu, column) != _WU_DEFAULTS[column]:
                raise WorkError("the workunit table of this database has no column %s "
                                "(its schema predates it); can't set it" % column)
        return wu

    # -- writing

    def _row(self, wu):
        return tuple(getattr(wu, c) for c in self._columns)

    def _values(self, wus):
        """``(name, xml_doc, ...)`` value lists, as SQL, about INSERT_BYTES at a time.

        Only name and xml_doc differ from job to job in a typical batch; the
        other values are quoted (by the driver) once per distinct combination
        instead of once per job and column.
        """
        cols = [c for c in self._columns if c not in ("name", "xml_doc")]
        literal = self.db.literal
        values_of = operator.attrgetter(*cols)
        fragments = {}
        batch, size = [], 0
        for wu in wus:
            key = values_of(wu)
            rest = fragments.get(key)
            if rest is None:
                rest = fragments[key] = b"," + b",".join(literal(v) for v in key) + b")"
            row = b"(" + literal(wu.name) + b"," + literal(wu.xml_doc) + rest
            batch.append(row)
            size += len(row)
            if size >= INSERT_BYTES:
                yield b",".join(batch)
                batch, size = [], 0
        if batch:
            yield b",".join(batch)

    def _insert_rows(self, wus):
        """Multi-row INSERTs, each sent without waiting for the one before:
        the server stores a batch while we prepare the next (:meth:`_wait`)."""
        cols = [c for c in self._columns if c not in ("name", "xml_doc")]
        head = ("INSERT INTO workunit (name,xml_doc,%s) VALUES " % ",".join(cols)).encode()
        for values in self._values(wus):
            self._wait()
            try:
                self.db.send(head + values)
            except DatabaseError as exc:
                raise self._db_error(exc) from None

    def _wait(self):
        """Collect the result of an INSERT still in flight (errors surface here)."""
        try:
            self.db.outcome()
        except DatabaseError as exc:
            raise self._db_error(exc) from None

    def _drain(self):
        try:
            self._wait()
        except BoincError:
            pass

    def _db_error(self, exc):
        dup = _duplicate_name(str(exc))
        if dup is not None:
            label = self._seen.get(_name_key(dup))
            return WorkError("%sa workunit named '%s' already exists"
                             % (label + ": " if label else "", dup))
        return exc

    def _insert_one(self, wu, assignment):
        cols = self._columns
        try:
            if wu.id:
                if not self.db.scalar("SELECT id FROM workunit WHERE id = %s", (wu.id,)):
                    raise WorkError("no workunit with id %d to fill in (--wu_id)" % wu.id)
                self.db.execute("UPDATE workunit SET %s WHERE id = %%s"
                                % ", ".join("%s = %%s" % c for c in cols),
                                self._row(wu) + (wu.id,))
            else:
                wu.id = self.db.insert("INSERT INTO workunit (%s) VALUES (%s)"
                                       % (",".join(cols), ",".join(["%s"] * len(cols))),
                                       self._row(wu))
        except DatabaseError as exc:
            if _duplicate_name(str(exc)) == wu.name:
                raise WorkError("a workunit named '%s' already exists" % wu.name) from None
            raise
        if assignment is not None:
            self.db.execute(
                "INSERT INTO assignment (create_time, target_id, target_type, multi, "
                "workunitid, resultid) VALUES (%s, %s, %s, %s, %s, 0)",
                (int(time.time()), assignment.target_id, assignment.target_type,
                 int(bool(assignment.multi)), wu.id))

    def _fill_ids(self, jobs):
        by_name = {_name_key(j.wu.name): j.wu for j in jobs}
        rows = self.db.rows("SELECT id, name FROM workunit WHERE name IN (%s)"
                            % ",".join(["%s"] * len(jobs)), [j.wu.name for j in jobs])
        for wu_id, name in rows:
            by_name[_name_key(name)].id = wu_id

    def _existing_names(self, names):
        found = set()
        names = list(names)
        for i in range(0, len(names), CHUNK_JOBS):
            part = names[i:i + CHUNK_JOBS]
            rows = self.db.rows("SELECT name FROM workunit WHERE name IN (%s)"
                                % ",".join(["%s"] * len(part)), part)
            found.update(_name_key(r[0]) for r in rows)
        return found

    def create(self, job):
        """Create one job (a row, maybe an assignment) in one transaction."""
        self.create_many([job], want_ids=True)
        return job.wu

    def create_many(self, jobs, continue_on_error=False, on_error=None, progress=None,
                    want_ids=False):
        """Create many jobs; rows go in with multi-row INSERTs in one transaction.

        Without ``continue_on_error`` the first bad job raises and nothing is
        created (rows rolled back, copied input files removed); a name already
        in the DB shows as the INSERT's duplicate-key error.  With it, names
        are looked up first, a bad job is reported through ``on_error(job,
        exc)`` and skipped, and the others are created.  With ``want_ids``
        each created job's ``wu.id`` is filled in (one more query per chunk).
        Returns a :class:`CreateReport`.
        """
        report = CreateReport()
        self._seen = {}
        start_mark = self.files.mark()
        try:
            self.columns()
            with self.db.transaction():
                try:
                    for chunk in _chunks(jobs, CHUNK_JOBS):
                        self._create_chunk(chunk, report, continue_on_error, on_error,
                                           progress, want_ids)
                    self._wait()
                except BaseException:
                    self._drain()
                    raise
        except BaseException:
            self.files.discard(start_mark)
            raise
        return report

    def _create_chunk(self, chunk, report, continue_on_error, on_error, progress, want_ids):
        seen = self._seen
        in_db = set()
        if continue_on_error:
            self._wait()
            in_db = self._existing_names(j.wu.name for j in chunk if not j.wu.id)
        bulk, single = [], []
        for job in chunk:
            mark = self.files.mark()
            try:
                key = _name_key(job.wu.name)
                if not job.wu.id and key in in_db:
                    raise WorkError("a workunit named '%s' already exists" % job.wu.name)
                if key in seen:
                    raise WorkError("workunit name '%s' given twice (also %s)"
                                    % (job.wu.name, seen[key] or "an earlier job"))
                self.prepare(job)
            except (BoincError, OSError) as exc:
                exc = _as_boinc_error(exc)
                if job.label:
                    exc = type(exc)("%s: %s" % (job.label, exc))
                if not continue_on_error:
                    raise exc from None
                self.files.discard(mark)
                report.failures.append((job, exc))
                if on_error:
                    on_error(job, exc)
                continue
            seen[key] = job.label
            (single if job.assignment is not None or job.wu.id else bulk).append(job)
        if bulk:
            self._insert_rows(j.wu for j in bulk)
            if want_ids:
                self._wait()
                self._fill_ids(bulk)
                report.jobs.extend(bulk)
        if single:
            self._wait()
            for job in single:
                try:
                    self._insert_one(job.wu, job.assignment)
                except WorkError as exc:
                    raise type(exc)("%s: %s" % (job.label, exc) if job.label else str(exc)) \
                        from None
        report.created += len(bulk) + len(single)
        report.jobs.extend(single)
        if progress is not None:
            progress.advance(len(chunk))


_DUPLICATE = re.compile(r"Duplicate entry '(.*)' for key '(?:workunit\.)?name'")


def _duplicate_name(text):
    m = _DUPLICATE.search(text)
    return m.group(1) if m else None


@dataclass
class CreateReport:
    created: int = 0
    failures: list = field(default_factory=list)   # (job, error)
    jobs: list = field(default_factory=list)       # created jobs whose wu.id is known


def _as_boinc_error(exc):
    if isinstance(exc, BoincError):
        return exc
    return WorkError("%s%s" % (exc.strerror or exc, ": %s" % exc.filename if exc.filename else ""))


def _chunks(iterable, n):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def create_work(db, cfg, app, wu, template, infiles=(), result_template_file=None,
                command_line="", sub_appname="", assignment=None, warn=None, notify=None):
    """Create one job of ``app`` (an app row or name); return its Workunit (id set).

    ``wu``: a :class:`Workunit` with the caller's values (name, limits...); the
    template's ``<workunit>`` values win over them.  ``template``: an
    :class:`InputTemplate`, or the path of one.  ``result_template_file``
    defaults to ``templates/APP_out`` (relative to the project directory).
    """
    if isinstance(app, str):
        app = find_app(db, app)
    if not isinstance(template, InputTemplate):
        template = InputTemplate.from_file(template, warn=warn)
    wu.appid = app["id"]
    if not wu.name:
        wu.name = default_wu_name(app["name"])
    job = Job(wu=wu, template=template, infiles=list(infiles),
              result_template_file=result_template_file or "templates/%s_out" % app["name"],
              command_line=command_line, sub_appname=sub_appname, assignment=assignment)
    return WorkCreator(db, cfg, warn=warn, notify=notify).create(job)


# ---------------------------------------------------------------- cancelling

def _cancel(db, wu_where, result_where, args):
    """Cancel the workunits matching ``wu_where``: their unsent results become
    OVER/DIDNT_NEED, the WU gets WU_ERROR_CANCELLED and transition_time=now.
    Returns (workunits, results) changed."""
    now = int(time.time())
    with db.transaction():
        nresults = db.execute(
            "UPDATE result SET server_state = %%s, outcome = %%s "
            "WHERE server_state <= %%s AND %s" % result_where,
            (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_DIDNT_NEED,
             states.RESULT_SERVER_STATE_UNSENT) + tuple(args))
        nwus = db.execute(
            "UPDATE workunit SET error_mask = error_mask | %%s, transition_time = %%s "
            "WHERE %s" % wu_where, (states.WU_ERROR_CANCELLED, now) + tuple(args))
    return nwus, nresults


def cancel_jobs(db, min_id, max_id):
    """Cancel the workunits with ids from min_id to max_id inclusive."""
    return _cancel(db, "id >= %s AND id <= %s", "workunitid >= %s AND workunitid <= %s",
                   (min_id, max_id))


def cancel_job(db, wu_id):
    """Cancel one workunit."""
    return _cancel(db, "id = %s", "workunitid = %s", (wu_id,))


def cancel_batch(db, batch):
    """Cancel every workunit of a batch."""
    return _cancel(db, "batch = %s",
                   "workunitid IN (SELECT id FROM workunit WHERE batch = %s)", (batch,))
