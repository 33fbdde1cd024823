"""The file upload handler (``cgi-bin/file_upload_handler``) as a WSGI app.

Protocol (BOINC's): a text header read line by line, then, after the line
holding ``<data>``, exactly ``nbytes - offset`` raw bytes, which we stream
to ``upload/<fanout>/NAME`` in constant memory.  ``<get_file_size>``
answers how much of a file we have, so the client can resume.  Replies are
``<data_server_reply>`` with status 0 (ok), 1 (transient: retry later) or
-1 (permanent: give up).  No database and no shared memory are touched.
"""

import errno
import fcntl
import os
import struct
import time

from . import config as configmod
from . import log as logmod
from .errors import BoincError
from .md5 import md5
from .paths import dir_hier_path, find_project_dir
from .wsgi import drain, remote_addr

TRANSIENT, PERMANENT = 1, -1
BLOCK_SIZE = 256 * 1024
MAX_HEADER_LINES = 200          # a real header has about a dozen
MAX_LINE = 4096
MIN_FREE_SPACE = 1e9            # BOINC's FUH_MIN_FREE_SPACE


class UploadError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def valid_filename(name):
    """No control characters, no way out of the upload directory."""
    if not name or name.startswith("/") or ".." in name or "/" in name or "\\" in name:
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in name)


def _tag(line, tag):
    """The text of ``<tag>...</tag>`` within one line, or None."""
    start = line.find("<%s>" % tag)
    end = line.find("</%s>" % tag, start + len(tag) + 2) if start >= 0 else -1
    value = line[start + len(tag) + 2:end] if end >= 0 else "\n"
    return None if "\n" in value else value.strip()


