"""submit_batch and estimate_batch: a batch description into jobs.

The request's ``<batch>`` (app, optional existing batch, priority,
templates, ``<job_params>``) and its ``<job>`` elements become workunits
through :class:`sched.work.WorkCreator`, in one transaction.  Input files:

* ``local_staged`` -- a file already in the download hierarchy (by name);
* ``inline`` -- the contents, staged as ``jf_<md5>``;
* ``sandbox`` -- a file of the submitter's sandbox (``sandbox/USERID/``),
  staged as ``jf_<md5>``;
* ``remote`` -- a URL with its size and md5, fetched by the clients.

A file named ``jf_<md5>`` is used only if its contents have that md5.
Everything is checked before anything is written; if a job can't be made
there is no new batch, job or staged file afterwards.
"""

import hashlib
import os
import re

from lxml import etree

from .. import states as S
from ..errors import BoincError
from ..input_template import InputFile, InputTemplate
from ..stage import (MD5_SUFFIX, StageError, check_name, format_md5_info, md5_file,
                     read_md5_info)
from ..work import Assignment, Job, WorkCreator, Workunit, default_wu_name
from . import JOB_FILE_PREFIX, auth, batches, job_file_name, max_file_bytes
from .common import SubmitError, flag_of, float_of, has, int_of, text_of

_MD5 = re.compile(r"[0-9a-f]{32}\Z")
MODES = ("local_staged", "inline", "sandbox", "remote")
REFUSED_MODES = {
    "local": "the server reads no path a submitter names; upload the file "
             "(upload_files) and use local_staged",
    "semilocal": "the server fetches no URL a submitter names; upload the file "
                 "(upload_files) and use local_staged, or use remote",
}
# <job_params> children: BOINC's, then (ours) the quorum and error limits.
FLOAT_PARAMS = ("rsc_disk_bound", "rsc_fpops_est", "rsc_fpops_bound", "rsc_memory_bound")
INT_PARAMS = ("delay_bound", "min_quorum", "target_nresults", "max_error_results",
              "max_total_results", "max_success_results")
OUTPUT_TEMPLATE_DIR = os.path.join("templates", "tmp")


def app_of(db, name):
    app = db.query_one("SELECT * FROM app WHERE name = %s", (name,))
    if app is None:
        raise SubmitError("app not found: %s" % name)
    return app


def _template_name(name, what):
    """A batch-level template file name: a plain name in templates/."""
    try:
        check_name(name)
    except StageError:
        raise SubmitError("bad %s %r: a file name in the project's templates/ is needed"
                          % (what, name)) from None
    return os.path.join("templates", name)


def batch_template(cfg, app, batch_elem):
    """The batch's input template: <input_template_filename>, else templates/APP_in.

    None when there is no such file (BOINC's read_input_template); then every
    job must bring its own.
    """
    name = text_of(batch_elem, "input_template_filename") or \
        text_of(batch_elem, "workunit_template_file")
    rel = _template_name(name, "input template") if name else \
        os.path.join("templates", "%s_in" % app["name"])
    path = cfg.project_path(rel)
    if not os.path.isfile(path):
        if name:
            raise SubmitError("input template %s doesn't exist" % rel)
        return None
    try:
        return InputTemplate.from_file(path, rel)
    except BoincError as exc:
        raise SubmitError("couldn't parse input template file %s: %s" % (rel, exc)) from None


# ------------------------------------------------------------ reading jobs

