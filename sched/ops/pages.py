"""The operators' web pages (BOINC's html/ops pages) in Python: the page table.

One WSGI application (:mod:`.app`) behind one program, ``html/ops/index.py``,
which Apache runs as CGI (or FastCGI in fcgi mode) for every URL
``/NAME_ops/PAGE`` (see :func:`sched.apache.project_conf`).  Apache asks for
the operator's password (HTTP basic authentication against
``html/ops/.htpasswd``) before the program runs at all; the application
refuses to answer without an authenticated user too.  Pages that change
something accept only POST with a CSRF token (:mod:`.csrf`).

Each page is a small handler ``fn(req) -> Response`` in one of the modules
named below, imported only when its page is asked for, so a CGI start stays
short.  (The other modules of this package are the periodic tasks that
bin/start runs with ``run_in_ops``.)  docs/ops.md describes the pages.
"""

# page name -> (module in this package, function, HTTP method)
PAGES = {
    "": ("status", "home", "GET"),
    "server_status": ("status", "server_status", "GET"),
    "apps": ("apps", "apps_page", "GET"),
    "app_update": ("apps", "app_update", "POST"),
    "app_version_update": ("apps", "app_version_update", "POST"),
    "db": ("browse", "search", "GET"),
    "workunit": ("browse", "workunit", "GET"),
    "result": ("browse", "result", "GET"),
    "host": ("browse", "host", "GET"),
    "user": ("browse", "user", "GET"),
    "cancel": ("browse", "cancel_form", "GET"),
    "cancel_wu": ("browse", "cancel_wu", "POST"),
    "batches": ("batches", "batches", "GET"),
    "batch": ("batches", "batch", "GET"),
    "batch_action": ("batches", "batch_action", "POST"),
    "metrics": ("metrics", "metrics", "GET"),
}
