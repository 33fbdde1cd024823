"""A streaming reader of multipart/form-data request bodies.

File parts go straight to temporary files (with their md5 and size counted
on the way), so an upload is never held in memory, and a part larger than
the limit stops the reading at once (the rest of the body is drained, see
sched.wsgi.read_body).  Plain fields are kept as text, up to a limit.
"""

import hashlib
import os
import re
import tempfile

from ..wsgi import drain

BLOCK = 1 << 16
MAX_HEADER_BYTES = 16 << 10
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


class MultipartError(Exception):
    pass


class TooLarge(MultipartError):
    pass


class Part:
    """An uploaded file: its form name, client file name, temp path, size, md5."""

    def __init__(self, name, filename, path):
        self.name, self.filename, self.path = name, filename, path
        self.size = 0
        self.md5 = None

    def discard(self):
        try:
            os.unlink(self.path)
        except OSError:
            pass


def boundary_of(content_type):
    """The boundary of a multipart/form-data Content-Type, or None."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return None
    for key, value in _PARAM.findall(content_type):
        if key.lower() == "boundary":
            value = value[1:-1] if value.startswith('"') else value
            return value.encode("latin-1") if value else None
    return None


def _disposition(headers):
    value = headers.get("content-disposition", "")
    params = {}
    for key, v in _PARAM.findall(value):
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        params[key.lower()] = v
    return params.get("name"), params.get("filename")


class _Body:
    """The request body as a stream of at most CONTENT_LENGTH bytes."""

    def __init__(self, environ):
        self.stream = environ["wsgi.input"]
        try:
            self.left = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            self.left = 0

    def read(self):
        if self.left <= 0:
            return b""
        data = self.stream.read(min(BLOCK, self.left))
        self.left -= len(data)
        if not data:
            self.left = 0
        return data


def read_form(environ, file_limit, field_limit, tmp_dir):
    """(fields, parts) of the body; parts are :class:`Part` files in ``tmp_dir``.

    Raises :class:`TooLarge` for a file part above ``file_limit`` bytes or a
    field above ``field_limit`` (nothing is kept), :class:`MultipartError`
    for a body that is not multipart/form-data.
    """
    boundary = boundary_of(environ.get("CONTENT_TYPE"))
    if boundary is None:
        drain(environ)
        raise MultipartError("not a multipart/form-data request")
    body = _Body(environ)
    fields, parts = {}, []
    try:
        _parse(body, boundary, file_limit, field_limit, tmp_dir, fields, parts)
    except BaseException as exc:
        for p in parts:
            p.discard()
        drain(environ)
        if isinstance(exc, MultipartError):
            exc.fields = fields          # what was read before the failure
        raise
    return fields, parts


def _parse(body, boundary, file_limit, field_limit, tmp_dir, fields, parts):
    first = b"--" + boundary
    sep = b"\r\n--" + boundary
    buf = b""
    # the preamble, up to the first boundary line
    while True:
        at = buf.find(first)
        if at >= 0 and len(buf) >= at + len(first) + 2:
            buf = buf[at + len(first):]
            break
        more = body.read()
        if not more:
            raise MultipartError("no multipart boundary in the body")
        buf += more
    while True:
        if buf.startswith(b"--"):
            return                                   # the closing boundary
        if not buf.startswith(b"\r\n"):
            raise MultipartError("malformed multipart boundary")
        buf = buf[2:]
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEADER_BYTES:
                raise MultipartError("multipart headers too long")
            more = body.read()
            if not more:
                raise MultipartError("body ends inside multipart headers")
            buf += more
        head, buf = buf.split(b"\r\n\r\n", 1)
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        name, filename = _disposition(headers)
        if filename is not None:
            fd, path = tempfile.mkstemp(prefix=".upload_", dir=tmp_dir)
            part = Part(name, filename, path)
            parts.append(part)
            h = hashlib.md5()
            with os.fdopen(fd, "wb") as out:
                def sink(data):
                    part.size += len(data)
                    if part.size > file_limit:
                        raise TooLarge("file %s is larger than the limit of %d bytes"
                                       % (filename, file_limit))
                    h.update(data)
                    out.write(data)
                buf = _copy_until(body, buf, sep, sink)
            part.md5 = h.hexdigest()
        else:
            chunks = []
            size = [0]

            def keep(data):
                size[0] += len(data)
                if size[0] > field_limit:
                    raise TooLarge("form field %s is larger than %d bytes" % (name, field_limit))
                chunks.append(data)
            buf = _copy_until(body, buf, sep, keep)
            fields[name] = b"".join(chunks).decode("utf-8", "replace")
        # buf now starts right after the boundary: "\r\n" (next part) or "--" (end)
        while len(buf) < 2:
            more = body.read()
            if not more:
                raise MultipartError("body ends after a boundary")
            buf += more


def _copy_until(body, buf, sep, sink):
    """Hand the bytes up to ``sep`` to ``sink``; return what follows ``sep``."""
    while True:
        at = buf.find(sep)
        if at >= 0:
            sink(buf[:at])
            return buf[at + len(sep):]
        keep = len(sep) - 1
        if len(buf) > keep:
            sink(buf[:-keep])
            buf = buf[-keep:]
        more = body.read()
        if not more:
            raise MultipartError("body ends inside a part")
        buf += more