class JobDesc:
    """One <job> of the request."""

    def __init__(self, elem, index):
        self.index = index
        self.name = text_of(elem, "name")
        self.command_line = text_of(elem, "command_line")
        self.rsc_fpops_est = float_of(elem, "rsc_fpops_est")
        self.priority = int_of(elem, "priority", None)
        self.target = None
        for tag, kind in (("target_team", S.ASSIGN_TEAM), ("target_user", S.ASSIGN_USER),
                          ("target_host", S.ASSIGN_HOST)):
            target_id = int_of(elem, tag)
            if target_id:
                self.target = (kind, target_id)
                break
        self.input_template = self._template(elem, "input_template")
        self.output_template = self._template(elem, "output_template")
        self.files = [self._file(f) for f in elem.findall("input_file")]

    def label(self):
        return "job %d%s" % (self.index, " (%s)" % self.name if self.name else "")

    @staticmethod
    def _template(elem, tag):
        child = elem.find(tag)
        if child is None:
            return None
        return etree.tostring(child, encoding="unicode", with_tail=False)

    def _file(self, f):
        mode = text_of(f, "mode")
        if mode in REFUSED_MODES:
            raise SubmitError("%s: input file mode %s is not allowed: %s"
                              % (self.label(), mode, REFUSED_MODES[mode]))
        if mode not in MODES:
            raise SubmitError("%s: unsupported file mode: %s" % (self.label(), mode))
        if mode == "remote":
            md5 = text_of(f, "md5").lower()
            nbytes = float_of(f, "nbytes")
            url = text_of(f, "url")
            if not url or not _MD5.match(md5) or nbytes <= 0:
                raise SubmitError("%s: a remote input file needs <url>, <nbytes> > 0 and "
                                  "<md5> (32 hex digits)" % self.label())
            return InputFile(url=url, nbytes=nbytes, md5=md5)
        source = f.findtext("source") or ""
        if mode != "inline":
            source = source.strip()
            if not source:
                raise SubmitError("%s: a %s input file needs <source>" % (self.label(), mode))
        return (mode, source)


def read_jobs(batch_elem):
    jobs = [JobDesc(j, i) for i, j in enumerate(batch_elem.findall("job"))]
    if not jobs:
        raise SubmitError("no jobs in batch")
    return jobs


# ------------------------------------------------------------ input files

class Stager:
    """Puts inline and sandbox inputs into the download hierarchy as jf_<md5>,
    checks the others, and takes back what it wrote if the submission fails."""

    def __init__(self, cfg, creator, user):
        self.cfg = cfg
        self.files = creator.files          # the WorkCreator's view of download/
        self.user = user
        self.limit = max_file_bytes(cfg)
        self.written = []

    def resolve(self, job, spec):
        if isinstance(spec, InputFile):
            return spec
        mode, source = spec
        try:
            if mode == "local_staged":
                return InputFile(name=self.staged(source))
            if mode == "inline":
                return InputFile(name=self.put_bytes(source.encode("utf-8")))
            return InputFile(name=self.from_sandbox(source))
        except (StageError, OSError) as exc:
            msg = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise SubmitError("%s: %s" % (job.label(), msg)) from None

    def staged(self, name):
        check_name(name)
        md5, _ = self.files.info(name)      # raises StageError if not staged
        check_content(name, md5)
        return name

    def _too_big(self, nbytes):
        if nbytes > self.limit:
            raise StageError("input file of %d bytes is larger than the limit of %d bytes "
                             "(config.xml <remote_submit_max_file_bytes>)" % (nbytes, self.limit))

    def put_bytes(self, data):
        self._too_big(len(data))
        md5 = hashlib.md5(data).hexdigest()
        name = job_file_name(md5)
        path = self.files.path(name)
        if not os.path.exists(path):
            tmp = "%s.tmp%d" % (path, os.getpid())
            with open(tmp, "wb") as f:
                f.write(data)
            self._place(tmp, path, md5, len(data))
        return self.staged(name)

    def from_sandbox(self, source):
        check_name(source)
        path = self.cfg.project_path("sandbox", str(self.user["id"]), source)
        if not os.path.isfile(path):
            raise StageError("sandbox file %s not found" % source)
        self._too_big(os.path.getsize(path))
        md5, nbytes = md5_file(path)
        name = job_file_name(md5)
        dest = self.files.path(name)
        if not os.path.exists(dest):
            tmp = "%s.tmp%d" % (dest, os.getpid())
            with open(path, "rb") as src, open(tmp, "wb") as out:
                while True:
                    block = src.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
            self._place(tmp, dest, md5, nbytes)
        return self.staged(name)

    def _place(self, tmp, path, md5, nbytes):
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        self.written.append(path)
        with open(path + MD5_SUFFIX, "w") as f:
            f.write(format_md5_info(md5, nbytes))

    def discard(self):
        for path in self.written:
            for p in (path, path + MD5_SUFFIX):
                try:
                    os.unlink(p)
                except OSError:
                    pass
        self.written = []