def _float(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


class Upload:
    """One request: reads from ``stream`` and returns the reply text."""

    def __init__(self, cfg, log, stream, addr, upload_public):
        self.cfg, self.log, self.stream, self.addr = cfg, log, stream, addr
        self.key = upload_public
        self.lines = 0

    def readline(self):
        self.lines += 1
        if self.lines > MAX_HEADER_LINES:
            raise UploadError(PERMANENT, "request header too long")
        return self.stream.readline(MAX_LINE)

    def handle(self):
        while True:
            raw = self.readline()
            if not raw:
                raise UploadError(TRANSIENT, "no command")
            line = raw.decode("utf-8", "replace")
            if "<file_upload>" in line:
                return self.file_upload()
            name = _tag(line, "get_file_size")
            if name is not None:
                return self.get_file_size(name)

    # -- <get_file_size>
    def get_file_size(self, name):
        if not valid_filename(name):
            raise UploadError(PERMANENT, "Bad filename")
        path = dir_hier_path(name, self.cfg.upload_dir, self.cfg.uldl_dir_fanout)
        st = os.statvfs(self.cfg.upload_dir)
        if st.f_bavail * st.f_frsize < MIN_FREE_SPACE:
            raise UploadError(TRANSIENT, "Server is out of disk space")
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self.log.normal("handle_get_file_size(): [%s] returning zero", name)
            return "<file_size>0</file_size>"
        except OSError as exc:
            self.log.critical("handle_get_file_size(): cannot open [%s] %s", name, exc.strerror)
            raise UploadError(TRANSIENT, "can't open file") from None
        try:
            pid = _lock_holder(fd)
            if pid:
                raise UploadError(TRANSIENT, "[%s] locked by file_upload_handler PID=%d"
                                  % (name, pid))
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        self.log.normal("handle_get_file_size(): [%s] returning %d", name, size)
        return "<file_size>%d</file_size>" % size

    # -- <file_upload>
    def file_upload(self):
        name, signature, md5 = "", "", None
        max_nbytes, offset, nbytes = -1.0, 0.0, -1.0
        found_data = False
        while True:
            raw = self.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace")
            if "<data>" in line:
                found_data = True
                break
            if "<xml_signature>" in line:
                signature = self._signature(line)
                continue
            for tag in ("name", "max_nbytes", "offset", "nbytes", "md5_cksum"):
                value = _tag(line, tag)
                if value is None:
                    continue
                if tag == "name":
                    name = value
                elif tag == "md5_cksum":
                    md5 = value.lower()
                else:
                    number = _float(value)
                    if number is not None:
                        if tag == "max_nbytes":
                            max_nbytes = number
                        elif tag == "offset":
                            offset = number
                        else:
                            nbytes = number
                break
        if not name:
            raise UploadError(PERMANENT, "Missing name")
        if not found_data:
            raise UploadError(PERMANENT, "Missing <data> tag")
        if not self.cfg.ignore_upload_certificates:
            if not signature.strip():
                raise UploadError(PERMANENT, "missing signature")
            if max_nbytes < 0:
                raise UploadError(PERMANENT, "missing max_nbytes")
            signed = "<name>%s</name><max_nbytes>%.0f</max_nbytes>" % (name, max_nbytes)
            if not self._verify(signed, signature):
                self.log.critical("check_string_signature() [%s] [%s] failed", signed,
                                  signature.strip())
                raise UploadError(PERMANENT, "invalid signature")
        if nbytes < 0:
            raise UploadError(PERMANENT, "nbytes missing or negative")
        # BOINC checks the limit only when it can trust it (a signed one); the
        # client's own word is enforced too, so nothing bigger lands on disk.
        if max_nbytes >= 0 and nbytes > max_nbytes:
            raise UploadError(PERMANENT, "file size (%d KB) exceeds limit (%d KB)"
                              % (int(nbytes / 1024), int(max_nbytes / 1024)))
        if not valid_filename(name):
            raise UploadError(PERMANENT, "file_upload_handler: invalid filename: %s" % name)
        if offset < 0:
            raise UploadError(PERMANENT, "negative offset")
        try:
            path = dir_hier_path(name, self.cfg.upload_dir, self.cfg.uldl_dir_fanout,
                                 create=True)
        except OSError as exc:
            self.log.critical("Failed to find/create directory for file '%s' in '%s'", name,
                              self.cfg.upload_dir)
            raise UploadError(TRANSIENT, "can't open file %s: %s" % (name, exc.strerror)) \
                from None
        self.log.normal("Starting upload of %s from %s [offset=%.0f, nbytes=%.0f]", name,
                        self.addr, offset, nbytes)
        if nbytes == 0:
            self._open(name, path).close()
            self.log.normal("accepted empty file %s from %s", name, self.addr)
            return None
        if offset >= nbytes:
            self.log.critical("ERROR: offset >= nbytes!!")
            return None
        self._copy(name, path, int(offset), int(nbytes), md5)
        self.log.normal("Ended upload of %s from %s; retval 0", name, self.addr)
        return None

    def _signature(self, line):
        text = line.split("<xml_signature>", 1)[1]
        while "</xml_signature>" not in text:
            more = self.readline()
            if not more:
                break
            text += more.decode("utf-8", "replace")
        return text.split("</xml_signature>", 1)[0]

    def _verify(self, signed, signature):
        from .crypt import verify_string
        try:
            return verify_string(signed, signature, self.key)
        except (BoincError, ValueError):
            return False

    def _open(self, name, path):
        mode = self.cfg.fuh_set_initial_permission
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, mode if mode >= 0 else 0o666)
        except OSError as exc:
            if exc.errno == errno.EACCES:
                raise _ReadOnly() from None
            raise UploadError(TRANSIENT, "can't open file %s: %s" % (name, exc.strerror)) \
                from None
        return os.fdopen(fd, "wb")

    def _copy(self, name, path, offset, nbytes, md5):
        try:
            f = self._open(name, path)
        except _ReadOnly:
            self.log.warning("client tried to reupload the read-only file %s", path)
            self._drain(nbytes - offset)
            return
        with f:
            try:
                fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pid = _lock_holder(f.fileno())
                raise UploadError(TRANSIENT, "can't lock file %s: locked by PID=%d"
                                  % (name, pid or 0)) from None
            size = os.fstat(f.fileno()).st_size
            if size < offset:
                raise UploadError(TRANSIENT, "length of file %s %d bytes < offset %d bytes"
                                  % (name, size, offset))
            if size >= nbytes and md5 and offset < size and _md5_prefix(path, nbytes) == md5:
                # Already here whole and identical: keep it, don't rewrite it.
                self.log.normal("file %s already complete (%d bytes, md5 matches)", name, size)
                self._drain(nbytes - offset)
                return
            if size > offset:
                self.log.normal("file %s length on disk %d bytes; host upload starting at "
                                "%d bytes.", name, size, offset)
            f.seek(offset)
            left = nbytes - offset
            while left > 0:
                block = self.stream.read(min(BLOCK_SIZE, left))
                if not block:
                    raise UploadError(TRANSIENT, "EOF on socket read : asked for %d, got %d"
                                      % (nbytes - offset, nbytes - offset - left))
                try:
                    f.write(block)
                except OSError as exc:
                    msg = "No space left on server" if exc.errno == errno.ENOSPC \
                        else exc.strerror
                    raise UploadError(TRANSIENT, "can't write file %s: %s" % (name, msg)) \
                        from None
                left -= len(block)
            f.flush()
            if self.cfg.fuh_set_completed_permission >= 0:
                os.fchmod(f.fileno(), self.cfg.fuh_set_completed_permission)

    def _drain(self, n):
        while n > 0:
            block = self.stream.read(min(BLOCK_SIZE, n))
            if not block:
                return
            n -= len(block)


