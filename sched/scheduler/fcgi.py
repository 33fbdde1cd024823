"""``cgi-bin/fcgi``: the scheduler served as FastCGI."""

from ..wsgi import serve_fcgi
from .app import application


def run():
    serve_fcgi(application)
