"""The WSGI application behind the submission programs, and how it is served.

As :mod:`sched.web.app`: the program's name (``submit_rpc_handler.php``,
``job_file.php``, ``get_output.php``, ``get_output2.php``) picks the handler;
the parsed config.xml and the DB connection are kept per process (reused by
a FastCGI process).  A handler returns XML text (sent after BOINC's XML
header), a :class:`~sched.submit.common.Download`, or a
:class:`~sched.web.app.Page`.
"""

import importlib

from ..web import app as webapp
from ..web.reply import XML_HEADER, RpcError, error_xml
from . import PROGRAMS
from .common import Download, HttpError


def _send(start_response, status, ctype, data, extra=()):
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))]
                   + list(extra))
    return [data]


def _xml(start_response, text):
    return _send(start_response, "200 OK", "text/xml",
                 (XML_HEADER + text).encode("utf-8", "replace"))


def _download(start_response, dl):
    name = dl.filename.replace('"', "")
    start_response("200 OK", [("Content-Type", dl.content_type),
                              ("Content-Length", str(dl.size)),
                              ("Content-Disposition", 'attachment; filename="%s"' % name)])
    return dl.chunks()


def application(environ, start_response):
    name = webapp.rpc_name(environ)
    target = PROGRAMS.get(name)
    if target is None:
        return _send(start_response, "404 Not Found", "text/plain",
                     b"No such program: " + name.encode("utf-8", "replace") + b"\n")
    req = webapp.Request(environ, webapp.project_dir_of(environ))
    try:
        module = importlib.import_module("." + target[0], __package__)
        result = getattr(module, target[1])(req)
    except HttpError as exc:
        return _send(start_response, exc.status, "text/plain",
                     ("ERROR: %s\n" % exc.msg).encode("utf-8", "replace"))
    except RpcError as exc:
        return _xml(start_response, error_xml(exc.num, exc.msg))
    except Exception as exc:
        from ..db import DatabaseError
        if isinstance(exc, DatabaseError):
            req.log("database error: %s" % exc)
            webapp._close_db()
            return _xml(start_response, error_xml(-138, "Can't access database"))
        import traceback
        req.log("unexpected error:\n%s" % traceback.format_exc())
        return _xml(start_response, error_xml(-1, "Server error"))
    if isinstance(result, Download):
        return _download(start_response, result)
    if isinstance(result, webapp.Page):
        return _send(start_response, result.status, result.content_type,
                     result.text.encode("utf-8", "replace"))
    return _xml(start_response, result)


def run():
    from ..wsgi import serve
    serve(application)
