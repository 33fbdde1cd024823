"""What every submission program shares: errors, reading the request, XML out.

A request's XML is parsed with our hardened parser; values are read with
:func:`int_of` / :func:`float_of`, which refuse what is not a number (BOINC's
PHP casts such text to 0 and goes on with it).
"""

import math
from urllib.parse import parse_qs

from ..web.reply import error_xml, esc
from ..wsgi import read_body
from ..xmlutil import XMLError, parse_bytes

# A submit RPC's body (form field "request", inline files included) may be
# this much larger than the per-file limit.
REQUEST_SLACK = 16 << 20


class SubmitError(Exception):
    """Answer the RPC with BOINC's ``<error>`` (inside the operation's element)."""

    def __init__(self, msg, num=-1):
        super().__init__(msg)
        self.num, self.msg = num, msg


class HttpError(Exception):
    """Answer a download with an HTTP error status and a one-line message."""

    def __init__(self, status, msg):
        super().__init__(msg)
        self.status, self.msg = status, msg


class Download:
    """A file (or a file object) sent back as the reply body."""

    def __init__(self, fileobj, size, filename, content_type="application/octet-stream"):
        self.fileobj, self.size, self.filename = fileobj, size, filename
        self.content_type = content_type

    def chunks(self, block=1 << 16):
        try:
            while True:
                data = self.fileobj.read(block)
                if not data:
                    return
                yield data
        finally:
            self.fileobj.close()


def form_of(req, limit):
    """The POSTed form fields (urlencoded) as a dict of the last value of each name."""
    body = read_body(req.environ, limit)
    if body is None:
        raise SubmitError("request too large (the limit is %d bytes)" % limit)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}


def parse_request(text):
    """The request's root element, or None when it is not XML."""
    if not text or not text.strip():
        return None
    try:
        return parse_bytes(text)
    except XMLError:
        return None


def text_of(elem, tag, default=""):
    child = elem.find(tag) if elem is not None else None
    if child is None:
        return default
    return (child.text or "").strip()


def has(elem, tag):
    return elem is not None and elem.find(tag) is not None


def _number(elem, tag, kind, default):
    raw = text_of(elem, tag, None)
    if raw is None or raw == "":
        return default
    try:
        value = kind(float(raw)) if kind is int and any(c in raw for c in ".eE") else kind(raw)
    except (ValueError, OverflowError):
        value = None
    if value is None or (kind is float and not math.isfinite(value)):
        raise SubmitError("bad value for <%s>: %r is not a number" % (tag, raw))
    return value


def int_of(elem, tag, default=0):
    return _number(elem, tag, int, default)


def float_of(elem, tag, default=0.0):
    return _number(elem, tag, float, default)


def flag_of(elem, tag):
    """``<x/>`` or ``<x>1</x>``: on; absent, empty-but-0 or ``<x>0</x>``: off."""
    if not has(elem, tag):
        return False
    raw = text_of(elem, tag)
    return raw == "" or raw not in ("0", "0.0")


def element(tag, value):
    """``<tag>value</tag>`` with the value as PHP prints it, escaped."""
    return "<%s>%s</%s>\n" % (tag, esc(value), tag)


def reply(tag, body):
    return "<%s>\n%s</%s>\n" % (tag, body, tag)


def error_reply(tag, exc):
    """BOINC's xml_error after xml_start_tag: the error inside the operation's element."""
    body = error_xml(exc.num, exc.msg)
    return reply(tag, body) if tag else body