class _ReadOnly(Exception):
    pass


def _md5_prefix(path, nbytes):
    h = md5()
    with open(path, "rb") as f:
        left = nbytes
        while left > 0:
            block = f.read(min(BLOCK_SIZE, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def _lock_holder(fd):
    """PID of a process holding a write lock on ``fd``'s file, or 0."""
    lock = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
    try:
        res = fcntl.fcntl(fd, fcntl.F_GETLK, lock)
    except OSError:
        return 0
    ltype, _, _, _, pid = struct.unpack("hhqqi", res)
    return pid if ltype != fcntl.F_UNLCK else 0


def _reply(status, message=None, extra=None):
    parts = ["<data_server_reply>\n    <status>%d</status>\n" % status]
    if message is not None:
        parts.append("    <message>%s</message>\n" % message)
    if extra:
        parts.append("    %s\n" % extra)
    parts.append("</data_server_reply>\n")
    return "".join(parts)


class _State:
    config = None
    mtime = None
    key = None


_state = _State()


def _setup():
    """Config (re-read when changed) and the upload key, kept per process."""
    try:
        root = find_project_dir()
    except BoincError:
        import sys
        root = find_project_dir(os.path.dirname(os.path.abspath(sys.argv[0] or ".")))
    path = os.path.join(root, "config.xml")
    mtime = os.stat(path).st_mtime
    if _state.config is None or _state.mtime != mtime:
        _state.config = configmod.load_file(path, root)
        _state.mtime = mtime
        _state.key = None
    return _state.config


def application(environ, start_response):
    def respond(text):
        drain(environ)          # a CGI must read its input, or its reply is cut off
        data = text.encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    try:
        cfg = _setup()
    except (BoincError, OSError):
        return respond(_reply(TRANSIENT, "can't parse config file"))
    log_dir = cfg.dir("log")
    try:
        os.makedirs(log_dir, mode=0o1770, exist_ok=True)
        stream = open(os.path.join(log_dir, "file_upload_handler.log"), "a")
    except OSError as exc:
        return respond(_reply(TRANSIENT, "can't open log file '%s' (errno: %d)"
                              % (os.path.join(log_dir, "file_upload_handler.log"), exc.errno)))
    log = logmod.Log(level=cfg.fuh_debug_level, stream=stream, with_pid=True)
    addr = remote_addr(environ)
    try:
        if os.path.exists(cfg.project_path("stop_upload")):
            raise UploadError(TRANSIENT, "File uploads are temporarily disabled.")
        if not cfg.ignore_upload_certificates and _state.key is None:
            from .crypt import read_public_key
            try:
                _state.key = read_public_key(cfg.key_path("upload_public"))
            except (BoincError, OSError):
                log.critical("can't read key file %s", cfg.key_path("upload_public"))
                raise UploadError(TRANSIENT, "can't read key file") from None
        if not os.access(cfg.upload_dir, os.W_OK):
            log.critical("can't write to upload_dir")
            raise UploadError(TRANSIENT, "can't write to upload_dir")
        started = time.time()
        extra = Upload(cfg, log, environ["wsgi.input"], addr, _state.key).handle()
        log.debug("elapsed time %f seconds", time.time() - started)
        return respond(_reply(0, extra=extra))
    except UploadError as exc:
        log.normal("Returning error to client %s: %s (%s)", addr, exc,
                   "transient" if exc.status == TRANSIENT else "permanent")
        return respond(_reply(exc.status, str(exc)))
    except Exception:
        import traceback
        log.critical("unexpected error:\n%s", traceback.format_exc())
        return respond(_reply(TRANSIENT, "server error"))
    finally:
        stream.close()


def run():
    from .wsgi import serve_cgi
    serve_cgi(application, finish=lambda: None)     # the log is closed per request


def run_fcgi():
    from .wsgi import serve_fcgi
    serve_fcgi(application)
