"""pyboinc_submit: submit jobs to a BOINC project from Python, get futures back.

Needs only Python's standard library.  It speaks BOINC's remote job
submission RPCs (``submit_rpc_handler.php``, ``job_file.php``,
``get_output2.php``), so it works with any project serving them::

    from pyboinc_submit import Client, as_completed

    with Client("https://project.example.org/proj/", authenticator) as c:
        futures = c.map("worker", [[b"first input"], [b"second input"]], retries=2)
        for f in as_completed(futures, timeout=3600):
            outputs = f.result()             # {open name: bytes}

:class:`Server` is the RPCs one by one; :class:`Client` adds uploads,
futures and progress; ``bin/submit_batch`` is the command line.
"""

from concurrent.futures import FIRST_COMPLETED, ALL_COMPLETED, as_completed, wait  # noqa: F401

from .client import Batch, Client, JobFailed, JobFuture, Progress  # noqa: F401
from .rpc import RemoteError, Server, job_file_name  # noqa: F401

__version__ = "0.1.0"
__all__ = ["Client", "Batch", "JobFuture", "JobFailed", "Progress", "Server", "RemoteError",
           "job_file_name", "as_completed", "wait", "FIRST_COMPLETED", "ALL_COMPLETED"]
