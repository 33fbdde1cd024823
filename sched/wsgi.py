"""Serving our WSGI applications as CGI or FastCGI programs.

Every cgi-bin program is one WSGI application; ``cgi-bin/NAME`` serves it
once per process (CGI, under mod_cgid) and ``cgi-bin/fcgi_NAME`` in a loop
(FastCGI, under mod_fcgid, via flup: sched/fastcgi.py).
"""

import os
import sys


# The CGI variables that carry request bytes (PEP 3333: as latin-1 str).
_REQUEST_VARS = frozenset(("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD",
                           "AUTH_TYPE", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTPS",
                           "REMOTE_USER", "REMOTE_IDENT"))


def cgi_environ():
    """The WSGI environ of this CGI request, as wsgiref's CGIHandler makes it."""
    encoding = sys.getfilesystemencoding()
    environ = {}
    for key, value in os.environ.items():
        if key in _REQUEST_VARS or key.startswith(("HTTP_", "SSL_")) or (
                key.startswith("REDIRECT_") and (key[9:] in _REQUEST_VARS
                                                 or key[9:].startswith(("HTTP_", "SSL_")))):
            value = value.encode(encoding, "surrogateescape").decode("iso-8859-1")
        environ[key] = value
    environ.update({
        "wsgi.input": sys.stdin.buffer, "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": True,
        "wsgi.url_scheme": "https" if environ.get("HTTPS", "off") in ("on", "1") else "http"})
    return environ


def serve_cgi(application, finish=None):
    """Serve one request as a CGI program.  (wsgiref's CGIHandler does the
    same, but importing it costs a CGI process more than our whole RPC.)

    With ``finish`` (a function that closes what the application keeps
    open: its database connection, its log) the process ends as soon as the
    reply is out, with ``os._exit``: a CGI process has nothing left to do,
    and the interpreter's shutdown (module teardown, a last garbage
    collection) would cost an eighth of a scheduler request.
    """
    out = sys.stdout.buffer
    head, written = [], []

    def start_response(status, headers, exc_info=None):
        head[:] = ["Status: %s\r\n" % status] + ["%s: %s\r\n" % h for h in headers] + ["\r\n"]
        return written.append

    try:
        result = application(cgi_environ(), start_response)
        try:
            body = b"".join(written) + b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    except Exception:
        import traceback
        traceback.print_exc()
        head[:] = ["Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"]
        body = b"Internal Server Error\n"
    out.write("".join(head).encode("iso-8859-1") + body)
    out.flush()
    if finish is not None:
        try:
            finish()
        finally:
            sys.stderr.flush()
            os._exit(0)


def serve_fcgi(application, idle=None):
    """Serve FastCGI; run as a plain CGI program (BOINC's fcgi programs fall
    back the same way), serve that one request.  ``idle`` is called after
    each request and after each second without one."""
    import stat
    if "REQUEST_METHOD" in os.environ:      # mod_fcgid passes it per request, not here
        return serve_cgi(application)
    if not stat.S_ISSOCK(os.fstat(0).st_mode):
        sys.stderr.write("%s: a FastCGI program: run it under mod_fcgid (or as a CGI "
                         "program, with REQUEST_METHOD set)\n" % os.path.basename(sys.argv[0]))
        sys.exit(1)
    # flup's single-threaded server: mod_fcgid sends one request at a time
    # per process and scales by starting more processes.
    _batch_policy()
    from .fastcgi import WSGIServer
    WSGIServer(application, idle=idle).run()


def _batch_policy():
    """Linux's SCHED_BATCH for this process: waking up (a request arriving)
    it no longer preempts the process on the CPU, which is often another of
    the many FastCGI processes in the middle of its own request (16
    scheduler processes on 2 CPUs: nowork about a tenth faster on average,
    within the runs' spread; docs/performance.md)."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass            # not Linux: the default policy


def under_fastcgi():
    """Started by mod_fcgid: no CGI environment, fd 0 a listening socket."""
    if "GATEWAY_INTERFACE" in os.environ:
        return False
    import errno
    import socket
    import stat
    try:
        if not stat.S_ISSOCK(os.fstat(0).st_mode):
            return False
        sock = socket.socket(fileno=os.dup(0))
    except OSError:
        return False
    try:
        sock.getpeername()
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    finally:
        sock.close()
    return False


def serve(application):
    """Serve as FastCGI when mod_fcgid started us, else as one CGI request
    (for programs whose one name serves both, like html/user/*.php)."""
    if under_fastcgi():
        serve_fcgi(application)
    else:
        serve_cgi(application)


def read_body(environ, limit):
    """The request body, or None when it is larger than ``limit`` bytes.

    A body too large is still read (and dropped, up to DRAIN_LIMIT): under
    mod_cgid a CGI program that exits without reading its input gets its
    reply cut off, and the client sees a failed transfer instead of our answer.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length > limit:
        drain(environ)
        return None
    if length:
        return stream.read(length)
    data = stream.read(limit + 1)           # no length given: read to the limit
    if len(data) > limit:
        drain(environ)
        return None
    return data


DRAIN_LIMIT = 64 << 20


def drain(environ, limit=DRAIN_LIMIT):
    """Read and drop what is left of the request body (see read_body)."""
    stream = environ["wsgi.input"]
    left = limit
    try:
        while left > 0:
            block = stream.read(min(1 << 16, left))
            if not block:
                return
            left -= len(block)
    except (OSError, ValueError):
        pass


def remote_addr(environ):
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return environ.get("REMOTE_ADDR", "")


def fail_safe(stream=sys.stderr):
    """Where to write when nothing else works (CGI stderr goes to Apache's log)."""
    return stream
