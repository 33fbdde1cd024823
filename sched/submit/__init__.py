"""Remote job submission: BOINC's submission RPCs, served by Python.

Scientists submit and follow batches over HTTP instead of logging in to run
create_work.  The programs sit at BOINC's PHP names on the master URL (thin
programs in ``html/user`` that run :mod:`sched.submit.app` as CGI or
FastCGI, like :mod:`sched.web`):

* ``submit_rpc_handler.php`` -- the batch and job RPCs (:mod:`.rpc`):
  estimate_batch, create_batch, submit_batch, query_batches, query_batch,
  query_batch2, query_job, query_completed_job, abort_batch, abort_jobs,
  retire_batch, set_expire_time, get_templates, ping;
* ``job_file.php`` -- query_files / upload_files, content-addressed input
  files in the download hierarchy (:mod:`.files`);
* ``get_output.php`` and ``get_output2.php`` -- output files of a job or a
  whole batch, the latter as a zip (:mod:`.output`).

Requests are POSTs with the XML in the form field ``request`` (multipart for
upload_files); replies are XML whose root is the operation's name, errors an
``<error>`` inside it.  Who may do what: the ``user_submit`` and
``user_submit_app`` rows (:mod:`.auth`); a batch is seen, changed and
downloaded only by its owner.  Batch bookkeeping is :mod:`.batches`; the
batch-collect assimilator (``bin/batch_collect_assimilator``, with its batch
hook) is :mod:`.collect`.

Where we differ from BOINC's PHP, on purpose (see docs/remote-submission.md):

* input file modes ``local`` and ``semilocal`` (the server reads a path or
  fetches a URL a submitter names) are refused: either hands a submitter
  the server's files or network;
* uploaded and inline input files have a size limit
  (``<remote_submit_max_file_bytes>``, default :data:`DEFAULT_MAX_FILE_BYTES`)
  and a file named ``jf_<md5>`` must have that md5, at upload and again when
  a job uses it;
* a submission is all or nothing: a bad job leaves no batch, no job and no
  new file behind;
* output downloads answer an HTTP error status (403, 404, 400) with the
  message, where BOINC's PHP answers 200 with "ERROR: ...".
"""

# URL name -> handler module (in this package) and function.
PROGRAMS = {
    "submit_rpc_handler.php": ("rpc", "handle"),
    "job_file.php": ("files", "handle"),
    "get_output.php": ("output", "get_output"),
    "get_output2.php": ("output", "get_output2"),
}

# Largest input file a submitter may upload or send inline, unless
# config.xml's <remote_submit_max_file_bytes> says otherwise.
DEFAULT_MAX_FILE_BYTES = 64 << 20
MAX_FILE_OPTION = "remote_submit_max_file_bytes"

# The physical name of a content-addressed input file (BOINC's job_file_name).
JOB_FILE_PREFIX = "jf_"


def job_file_name(md5):
    return JOB_FILE_PREFIX + md5


def max_file_bytes(cfg):
    """The per-file upload limit of this project (config.xml, else the default)."""
    from ..errors import ConfigError
    from ..xmlutil import strtol
    raw = cfg.get(MAX_FILE_OPTION)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_FILE_BYTES
    try:
        value = int(float(raw)) if any(c in raw for c in ".eE") else strtol(raw)
    except ValueError:
        raise ConfigError("%s: <%s> must be a number of bytes, not %r"
                          % (cfg.path, MAX_FILE_OPTION, raw)) from None
    if value <= 0:
        raise ConfigError("%s: <%s> must be positive" % (cfg.path, MAX_FILE_OPTION))
    return value
