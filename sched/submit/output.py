"""get_output.php and get_output2.php: a submitter's output files.

A job's outputs are those of its canonical result, found in the upload
hierarchy or, once the batch-collect assimilator has moved them, in
``results/BATCH/WU__file_OPENNAME`` (:mod:`sched.submit.collect`).  Only the
owner of the job's batch gets them:

* get_output.php (BOINC's first form): ``cmd=result_file&result_name=R&file_num=N``
  and ``cmd=batch_files&batch_id=B`` (a zip of every job's files, by
  physical name), ``cmd=workunit_file&wu_name=W&file_num=N`` and
  ``cmd=workunit_files&wu_id=W`` (a zip); ``auth_str`` is md5(authenticator
  + R, B or W), the raw authenticator for workunit_file;
* get_output2.php: ``cmd=result|workunit|batch|file`` with ``result_id``,
  ``wu_id``, ``batch_id`` (and ``file_num``), ``auth`` the authenticator: a
  job's single file comes as ``RESULT__OPENNAME``, several as a zip of their
  open names, a batch as ``batch_B.zip``.
"""

import hashlib
import hmac
import os
import tempfile
import zipfile

from ..outputs import OutputFilesError, output_files
from ..web.reply import RpcError
from .batches import results_dir
from .common import Download, HttpError


def _arg(req, name):
    value = req.args.get(name)
    if value is None or value == "":
        raise HttpError("400 Bad Request", "missing argument %s" % name)
    return value


def _int_arg(req, name):
    value = _arg(req, name)
    try:
        return int(value)
    except ValueError:
        raise HttpError("400 Bad Request", "bad argument %s" % name) from None


def _db(req):
    try:
        return req.db_init()
    except RpcError as exc:
        raise HttpError("503 Service Unavailable", exc.msg) from None


def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _same(a, b):
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _owner_of(db, batch_id):
    """(batch, owner) of a job's batch; a job outside a batch has no owner to ask."""
    batch = db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,)) if batch_id else None
    if batch is None:
        raise HttpError("404 Not Found", "no batch %s" % batch_id)
    user = db.query_one("SELECT id, authenticator FROM user WHERE id = %s", (batch["user_id"],))
    if user is None:
        raise HttpError("404 Not Found", "no user %s" % batch["user_id"])
    return batch, user


def _check(given, expected):
    if not given or not _same(given, expected):
        raise HttpError("403 Forbidden", "bad authenticator")


def located_files(cfg, wu, result):
    """[(path or None, open_name, physical name)] of a result's outputs."""
    try:
        files = output_files(cfg, result)
    except OutputFilesError as exc:
        raise HttpError("500 Internal Server Error", str(exc)) from None
    found = []
    for f in files:
        path = f.path
        if not os.path.isfile(path):
            collected = os.path.join(results_dir(cfg, wu["batch"]),
                                     "%s__file_%s" % (wu["name"], f.open_name))
            path = collected if os.path.isfile(collected) else None
        found.append((path, f.open_name, f.name))
    return found


def _send_file(path, filename):
    if path is None:
        raise HttpError("404 Not Found", "no such file %s" % filename)
    f = open(path, "rb")
    return Download(f, os.fstat(f.fileno()).st_size, filename)


def _zip(entries, filename):
    """A zip of (path, name in the zip) sent from a temporary file."""
    tmp = tempfile.TemporaryFile()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path, arcname in entries:
            z.write(path, arcname)
    size = tmp.tell()
    tmp.seek(0)
    return Download(tmp, size, filename, "application/zip")


def _result(db, where, arg):
    r = db.query_one("SELECT * FROM result WHERE %s = %%s" % where, (arg,))
    if r is None:
        raise HttpError("404 Not Found", "no job instance %s" % arg)
    wu = db.query_one("SELECT id, name, batch, canonical_resultid FROM workunit WHERE id = %s",
                      (r["workunitid"],))
    if wu is None:
        raise HttpError("404 Not Found", "no job %s" % r["workunitid"])
    return r, wu


def _canonical(db, wu):
    if not wu["canonical_resultid"]:
        raise HttpError("404 Not Found", "no canonical result for job %s" % wu["name"])
    return db.query_one("SELECT * FROM result WHERE id = %s", (wu["canonical_resultid"],))


def _wu(db, where, arg):
    wu = db.query_one("SELECT id, name, batch, canonical_resultid FROM workunit "
                      "WHERE %s = %%s" % where, (arg,))
    if wu is None:
        raise HttpError("404 Not Found", "no job %s" % arg)
    return wu


