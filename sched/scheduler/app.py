"""The scheduler as a WSGI application (``cgi-bin/cgi``, ``cgi-bin/fcgi``).

Per process (so once per request under CGI, once per worker under FastCGI)
we keep the parsed config (re-read when config.xml changes), the DB
connection, the shared-memory attachment (re-attached when the feeder
recreates the segment), the code-signing key and the open log file
(reopened when it is rotated away).

A long-lived (FastCGI) process, after :func:`long_lived`, looks at the
files that rarely change (the key, gui_urls.xml, project_files.xml, the
log's identity) once a second rather than on every request, and keeps its
log lines until ``<scheduler_log_buffer>`` bytes or a second's worth have
gathered, as BOINC's FastCGI scheduler buffers its log; config.xml and
``stop_sched`` are looked at on every request.
"""

import os
import sys
import time

from .. import config as configmod
from .. import log as logmod
from ..db import Database, DatabaseError
from ..errors import BoincError
from ..shmem import JobCache, ShmemError
from ..wsgi import read_body, remote_addr
from . import handler, reply as replymod, request as requestmod
from .scan import ScanError

MAX_REQUEST_BYTES = 16 << 20      # real requests are ~10 KB; 64 reports with stderr ~4 MB


class _State:
    project_dir = None
    config_path = None
    log = None
    log_id = None
    config = None
    config_mtime = None
    paths = None
    db = None
    cache = None
    key_text = None
    key_mtime = None
    texts = {}
    long_lived = False
    recheck = 0.0           # seconds between looks at rarely changed files (0: always)
    checked = {}            # what -> time.monotonic() of the last look
    log_buffer = 0          # long-lived: bytes of log lines kept back at most


_state = _State()


def long_lived(recheck=1.0):
    """This process serves request after request (FastCGI); see the module doc."""
    _state.long_lived = True
    _state.recheck = recheck
    _state.checked = {}


def _due(what):
    """Time for another look at ``what``?  Always, unless long-lived."""
    if not _state.recheck:
        return True
    now = time.monotonic()
    if now - _state.checked.get(what, -1e9) < _state.recheck:
        return False
    _state.checked[what] = now
    return True


