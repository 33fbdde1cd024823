"""Futures on top of the RPCs: submit jobs from Python and collect their outputs.

    with Client(url, authenticator) as c:
        futures = c.map("worker", [[b"one"], [b"two"]])
        for f in as_completed(futures):
            print(f.name, f.result())        # {open name: bytes}

A :class:`JobFuture` is a :class:`concurrent.futures.Future`, so
``as_completed``, ``wait``, ``result(timeout)``, ``exception()`` and done
callbacks work as usual.  One background thread per :class:`Client` polls
each batch that has unfinished futures (one query_batch per batch and
poll) and resolves a future when its job is done (with the output files
of its canonical instance) or has failed (:class:`JobFailed`).  Retries
are BOINC's: ``retries=N`` lets the server send a job again after up to N
failed instances (its error limits).
"""

import concurrent.futures
import io
import os
import threading
import zipfile

from .rpc import RemoteError, Server, job_file_name

# A job's status in query_batch's job details.
QUEUED, IN_PROGRESS, DONE, ERROR = "queued", "in_progress", "done", "error"
# How much to send in one upload_files request.
UPLOAD_CHUNK = 32 << 20


class JobFailed(Exception):
    """The job ended without a valid result (errors: BOINC's names, e.g. 'cancelled')."""

    def __init__(self, name, errors, exit_status=None):
        detail = ", ".join(errors) or "error"
        if exit_status is not None:
            detail += "; exit status %d" % exit_status
        super().__init__("job %s failed: %s" % (name, detail))
        self.name, self.errors, self.exit_status = name, list(errors), exit_status


class JobFuture(concurrent.futures.Future):
    """The future of one job; ``result()`` is ``{open name: bytes}`` of its outputs."""

    def __init__(self, client, batch, name, job_id):
        super().__init__()
        self.client, self.batch, self.name, self.job_id = client, batch, name, job_id
        self.status = QUEUED

    def cancel(self):
        """Abort the job on the server; False if it has already finished."""
        if self.done():
            return False
        try:
            self.client.server.abort_jobs([self.name])
        except RemoteError:
            if self.done():
                return False
            raise
        return super().cancel()

    def __repr__(self):
        return "<JobFuture %s %s>" % (self.name, "cancelled" if self.cancelled() else self.status)


class Progress(dict):
    """A batch's counts: njobs, done, failed, in_progress, queued, state, fraction_done."""

    __getattr__ = dict.__getitem__

    @property
    def finished(self):
        return self["done"] + self["failed"] >= self["njobs"]


class Batch:
    """A batch on the server, and the futures of its jobs."""

    STATES = {0: "new", 1: "in progress", 2: "completed", 3: "aborted", 4: "retired"}

    def __init__(self, client, batch_id, futures=()):
        self.client, self.id = client, batch_id
        self.futures = list(futures)

    def progress(self):
        info = self.client.server.query_batch(self.id, get_job_details=True)
        counts = {QUEUED: 0, IN_PROGRESS: 0, DONE: 0, ERROR: 0}
        for job in info["job"]:
            counts[job.get("status", QUEUED)] = counts.get(job.get("status", QUEUED), 0) + 1
        return Progress(njobs=info["njobs"], done=counts[DONE], failed=counts[ERROR],
                        in_progress=counts[IN_PROGRESS], queued=counts[QUEUED],
                        state=self.STATES.get(info["state"], str(info["state"])),
                        fraction_done=info["fraction_done"])

    def abort(self):
        self.client.server.abort_batch(self.id)

    def retire(self):
        self.client.server.retire_batch(self.id)

    def __repr__(self):
        return "<Batch %d: %d jobs>" % (self.id, len(self.futures))


