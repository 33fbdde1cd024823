"""The WSGI application of the ops pages: who, which page, and how it answers.

Per request: the operator must be authenticated (Apache sets REMOTE_USER;
anything else gets 401), the page name is the last part of the URL path,
a POST must carry a valid CSRF token (and come from our own origin), a
GET never changes anything.  Per process we keep the parsed config.xml
(re-read when it changes) and the DB connection, which a FastCGI process
reuses.

The project directory is ``$BOINC_PROJECT_DIR`` or the one two levels above
the program (``PROJECT/html/ops/index.py``).
"""

import importlib
import os
import sys
import time
import traceback
from urllib.parse import parse_qsl, urlsplit

from . import csrf, html
from .pages import PAGES

MAX_FORM_BYTES = 1 << 20


class Response:
    def __init__(self, body, status="200 OK", content_type="text/html; charset=utf-8",
                 headers=()):
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.content_type = content_type
        self.headers = list(headers)


class HttpError(Exception):
    """Stop handling and answer with this status and a short page."""

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


class _State:
    project_dir = None
    config = None
    config_mtime = None
    db = None
    secret = None


_state = _State()


def load_config(project_dir):
    from .. import config as configmod
    path = os.path.join(project_dir, "config.xml")
    mtime = os.stat(path).st_mtime
    if (_state.config is None or mtime != _state.config_mtime
            or _state.project_dir != project_dir):
        cfg = configmod.parse_config(path, project_dir)
        close_db()
        _state.config, _state.config_mtime, _state.project_dir = cfg, mtime, project_dir
        _state.secret = None
    return _state.config


def close_db():
    if _state.db is not None:
        _state.db.close()
        _state.db = None


class Request:
    """One request: who asked, what, and the project's config and DB on demand."""

    def __init__(self, environ, project_dir):
        self.environ = environ
        self.project_dir = project_dir
        self.user = environ.get("REMOTE_USER") or ""
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.base, self.page_name = split_script_name(environ.get("SCRIPT_NAME", ""))
        self.args = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True,
                                   encoding="utf-8", errors="replace"))
        self.form = {}
        self.notes = []         # shown at the top of the page
        self.problems = []

    # -- the project
    @property
    def cfg(self):
        return load_config(self.project_dir)

    @property
    def db(self):
        if _state.db is None:
            from ..db import connect
            _state.db = connect(self.cfg)
        return _state.db

    def path(self, *parts):
        return os.path.join(self.project_dir, *parts)

    def project_name(self):
        try:
            return self.cfg.long_name or os.path.basename(self.project_dir)
        except Exception:       # noqa: BLE001 - the frame must render regardless
            return os.path.basename(self.project_dir)

    def secret(self):
        if _state.secret is None or _state.project_dir != self.project_dir:
            _state.secret = csrf.load_secret(self.project_dir)
        return _state.secret

    # -- URLs and arguments
    def url(self, page="", **params):
        return html.query("%s/%s" % (self.base, page), **params)

    def arg(self, name, default=""):
        return self.args.get(name, default).strip()

    def int_arg(self, name, default=None, source=None):
        text = (source if source is not None else self.args).get(name, "")
        text = text.strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise HttpError("400 Bad Request", "%s must be a whole number, not %r"
                            % (name, text)) from None

    def field(self, name, default=""):
        return self.form.get(name, default).strip()

    def int_field(self, name, default=None):
        return self.int_arg(name, default, self.form)

    def csrf_token(self):
        secret = self.secret()
        return csrf.make_token(secret, self.user) if secret else ""

    # -- answers
    def page(self, title, body, here=None, status="200 OK"):
        return Response(html.page(self, title, body, here), status)

    def redirect(self, page, note=None, problem=None, **params):
        """303 to a GET page, with a signed message to show there."""
        secret = self.secret()
        if note:
            params.update(note=note, note_sig=csrf.sign_note(secret, self.user, note))
        if problem:
            params.update(problem=problem,
                          problem_sig=csrf.sign_note(secret, self.user, problem))
        return Response(b"", "303 See Other", headers=[("Location", self.url(page, **params))])

    def take_notes(self):
        secret = self.secret()
        for key, target in (("note", self.notes), ("problem", self.problems)):
            text = self.args.get(key)
            if text and csrf.check_note(secret, self.user, text, self.args.get(key + "_sig")):
                target.append(text)

    def log(self, message):
        """A line in Apache's error log."""
        sys.stderr.write("[%s] ops %s: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                                self.user, message))
        sys.stderr.flush()


def split_script_name(script_name):
    """``/NAME_ops/PAGE`` -> ("/NAME_ops", "PAGE"); ``/NAME_ops/`` -> (.., "");
    ``/NAME_ops`` -> (.., None).  Apache maps every such URL to our one
    program (sched.apache.project_conf), so SCRIPT_NAME is the whole path."""
    if script_name.endswith("_ops"):
        return script_name, None
    base, _, page = script_name.rpartition("/")
    return base, page


def project_dir_of(environ):
    env = os.environ.get("BOINC_PROJECT_DIR")
    if env:
        return os.path.abspath(env)
    script = environ.get("SCRIPT_FILENAME") or sys.argv[0] or "."
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(script))))


