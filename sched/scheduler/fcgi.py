"""``cgi-bin/fcgi``: the scheduler served as FastCGI."""

from ..wsgi import serve_fcgi
from . import app, scan


def run():
    scan.use_regex()            # a long-lived process: compile once, scan faster
    app.long_lived()
    try:
        serve_fcgi(app.application, idle=app.after_request)
    finally:
        app.close()
