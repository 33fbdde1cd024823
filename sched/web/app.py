"""The WSGI application behind every web RPC program, and how it is served.

One application answers all the RPCs: the program's name (the last part of
``SCRIPT_NAME``, e.g. ``lookup_account.php``) picks the handler, whose
module is imported only when needed, so a CGI start stays short.  Per
process we keep the parsed config.xml (re-read when it changes) and the DB
connection (reused by a FastCGI process).

The project directory is ``$BOINC_PROJECT_DIR`` or the one two levels above
the program (``PROJECT/html/user/NAME.php``), as BOINC's PHP finds it.
"""

import importlib
import os
import re
import sys
import time
from urllib.parse import parse_qsl

from . import RPCS
from .reply import XML_HEADER, RpcError, error_xml

# BOINC's PHP sleeps this long before answering a failed login.
LOGIN_FAIL_SLEEP_SEC = 5
_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*\Z")


class _State:
    project_dir = None
    config = None
    config_mtime = None
    db = None


_state = _State()


class Page:
    """A reply that is not XML (BOINC's HTML pages, which we do not serve)."""

    def __init__(self, text, status="200 OK", content_type="text/plain"):
        self.text, self.status, self.content_type = text, status, content_type


def php_true(value):
    """PHP's truth of a request value: set, not '' and not '0'."""
    return value is not None and value not in ("", "0")


def is_numeric(text):
    """PHP's is_numeric for a request value."""
    return text is not None and bool(_NUMERIC.match(text))


class Request:
    """One call: its arguments, and the project's config and DB on demand."""

    def __init__(self, environ, project_dir):
        self.environ = environ
        self.project_dir = project_dir
        # PHP's $_GET: '+' is a space, the last of repeated names wins.
        self.args = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True,
                                   encoding="utf-8", errors="replace"))

    # -- arguments, as BOINC's get_str / get_int
    def get_str(self, name, optional=False):
        value = self.args.get(name)
        if value is None and not optional:
            raise RpcError(-1, "missing or bad parameter: %s" % name)
        return value

    def get_int(self, name, optional=False):
        value = self.args.get(name)
        if not is_numeric(value):
            if optional and not php_true(value):
                return None
            raise RpcError(-1, "missing or bad parameter: %s" % name)
        return int(float(value))

    # -- the project
    def path(self, *parts):
        return os.path.join(self.project_dir, *parts)

    def web_stopped(self):
        return os.path.exists(self.path("stop_web"))

    def sched_stopped(self):
        return os.path.exists(self.path("stop_sched"))

    @property
    def cfg(self):
        return _config(self.project_dir)

    def db_init(self):
        """BOINC's db_init_xml: refuse while stop_web exists, else the DB."""
        if self.web_stopped():
            raise RpcError(-183)
        return self.db

    @property
    def db(self):
        return _db(self.cfg)

    def login_failed(self):
        time.sleep(LOGIN_FAIL_SLEEP_SEC)

    def log(self, message):
        """A line in Apache's error log (where BOINC's PHP error_log goes)."""
        sys.stderr.write("[%s] %s: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                            self.environ.get("SCRIPT_NAME", "web rpc"), message))
        sys.stderr.flush()


def _config(project_dir):
    from .. import config as configmod
    from ..errors import BoincError
    path = os.path.join(project_dir, "config.xml")
    try:
        mtime = os.stat(path).st_mtime
        if _state.config is None or mtime != _state.config_mtime or \
                _state.project_dir != project_dir:
            cfg = configmod.parse_config(path, project_dir)
            _close_db()
            _state.config, _state.config_mtime, _state.project_dir = cfg, mtime, project_dir
    except (OSError, BoincError):
        raise RpcError(-1, "Can't parse project config file.") from None
    return _state.config


def _db(cfg):
    if _state.db is None:
        from ..db import Database, DatabaseError
        try:
            _state.db = Database.from_config(cfg).connect()
        except DatabaseError:
            raise RpcError(-138, "Can't connect to database") from None
    return _state.db


def _close_db():
    if _state.db is not None:
        _state.db.close()
        _state.db = None


def project_dir_of(environ):
    env = os.environ.get("BOINC_PROJECT_DIR")
    if env:
        return os.path.abspath(env)
    script = environ.get("SCRIPT_FILENAME") or sys.argv[0] or "."
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(script))))


def rpc_name(environ):
    name = environ.get("SCRIPT_NAME") or environ.get("SCRIPT_FILENAME") or sys.argv[0] or ""
    return name.rstrip("/").rsplit("/", 1)[-1]


def _respond(start_response, page):
    data = page.text.encode("utf-8", "replace")
    start_response(page.status, [("Content-Type", page.content_type),
                                 ("Content-Length", str(len(data)))])
    return [data]


def _xml(text):
    return Page(XML_HEADER + text, content_type="text/xml")


def application(environ, start_response):
    name = rpc_name(environ)
    target = RPCS.get(name)
    if target is None:
        return _respond(start_response, Page("No such RPC: %s\n" % name, "404 Not Found"))
    req = Request(environ, project_dir_of(environ))
    try:
        module = importlib.import_module("." + target[0], __package__)
        result = getattr(module, target[1])(req)
        page = result if isinstance(result, Page) else _xml(result)
    except RpcError as exc:
        page = _xml(error_xml(exc.num, exc.msg))
    except Exception as exc:
        from ..db import DatabaseError
        if isinstance(exc, DatabaseError):
            req.log("database error: %s" % exc)
            _close_db()
            page = _xml(error_xml(-138, "Can't access database"))
        else:
            import traceback
            req.log("unexpected error:\n%s" % traceback.format_exc())
            page = _xml(error_xml(-1, "Server error"))
    return _respond(start_response, page)


def run():
    from ..wsgi import serve
    serve(application)