def _nth(files, n):
    if not 0 <= n < len(files):
        raise HttpError("404 Not Found", "bad file num: %d (the job has %d)" % (n, len(files)))
    return files[n]


def _batch_wus(db, batch_id):
    return db.query("SELECT id, name, batch, canonical_resultid FROM workunit "
                    "WHERE batch = %s AND canonical_resultid <> 0 ORDER BY id", (batch_id,))


# ------------------------------------------------------------ get_output.php

def get_output(req):
    cmd = _arg(req, "cmd")
    auth = req.args.get("auth_str", "")
    db = _db(req)
    cfg = req.cfg
    if cmd == "result_file":
        name = _arg(req, "result_name")
        r, wu = _result(db, "name", name)
        _, user = _owner_of(db, wu["batch"])
        _check(auth, _md5(user["authenticator"] + r["name"]))
        path, _, phys = _nth(located_files(cfg, wu, r), _int_arg(req, "file_num"))
        return _send_file(path, phys)
    if cmd == "batch_files":
        batch_id = req.args.get("batch_id")
        if batch_id:
            try:
                batch = db.query_one("SELECT * FROM batch WHERE id = %s", (int(batch_id),))
            except ValueError:
                raise HttpError("400 Bad Request", "bad argument batch_id") from None
        else:
            batch = db.query_one("SELECT * FROM batch WHERE name = %s",
                                 (_arg(req, "batch_name"),))
        if batch is None:
            raise HttpError("404 Not Found", "no batch %s" % (batch_id or req.args["batch_name"]))
        _, user = _owner_of(db, batch["id"])
        _check(auth, _md5(user["authenticator"] + str(batch["id"])))
        entries = []
        for wu in _batch_wus(db, batch["id"]):
            for path, _, phys in located_files(cfg, wu, _canonical(db, wu)):
                if path is not None:        # an optional file may be missing
                    entries.append((path, phys))
        return _zip(entries, "batch_%d.zip" % batch["id"])
    if cmd == "workunit_file":
        wu = _wu(db, "name", _arg(req, "wu_name"))
        _, user = _owner_of(db, wu["batch"])
        _check(auth, user["authenticator"])
        path, _, phys = _nth(located_files(cfg, wu, _canonical(db, wu)),
                             _int_arg(req, "file_num"))
        return _send_file(path, phys)
    if cmd == "workunit_files":
        wu = _wu(db, "id", _int_arg(req, "wu_id"))
        _, user = _owner_of(db, wu["batch"])
        _check(auth, _md5(user["authenticator"] + str(wu["id"])))
        entries = [(p, phys) for p, _, phys in located_files(cfg, wu, _canonical(db, wu))
                   if p is not None]
        return _zip(entries, "%s.zip" % wu["name"])
    raise HttpError("400 Bad Request", "bad command")


# ------------------------------------------------------------ get_output2.php

def _result_reply(cfg, wu, r, file_num=None):
    files = located_files(cfg, wu, r)
    if file_num is not None or len(files) == 1:
        path, open_name, _ = _nth(files, file_num or 0)
        return _send_file(path, "%s__%s" % (r["name"], open_name))
    return _zip([(p, o) for p, o, _ in files if p is not None], "%s.zip" % r["name"])


def get_output2(req):
    cmd = _arg(req, "cmd")
    auth = req.args.get("auth", "")
    db = _db(req)
    cfg = req.cfg
    if cmd in ("result", "file"):
        r, wu = _result(db, "id", _int_arg(req, "result_id"))
        _, user = _owner_of(db, wu["batch"])
        _check(auth, user["authenticator"])
        return _result_reply(cfg, wu, r, _int_arg(req, "file_num") if cmd == "file" else None)
    if cmd == "workunit":
        wu = _wu(db, "id", _int_arg(req, "wu_id"))
        _, user = _owner_of(db, wu["batch"])
        _check(auth, user["authenticator"])
        return _result_reply(cfg, wu, _canonical(db, wu))
    if cmd == "batch":
        batch, user = _owner_of(db, _int_arg(req, "batch_id"))
        _check(auth, user["authenticator"])
        entries = []
        for wu in _batch_wus(db, batch["id"]):
            r = _canonical(db, wu)
            files = [(p, o) for p, o, _ in located_files(cfg, wu, r) if p is not None]
            if len(files) == 1:
                entries.append((files[0][0], "%s__%s" % (r["name"], files[0][1])))
            else:
                entries += [(p, "%s/%s" % (r["name"], o)) for p, o in files]
        return _zip(entries, "batch_%d.zip" % batch["id"])
    raise HttpError("400 Bad Request", "bad cmd")