def _check_post(req):
    """A change must come from one of our forms, from our own site."""
    from ..wsgi import read_body
    body = read_body(req.environ, MAX_FORM_BYTES)
    if body is None:
        raise HttpError("413 Payload Too Large", "form too large")
    req.form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    origin = req.environ.get("HTTP_ORIGIN")
    host = req.environ.get("HTTP_HOST")
    if origin and origin != "null" and host and urlsplit(origin).netloc != host:
        raise HttpError("403 Forbidden", "cross-site request refused (Origin %s)" % origin)
    if not req.secret():
        raise HttpError("503 Service Unavailable",
                        "no readable %s: changes are refused until it exists "
                        "(bin/check_project says how to make it)" % csrf.SECRET_FILE)
    if not csrf.check_token(req.secret(), req.user, req.form.get("csrf_token")):
        raise HttpError("403 Forbidden", "the form has expired or did not come from these "
                        "pages: reload the page and try again")


def handle(req, page):
    target = PAGES.get(page)
    if target is None:
        raise HttpError("404 Not Found", "no ops page called %r" % page)
    module_name, function, method = target
    if req.method == "HEAD" and method == "GET":
        pass
    elif req.method != method:
        from ..wsgi import drain
        drain(req.environ)
        raise HttpError("405 Method Not Allowed", "%s only answers %s" % (page or "home", method),
                        [("Allow", method)])
    if method == "POST":
        _check_post(req)
    else:
        req.take_notes()
    module = importlib.import_module("." + module_name, __package__)
    return getattr(module, function)(req)


_SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
     "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"),
]


def application(environ, start_response):
    project_dir = project_dir_of(environ)
    req = Request(environ, project_dir)
    try:
        if not req.user:
            # Apache should have asked already; never answer without it.
            raise HttpError("401 Unauthorized", "authentication required",
                            [("WWW-Authenticate", 'Basic realm="%s operations"'
                              % os.path.basename(project_dir))])
        if req.page_name is None:
            resp = Response(b"", "301 Moved Permanently", headers=[("Location", req.url(""))])
        else:
            resp = handle(req, req.page_name)
    except HttpError as exc:
        resp = _error_page(req, exc.status, exc.message, exc.headers)
    except Exception as exc:        # noqa: BLE001 - one page, never a traceback
        from ..db import DatabaseError
        from ..errors import BoincError
        if isinstance(exc, DatabaseError):
            close_db()
            req.log("database error: %s" % exc)
            resp = _error_page(req, "503 Service Unavailable", "database error: %s" % exc)
        elif isinstance(exc, (BoincError, OSError)):
            req.log("error: %s" % exc)
            resp = _error_page(req, "500 Internal Server Error", str(exc))
        else:
            req.log("unexpected error:\n%s" % traceback.format_exc())
            resp = _error_page(req, "500 Internal Server Error",
                               "unexpected error (details in Apache's error log)")
    headers = [("Content-Type", resp.content_type), ("Content-Length", str(len(resp.body)))]
    headers += _SECURITY_HEADERS + resp.headers
    start_response(resp.status, headers)
    if req.method == "HEAD":
        return [b""]
    return [resp.body]


def _error_page(req, status, message, headers=()):
    if not req.user:
        return Response("%s\n" % message, status, "text/plain; charset=utf-8", headers)
    body = html.box(message, "problem")
    resp = Response(html.page(req, status.split(" ", 1)[1], body), status, headers=headers)
    return resp


def run():
    from ..wsgi import serve
    serve(application)
