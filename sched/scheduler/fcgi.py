"""``cgi-bin/fcgi``: the scheduler served as FastCGI."""

from ..wsgi import serve_fcgi
from . import scan
from .app import application


def run():
    scan.use_regex()            # a long-lived process: compile once, scan faster
    serve_fcgi(application)