def check_content(name, md5):
    """A content-addressed name (jf_<md5>) must name those contents."""
    if name.startswith(JOB_FILE_PREFIX) and _MD5.match(name[len(JOB_FILE_PREFIX):]):
        if md5 != name[len(JOB_FILE_PREFIX):]:
            raise StageError("input file %s: its contents have md5 %s, not the one its "
                             "name says; upload it again" % (name, md5))


def verify_file(cfg, path, name):
    """md5 of a staged file, checked against a jf_ name (cache file first)."""
    info = read_md5_info(path, warn=lambda m: None) or md5_file(path)
    check_content(name, info[0])
    return info


# ------------------------------------------------------------ submitting

def _job_params(batch_elem):
    params = batch_elem.find("job_params")
    values = {}
    for tag in FLOAT_PARAMS:
        v = float_of(params, tag)
        if v:
            values[tag] = v
    for tag in INT_PARAMS:
        v = int_of(params, tag)
        if v:
            values[tag] = v
    return values


def batch_flops(jobs, template, job_params):
    """The batch's FLOP count: each job's estimate, else its template's, else the batch's."""
    total = 0.0
    for job in jobs:
        if job.rsc_fpops_est:
            total += job.rsc_fpops_est
            continue
        tmpl = InputTemplate(job.input_template, "job input template") \
            if job.input_template else template
        est = (tmpl.params.get("rsc_fpops_est") if tmpl is not None else 0) or \
            job_params.get("rsc_fpops_est", 0)
        if not est:
            raise SubmitError("no rsc_fpops_est given for %s" % job.label())
        total += est
    return total


def estimate(db, cfg, root):
    """estimate_batch: seconds the batch would take, by BOINC's crude rule."""
    batch_elem = root.find("batch")
    app = app_of(db, text_of(batch_elem, "app_name"))
    auth.check(db, root, app)
    jobs = read_jobs(batch_elem)
    template = batch_template(cfg, app, batch_elem)
    return batch_flops(jobs, template, _job_params(batch_elem)) / batches.project_flops(db)