def _content(item):
    """Input file contents: bytes or str as they are, an os.PathLike read from disk."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, os.PathLike):
        with open(item, "rb") as f:
            return f.read()
    raise TypeError("an input file is bytes, str (its contents) or a path (os.PathLike), "
                    "not %r" % type(item).__name__)


class Client:
    """Submit jobs to one project as one submitter, and follow them.

    ``poll_interval``: seconds between two looks at a batch's jobs.
    """

    def __init__(self, url, authenticator, poll_interval=5.0, timeout=60.0):
        self.server = Server(url, authenticator, timeout)
        self.poll_interval = poll_interval
        self._batches = {}               # id -> Batch with unresolved futures
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = None
        self.last_error = None           # the poller's last RemoteError, if any

    # -- submitting
    def submit(self, app, inputs=(), **kw):
        """One job of ``app`` with ``inputs`` (one item per input file of the
        app's template): its :class:`JobFuture`.  Keywords as :meth:`map`."""
        return self.map(app, [inputs], **kw)[0]

    def map(self, app, many_inputs, command_line=None, names=None, batch_name=None,
            retries=None, priority=None, rsc_fpops_est=None, delay_bound=None, **job_params):
        """A batch of jobs of ``app``, one per item of ``many_inputs``: their futures.

        ``command_line`` is one string or one per job; ``names`` the job
        names (default: the server's); ``retries`` how many failed instances
        the server replaces before the job fails; other keywords are
        ``<job_params>`` (rsc_memory_bound, max_error_results, ...).
        """
        many_inputs = [list(x) for x in many_inputs]
        if not many_inputs:
            return []
        contents = [[_content(i) for i in inputs] for inputs in many_inputs]
        self.upload([c for job in contents for c in job])
        if retries is not None:
            job_params.setdefault("max_error_results", max(int(retries), 1))
            if int(retries) == 0:
                job_params.setdefault("max_total_results", 1)
        if delay_bound is not None:
            job_params["delay_bound"] = delay_bound
        jobs = []
        for i, files in enumerate(contents):
            cl = command_line[i] if isinstance(command_line, (list, tuple)) else command_line
            jobs.append(dict(name=names[i] if names else None, command_line=cl,
                             rsc_fpops_est=rsc_fpops_est,
                             files=[job_file_name(data) for data in files]))
        batch_id = self.server.submit_batch(app, jobs, batch_name=batch_name,
                                            priority=priority, job_params=job_params)
        info = self.server.query_batch(batch_id)
        batch = Batch(self, batch_id)
        batch.futures = [JobFuture(self, batch, j["name"], j["id"]) for j in info["job"]]
        with self._lock:
            self._batches[batch_id] = batch
        self._start()
        return list(batch.futures)

    def upload(self, contents):
        """Make sure the server has these input files (content-addressed, md5-checked)."""
        files = {job_file_name(data): data for data in contents}
        names = list(files)
        absent = [names[i] for i in self.server.query_files(names)] if names else []
        chunk, size = {}, 0
        for name in absent:
            if chunk and size + len(files[name]) > UPLOAD_CHUNK:
                self.server.upload_files(chunk)
                chunk, size = {}, 0
            chunk[name] = files[name]
            size += len(files[name])
        if chunk:
            self.server.upload_files(chunk)

    def batches(self):
        """The submitter's batches on the server (query_batches), as dicts."""
        return self.server.query_batches()

    # -- collecting
    def outputs(self, future):
        """{open name: bytes} of a finished job's canonical instance."""
        name, data, ctype = self.server.download(cmd="workunit", wu_id=future.job_id)
        if "zip" in ctype:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return {n: z.read(n) for n in z.namelist()}
        instances = self.server.query_job(future.job_id)
        for inst in instances:
            prefix = inst["name"] + "__"
            if name.startswith(prefix):
                return {name[len(prefix):]: data}
        return {name: data}

    def poll(self):
        """Look at every batch with unfinished futures once; resolve what ended."""
        with self._lock:
            todo = list(self._batches.values())
        for batch in todo:
            info = self.server.query_batch(batch.id, get_job_details=True)
            jobs = {j["id"]: j for j in info["job"]}
            for f in batch.futures:
                job = jobs.get(f.job_id)
                if f.done() or job is None:
                    continue
                f.status = job.get("status", QUEUED)
                if f.status == DONE:
                    outputs = self.outputs(f)
                    if not f.done():
                        f.set_result(outputs)
                elif f.status == ERROR and not f.done():
                    f.set_exception(JobFailed(f.name, job.get("error", []),
                                              job.get("exit_status")))
            if all(f.done() for f in batch.futures):
                with self._lock:
                    self._batches.pop(batch.id, None)

    def _start(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pyboinc-poller",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self):
        while not self._closed:
            try:
                self.poll()
                self.last_error = None
            except RemoteError as exc:       # the server away for a while: try again
                self.last_error = exc
            with self._lock:
                if not self._batches:
                    self._thread = None
                    return
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def close(self):
        """Stop following the jobs (they go on running on the server)."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.poll_interval + self.server.timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