class _LogFile:
    """The scheduler log of a long-lived process: lines kept in memory and
    written with one write() of whole requests (the file is shared by all
    scheduler processes: a line is never cut in two)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self.parts, self.size, self.written = [], 0, time.monotonic()

    def fileno(self):
        return self.fd

    def write(self, text):
        self.parts.append(text)
        self.size += len(text)

    def flush(self):
        if self.parts:
            data = "".join(self.parts).encode("utf-8", "replace")
            self.parts, self.size = [], 0
            while data:
                data = data[os.write(self.fd, data):]
        self.written = time.monotonic()

    def close(self):
        try:
            self.flush()
        finally:
            os.close(self.fd)


def idle():
    """Between requests of a long-lived process: write the log lines that
    have waited a second (or fill the buffer)."""
    log = _state.log
    if log is not None and isinstance(log.stream, _LogFile) and log.stream.parts and (
            log.stream.size >= _state.log_buffer
            or time.monotonic() - log.stream.written >= 1.0):
        log.flush()


def after_request():
    """The FastCGI server's hook, after each reply has gone out (and after
    each second without a request): the outcome of the host update the
    request sent (handler._update_host), then :func:`idle`."""
    _sent_outcome()
    idle()


def _sent_outcome():
    """The host update the request left in flight (a lost connection is found
    and reopened by the next request's first query)."""
    if _state.db is not None:
        handler.host_update_outcome(_state.db, _state.log)


class _Paths:
    """The files a request looks at, named once per config."""

    def __init__(self, cfg):
        self.stop_sched = cfg.project_path("stop_sched")
        self.code_sign_key = cfg.key_path("code_sign_public")
        self.log = os.path.join(cfg.dir("log"), "scheduler.log")
        self.gui_urls = cfg.project_path("gui_urls.xml")
        self.project_files = cfg.project_path("project_files.xml")


def _config():
    if _state.config_path is None:
        _state.project_dir = _project_dir()
        _state.config_path = os.path.join(_state.project_dir, "config.xml")
    path = _state.config_path
    mtime = os.stat(path).st_mtime
    if _state.config is None or mtime != _state.config_mtime:
        _state.config = configmod.load_file(path, os.path.dirname(path))
        _state.config_mtime = mtime
        _state.paths = _Paths(_state.config)
        if _state.db is not None:
            _state.db.close()
            _state.db = None
        if _state.cache is not None:
            _state.cache.detach()
            _state.cache = None
    return _state.config


def _project_dir():
    """BOINC's search (env, cwd, parent), then the dir above this program's own."""
    from ..paths import find_project_dir
    from ..errors import ProjectDirError
    try:
        return find_project_dir()
    except ProjectDirError:
        return find_project_dir(os.path.dirname(os.path.abspath(sys.argv[0] or ".")))


def _open_log(cfg):
    """The scheduler log, kept open from one request to the next (FastCGI);
    opened anew when the file was moved away (log rotation) or the config
    changed.  Lines are written at the end of each request."""
    path = _state.paths.log
    log = _state.log
    if not _due("log") and log is not None:
        log.indent = 0
        return log
    try:
        st = os.stat(path)
        ident = (path, st.st_dev, st.st_ino, cfg.sched_debug_level)
    except OSError:
        ident = None
    if log is not None and ident is not None and ident == _state.log_id:
        log.indent = 0
        return log
    if log is not None:
        log.stream.close()
        _state.log = None
    try:
        os.makedirs(os.path.dirname(path), mode=0o1770, exist_ok=True)
        stream = _LogFile(path) if _state.long_lived else open(path, "a")
        st = os.fstat(stream.fileno())
    except OSError:
        return None
    _state.log_buffer = cfg.scheduler_log_buffer
    _state.log = logmod.Log(level=cfg.sched_debug_level, stream=stream, with_pid=True,
                            flush_each=False)
    _state.log_id = (path, st.st_dev, st.st_ino, cfg.sched_debug_level)
    return _state.log


def _file_text(path):
    """gui_urls.xml / project_files.xml, cached by mtime ('' if absent)."""
    cached = _state.texts.get(path)
    if not _due(path) and cached:
        return cached[1]
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        _state.texts[path] = (None, "")
        return ""
    if cached and cached[0] == mtime:
        return cached[1]
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    _state.texts[path] = (mtime, text)
    return text


def _code_sign_key():
    path = _state.paths.code_sign_key
    if not _due(path) and _state.key_text is not None:
        return _state.key_text
    mtime = os.stat(path).st_mtime
    if _state.key_text is None or mtime != _state.key_mtime:
        with open(path) as f:
            _state.key_text = f.read()
        _state.key_mtime = mtime
    return _state.key_text


def _cache(cfg):
    cache = _state.cache
    if cache is not None and cache.removed:     # the feeder restarted: attach anew
        cache.detach()
        cache = _state.cache = None
    if cache is None:
        cache = _state.cache = JobCache.attach(cfg)
    return cache


def _db(cfg):
    if _state.db is None:
        _state.db = Database.from_config(cfg).connect()
    return _state.db


def _respond(start_response, body, content_type="text/xml"):
    data = body.encode("utf-8", "replace")
    start_response("200 OK", [("Content-Type", content_type),
                              ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    started = time.time()
    # Read the request first, whatever we answer (see wsgi.read_body).
    body = read_body(environ, MAX_REQUEST_BYTES)
    try:
        cfg = _config()
    except (BoincError, OSError):
        return _respond(start_response, replymod.project_down(
            "Server can't parse configuration file", 3600), "text/plain")
    log = _open_log(cfg)
    if log is None:
        return _respond(start_response, replymod.project_down(
            "Server can't open log file (%s)" % _state.paths.log,
            cfg.maintenance_delay), "text/plain")
    try:
        return _handle(environ, start_response, cfg, log, started, body)
    except Exception:
        import traceback
        log.critical("unexpected error:\n%s", traceback.format_exc())
        return _respond(start_response, replymod.project_down(
            "Server error: please try again later", cfg.maintenance_delay), "text/plain")
    finally:
        if _state.long_lived:
            idle()
        else:
            log.flush()


def _handle(environ, start_response, cfg, log, started, body):
    down = lambda msg: _respond(start_response, replymod.project_down(
        msg, cfg.maintenance_delay, cfg.ended), "text/plain")
    if os.path.exists(_state.paths.stop_sched):
        return down("Project is temporarily shut down for maintenance")
    try:
        key_text = _code_sign_key()
    except OSError:
        log.critical("Can't read code sign key file %s", _state.paths.code_sign_key)
        return down("Server can't find key file")
    try:
        cache = _cache(cfg)
    except ShmemError as exc:
        log.critical("Can't attach shmem: %d (feeder not running?)", exc.code)
        return down("Server error: feeder not running")
    if not cache.ready:
        log.critical("Shared memory not ready (feeder starting up)")
        return down("Server error: feeder not running")

    reply = replymod.Reply()
    addr = remote_addr(environ)
    req = None
    if body is None:
        log.normal("Request too large from %s", addr)
        reply.message("Error in request message: request too large", "low")
        reply.nucleus_only = True
    else:
        try:
            req = requestmod.parse(body.decode("utf-8", "replace"))
        except ScanError as exc:
            log.normal("Incomplete request received %sfrom IP %s",
                       "(used GET method - probably a browser) "
                       if environ.get("REQUEST_METHOD") == "GET" else "", addr)
            reply.message("Error in request message: %s" % exc, "low")
            reply.nucleus_only = True
    if req is not None:
        try:
            db = _db(cfg)
        except DatabaseError as exc:
            log.critical("Can't open database: %s", exc)
            reply.message("Server can't open database", "low")
            reply.project_is_down = True
            reply.set_delay(cfg.maintenance_delay)
        else:
            ctx = handler.Context(cfg, db, log, req, reply, cache, cache.catalog(), addr,
                                  key_text)
            try:
                handler.process_request(ctx)
            except DatabaseError as exc:
                log.critical("database error: %s", exc)
                _state.db.close()
                _state.db = None
                reply = replymod.Reply(project_is_down=True)
                reply.message("Server can't open database", "low")
                reply.set_delay(cfg.maintenance_delay)
    hostid = reply.host["id"] if reply.host else 0
    text = replymod.write(reply, req, cfg, _file_text(_state.paths.gui_urls),
                          _file_text(_state.paths.project_files))
    log.normal("Sending reply to [HOST#%d]: %d results, delay req %.2f", hostid,
               reply.njobs_sent, reply.request_delay)
    log.normal("Scheduler ran %.3f seconds", time.time() - started)
    return _respond(start_response, text)


def close():
    """Close what the process kept open, as it ends (a CGI process then ends
    without shutting the interpreter down): the DB politely, so the server
    logs no aborted connection; the log, with the lines still kept back."""
    _sent_outcome()
    if _state.db is not None:
        _state.db.close()
    if _state.log is not None:
        _state.log.stream.close()


def run():
    from ..wsgi import serve_cgi
    serve_cgi(application, close)
