"""Serving our WSGI applications as CGI or FastCGI programs.

Every cgi-bin program is one WSGI application; ``cgi-bin/NAME`` serves it
once per process (CGI, under mod_cgid) and ``cgi-bin/fcgi_NAME`` in a loop
(FastCGI, under mod_fcgid, via flup).
"""

import sys


def serve_cgi(application):
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)


def serve_fcgi(application):
    # flup's single-threaded server: mod_fcgid sends one request at a time
    # per process and scales by starting more processes.
    from flup.server.fcgi_single import WSGIServer
    WSGIServer(application).run()


def read_body(environ, limit):
    """The request body, or None when it is larger than ``limit`` bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length > limit:
        return None
    if length:
        return stream.read(length)
    data = stream.read(limit + 1)           # no length given: read to the limit
    return None if len(data) > limit else data


def remote_addr(environ):
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return environ.get("REMOTE_ADDR", "")


def fail_safe(stream=sys.stderr):
    """Where to write when nothing else works (CGI stderr goes to Apache's log)."""
    return stream
