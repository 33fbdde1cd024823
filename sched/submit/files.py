"""job_file.php: content-addressed input files for remote submission.

``query_files`` says which of a list of physical names are not on the
server (and records the ones that are, with their delete time, in
``job_file``); ``upload_files`` takes those files as multipart parts, in
the order of its ``<phys_name>`` list, and puts them into the download
hierarchy with their ``.md5`` cache files.  Before anything is placed:

* every file must be within the per-file limit (config.xml
  ``<remote_submit_max_file_bytes>``);
* a file named ``jf_<md5>`` (our client library names every file so) must
  have that md5;
* a name already in the hierarchy must hold the same bytes (files are
  immutable).

If any check fails, no file is placed and no row is written.
"""

import os
import re
import time

from ..paths import dir_hier_path
from ..stage import StageError, check_name, format_md5_info, md5_file, move_file, read_md5_info
from ..web.reply import RpcError
from . import JOB_FILE_PREFIX, auth, max_file_bytes
from .common import (REQUEST_SLACK, SubmitError, error_reply, form_of, int_of, parse_request,
                     reply)
from .multipart import MultipartError, TooLarge, boundary_of, read_form

_MD5 = re.compile(r"[0-9a-f]{32}\Z")
FIELD_LIMIT = 16 << 20          # the request XML of an upload


def handle(req):
    cfg = req.cfg
    try:
        limit = max_file_bytes(cfg)
    except Exception as exc:            # a bad config.xml value
        raise RpcError(-1, str(exc)) from None
    parts = []
    try:
        if boundary_of(req.environ.get("CONTENT_TYPE")):
            fields, parts = read_form(req.environ, limit, FIELD_LIMIT, cfg.download_dir)
        else:
            fields = form_of(req, FIELD_LIMIT + REQUEST_SLACK)
    except TooLarge as exc:
        # answer inside the operation's element when its request came first
        root = parse_request(getattr(exc, "fields", {}).get("request", ""))
        error = SubmitError("upload refused: %s" % exc)
        if root is not None and root.tag in ("query_files", "upload_files"):
            return error_reply(root.tag, error)
        raise RpcError(-1, error.msg) from None
    except (MultipartError, SubmitError) as exc:
        raise RpcError(-1, "can't read request: %s" % exc) from None
    try:
        text = fields.get("request", "")
        root = parse_request(text)
        if root is None:
            raise RpcError(-1, "can't parse request message: %s" % (text[:200] or "no request"))
        if root.tag not in ("query_files", "upload_files"):
            raise RpcError(-1, "no such action")
        try:
            db = req.db_init()
            user = auth.check(db, root)
            if root.tag == "query_files":
                body = query_files(db, cfg, root)
            else:
                body = upload_files(db, cfg, root, user, parts)
            return reply(root.tag, body)
        except SubmitError as exc:
            return error_reply(root.tag, exc)
        except RpcError as exc:
            return error_reply(root.tag, SubmitError(exc.msg, exc.num))
    finally:
        for p in parts:
            p.discard()                 # placed files were moved away already


def _names(root):
    names = []
    for elem in root.findall("phys_name"):
        name = (elem.text or "").strip()
        try:
            check_name(name)
        except StageError:
            raise SubmitError("bad filename") from None
        names.append(name)
    return names


def _path(cfg, name):
    return dir_hier_path(name, cfg.download_dir, cfg.uldl_dir_fanout)


def _record(db, name, delete_time):
    """A job_file row for ``name`` (its delete time only moves later)."""
    db.execute("INSERT INTO job_file (name, create_time, delete_time) VALUES (%s, %s, %s) "
               "ON DUPLICATE KEY UPDATE delete_time = GREATEST(delete_time, VALUES(delete_time))",
               (name, time.time(), delete_time))


def query_files(db, cfg, root):
    delete_time = int_of(root, "delete_time")
    absent = []
    for i, name in enumerate(_names(root)):
        if os.path.isfile(_path(cfg, name)):
            _record(db, name, delete_time)
        else:
            db.execute("DELETE FROM job_file WHERE name = %s", (name,))
            absent.append(i)
    return "<absent_files>\n%s</absent_files>\n" % "".join("<file>%d</file>\n" % i
                                                          for i in absent)


def content_md5(name):
    """The md5 a content-addressed name (jf_<md5>) promises, else None."""
    if name.startswith(JOB_FILE_PREFIX) and _MD5.match(name[len(JOB_FILE_PREFIX):]):
        return name[len(JOB_FILE_PREFIX):]
    return None


def upload_files(db, cfg, root, user, parts):
    names = _names(root)
    delete_time = int_of(root, "delete_time")
    if len(parts) != len(names):
        raise SubmitError("# of uploaded files (%d) doesn't agree with request (%d)"
                          % (len(parts), len(names)))
    # check everything first
    plan = []
    for name, part in zip(names, parts):
        promised = content_md5(name)
        if promised and promised != part.md5:
            raise SubmitError("file %s: its contents have md5 %s, not the one its name says"
                              % (name, part.md5))
        path = _path(cfg, name)
        if os.path.exists(path):
            have = read_md5_info(path, warn=lambda m: None) or md5_file(path)
            if (have[0], int(have[1])) != (part.md5, part.size):
                raise SubmitError("file immutability violation for %s" % name)
            plan.append((name, part, None))
        else:
            plan.append((name, part, path))
    # then place the new files and record them all
    for name, part, path in plan:
        if path is not None and not os.path.exists(path):
            os.makedirs(os.path.dirname(path), mode=0o771, exist_ok=True)
            os.chmod(part.path, 0o644)
            move_file(part.path, path)
            with open(path + ".md5", "w") as f:
                f.write(format_md5_info(part.md5, part.size))
        _record(db, name, delete_time)
    return "<success/>\n"