class Submission:
    """One submit_batch request, carried out all or nothing."""

    def __init__(self, db, cfg, root):
        self.db, self.cfg, self.root = db, cfg, root
        self.batch_elem = root.find("batch")
        if self.batch_elem is None:
            raise SubmitError("no <batch> in request")
        self.app = app_of(db, text_of(self.batch_elem, "app_name"))
        self.user = auth.check(db, root, self.app)

    def run(self):
        b = self.batch_elem
        jobs = read_jobs(b)
        template = batch_template(self.cfg, self.app, b)
        job_params = _job_params(b)
        self._check_job_limit(len(jobs))
        existing = self._existing_batch()
        priority, let = None, 0.0
        if flag_of(b, "allocation_priority"):
            let = batches.allocation_end_time(self.db, self.user, self.app,
                                              batch_flops(jobs, template, job_params))
            priority = -int(let)
        elif has(b, "priority"):
            priority = int_of(b, "priority")
        result_template = self._result_template_name()
        creator = WorkCreator(self.db, self.cfg, warn=lambda m: None)
        stager = Stager(self.cfg, creator, self.user)
        batch_id = existing["id"] if existing else None
        try:
            prepared = [self._job(j, template, job_params, priority, result_template,
                                  stager) for j in jobs]
            if batch_id is None:
                batch_id = batches.create(self.db, self.user, self.app,
                                          text_of(b, "batch_name"), njobs=len(jobs),
                                          logical_end_time=let)
            for job in prepared:
                job.wu.batch = batch_id
            try:
                creator.create_many(prepared)
            except BoincError as exc:
                raise SubmitError("create_work failed: %s" % exc) from None
        except BaseException:
            stager.discard()
            if batch_id is not None and existing is None:
                self.db.execute("DELETE FROM batch WHERE id = %s AND state = %s",
                                (batch_id, S.BATCH_STATE_INIT))
            raise
        # IN_PROGRESS only now: before, the batch could look complete.
        self.db.execute("UPDATE batch SET njobs = %s, logical_end_time = %s, state = %s "
                        "WHERE id = %s", (len(jobs), let, S.BATCH_STATE_IN_PROGRESS, batch_id))
        return batch_id

    def _check_job_limit(self, n):
        us = auth.submitter(self.db, self.user)
        limit = us["max_jobs_in_progress"] if us else 0
        if not limit:
            return
        running = self.db.scalar(
            "SELECT count(*) FROM result JOIN batch ON result.batch = batch.id "
            "WHERE batch.user_id = %s AND result.server_state < %s",
            (self.user["id"], S.RESULT_SERVER_STATE_OVER))
        if running + n > limit:
            raise SubmitError("limit on jobs in progress exceeded")

    def _existing_batch(self):
        batch_id = int_of(self.batch_elem, "batch_id")
        if not batch_id:
            return None
        batch = batches.lookup(self.db, batch_id)
        if batch is None:
            raise SubmitError("no batch %d" % batch_id)
        auth.check_owner(batch, self.user)
        if batch["state"] != S.BATCH_STATE_INIT:
            raise SubmitError("batch not in init state")
        if batch["app_id"] != self.app["id"]:
            raise SubmitError("batch %d is for another app" % batch_id)
        return batch

    def _result_template_name(self):
        name = text_of(self.batch_elem, "output_template_filename") or \
            text_of(self.batch_elem, "result_template_file")
        if name:
            return _template_name(name, "output template")
        return os.path.join("templates", "%s_out" % self.app["name"])

    def _output_template(self, xml):
        """A job's own output template, kept as templates/tmp/<md5> for the job's life."""
        rel = os.path.join(OUTPUT_TEMPLATE_DIR, hashlib.md5(xml.encode()).hexdigest())
        path = self.cfg.project_path(rel)
        if not os.path.exists(path):
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = "%s.tmp%d" % (path, os.getpid())
                with open(tmp, "w") as f:
                    f.write(xml)
                os.replace(tmp, path)
            except OSError as exc:
                raise SubmitError("can't write output template %s: %s"
                                  % (rel, exc.strerror)) from None
        return rel

    def _job(self, desc, template, job_params, priority, result_template, stager):
        tmpl = template
        if desc.input_template:
            try:
                tmpl = InputTemplate(desc.input_template, "%s input template" % desc.label())
            except BoincError as exc:
                raise SubmitError(str(exc)) from None
            if "batch" in tmpl.params:
                raise SubmitError("%s: an input template may not set <batch>" % desc.label())
        if tmpl is None:
            raise SubmitError("%s: no input template (templates/%s_in is missing)"
                              % (desc.label(), self.app["name"]))
        if len(desc.files) != tmpl.n_var:
            raise SubmitError("wrong # of input files for job %d: need %d, got %d"
                              % (desc.index, tmpl.n_var, len(desc.files)))
        wu = Workunit(appid=self.app["id"], **job_params)
        wu.name = desc.name or "%s_%d" % (self._base_name(), desc.index)
        if desc.rsc_fpops_est:
            wu.rsc_fpops_est = desc.rsc_fpops_est
        wu.app_version_num = int_of(self.batch_elem, "app_version_num")
        wu.priority = desc.priority if desc.priority is not None else (priority or 0)
        if "max_error_results" in job_params and "max_total_results" not in job_params:
            # room for the retries asked for, on top of the quorum
            target = tmpl.params.get("target_nresults", wu.target_nresults)
            wu.max_total_results = max(wu.max_total_results,
                                       job_params["max_error_results"] + target)
        assignment = None
        if self.user["seti_id"]:
            assignment = Assignment(S.ASSIGN_USER, self.user["id"])
        elif desc.target is not None:
            assignment = Assignment(desc.target[0], desc.target[1])
        infiles = [stager.resolve(desc, f) for f in desc.files]
        rt = self._output_template(desc.output_template) if desc.output_template \
            else result_template
        return Job(wu=wu, template=tmpl, infiles=infiles, result_template_file=rt,
                   command_line=desc.command_line, assignment=assignment, label=desc.label())

    def _base_name(self):
        if not hasattr(self, "_base"):
            self._base = default_wu_name(self.app["name"])
        return self._base


def submit(db, cfg, root):
    return Submission(db, cfg, root).run()

