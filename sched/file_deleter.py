"""file_deleter: delete the files of jobs that no longer need them.

Each pass, as BOINC's file_deleter (database.md §8):

* results with ``file_delete_state`` READY (1500 at a time): every
  ``<file_info>`` of ``xml_doc_in`` is removed from the upload hierarchy;
* workunits READY (500 at a time): every ``<file_info>`` of ``xml_doc``
  from the download hierarchy, with its ``.gz`` and (``<cache_md5_info/>``)
  ``.md5`` companions.  Files marked ``<no_delete/>`` stay, and so do all
  files of a workunit whose name contains ``nodelete``.

A file that is already gone counts as deleted; a missing directory (or a
failed unlink) is an error: the row goes to ERROR, and ERROR rows are tried
again at startup and then every hour (not with ``--dont_retry_errors``).
The new states of a whole query are written in two UPDATEs.  Deleting is
idempotent, so a deleter killed mid-pass just does the rest next time.
"""

import errno
import os
import time

from . import states as S
from .daemon import Daemon
from .errors import BoincError
from .paths import dir_hier_path
from .xmlutil import XMLError, parse_bool, parse_bytes

WUS_PER_ENUM = 500
RESULTS_PER_ENUM = 1500
ERROR_INTERVAL = 3600           # seconds between retries of ERROR rows
DEFAULT_SLEEP_INTERVAL = 5


class DirMissing(Exception):
    """The file's directory isn't there: maybe a disk not mounted; try later."""


def text(value):
    """A blob column as ``str``."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value or ""


def file_infos(doc):
    """[(name, no_delete)] of each ``<file_info>`` in an xml_doc; None if unreadable."""
    if not doc or "<file_info" not in doc:
        return []
    try:
        root = parse_bytes("<doc>%s</doc>" % doc, recover=True)
    except XMLError:
        return None
    infos = []
    for fi in root.iter("file_info"):
        name = fi.find("name")
        no_delete = fi.find("no_delete")
        infos.append(((name.text or "").strip() if name is not None else "",
                      no_delete is not None and parse_bool(no_delete)))
    return infos


def safe_name(name):
    """A bare file name: anything else can't be in the hierarchy."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def locate(name, root, fanout):
    """Path of ``name`` in the hierarchy; None if absent; DirMissing if its dir is."""
    path = dir_hier_path(name, root, fanout)
    if os.path.lexists(path):
        return path
    if not os.path.isdir(os.path.dirname(path)):
        raise DirMissing(os.path.dirname(path))
    return None


def unlink_quietly(path):
    """Remove ``path`` if there; True if removed, False if absent; OSError else."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


class FileDeleter(Daemon):
    name = "file_deleter"
    description = "Delete the input and output files of jobs that no longer need them."
    sleep_interval = DEFAULT_SLEEP_INTERVAL

    def add_arguments(self, p):
        p.add("dont_retry_errors", action="store_true",
              help="don't retry rows whose deletion failed before")
        p.add("preserve_wu_files", action="store_true",
              help="update the DB, but don't delete input files (debugging)")
        p.add("preserve_result_files", action="store_true",
              help="update the DB, but don't delete output files (debugging)")
        p.add("app", metavar="NAME", help="only jobs of this application")
        p.add("appid", type=int, default=0, metavar="ID", help="only jobs of this app id")
        p.add("download_dir", metavar="DIR", help="use DIR instead of config.xml's")
        p.add("xml_doc_like", metavar="L", help="only workunits whose xml_doc LIKE 'L'")
        p.add("dont_delete_antiques", action="store_true",
              help="no effect (antique files are antique_file_deleter's job)")
        p.add("no_db_update", action="store_true", help="don't change file_delete_state")
        p.add("input_files_only", action="store_true", help="only input (download) files")
        p.add("output_files_only", action="store_true", help="only output (upload) files")

    def setup(self):
        a = self.args
        if a.dont_delete_antiques:
            self.log.critical("'--dont_delete_antiques' has no effect, this file deleter "
                              "does no antique files deletion")
        if a.mod:
            self.log.debug("Using mod'ed WU/result enumeration.  mod = %d  rem = %d", *a.mod)
        self.download_dir = a.download_dir or self.config.download_dir
        if a.download_dir:
            self.log.normal("Overriding download_dir '%s' from project config with "
                            "command-line '%s'", self.config.download_dir, a.download_dir)
        self.upload_dir = self.config.upload_dir
        for what, d, needed in (("download_dir", self.download_dir, not a.output_files_only),
                                ("upload_dir", self.upload_dir, not a.input_files_only)):
            if needed and not d:
                raise BoincError("config.xml has no <%s>" % what)
        self.fanout = self.config.uldl_dir_fanout
        self.appid = a.appid
        if a.app and not self.appid:
            app = self.db.query_one("SELECT id FROM app WHERE name=%s", (a.app,))
            if app is None:
                raise BoincError("Can't find app %s" % a.app)
            self.appid = app["id"]
            self.log.debug("Deleting files of appid %d", self.appid)
        self.retry_errors_now = not a.dont_retry_errors
        self.next_error_time = 0.0

    def do_pass(self):
        got_any = self.delete_pass(S.FILE_DELETE_READY)
        if self.retry_errors_now:
            if self.delete_pass(S.FILE_DELETE_ERROR):
                got_any = True
            else:
                self.retry_errors_now = False
                self.next_error_time = time.time() + ERROR_INTERVAL
                self.log.debug("ending retry of previous errors")
        elif not self.args.dont_retry_errors and time.time() > self.next_error_time:
            self.retry_errors_now = True
            self.log.debug("starting retry of previous errors")
        return got_any

    # -- one pass over results and workunits in ``state``
    def _clause(self):
        clause, params = self.mod_clause("id")
        if self.appid:
            clause += " AND appid=%s"
            params += (self.appid,)
        return clause, params

    def delete_pass(self, state):
        changed = 0
        if not self.args.input_files_only:
            clause, params = self._clause()
            rows = self.db.query(
                "SELECT id, xml_doc_in, outcome, client_state FROM result "
                "WHERE file_delete_state=%s" + clause + " LIMIT %s",
                (state,) + params + (RESULTS_PER_ENUM,))
            outcomes = []
            for r in rows:
                self.check_stop_quietly(outcomes, "result", state)
                ok = self.args.preserve_result_files or self.result_delete_files(r)
                if not ok:
                    self.log.critical("[RESULT#%d] file deletion failed", r["id"])
                outcomes.append((r["id"], ok))
            changed += self.record("result", outcomes, state)
        if not self.args.output_files_only:
            clause, params = self._clause()
            if self.args.xml_doc_like:
                clause += " AND xml_doc LIKE %s"
                params += (self.args.xml_doc_like,)
            rows = self.db.query(
                "SELECT id, name, xml_doc FROM workunit WHERE file_delete_state=%s" + clause +
                " LIMIT %s", (state,) + params + (WUS_PER_ENUM,))
            outcomes = []
            for w in rows:
                self.check_stop_quietly(outcomes, "workunit", state)
                ok = self.args.preserve_wu_files or self.wu_delete_files(w)
                if not ok:
                    self.log.critical("[WU#%d] file deletion failed", w["id"])
                outcomes.append((w["id"], ok))
            changed += self.record("workunit", outcomes, state)
        return changed > 0

    def check_stop_quietly(self, outcomes, table, state):
        """Stop between files, keeping what was done so far."""
        try:
            self.check_stop()
        except BaseException:
            self.record(table, outcomes, state)
            raise

    def record(self, table, outcomes, state):
        """Write DONE / ERROR for the rows handled; return how many changed."""
        changed = 0
        for new_state in (S.FILE_DELETE_DONE, S.FILE_DELETE_ERROR):
            ok = new_state == S.FILE_DELETE_DONE
            ids = [i for i, good in outcomes if good == ok]
            if not ids or new_state == state:
                continue
            if self.args.no_db_update:
                self.log.debug("[%s] %d rows would be %s", table, len(ids),
                               S.FILE_DELETE_STATE[new_state])
                continue
            # Only rows still in the state we read: nobody else's change is undone.
            n = self.db.execute(
                "UPDATE %s SET file_delete_state=%%s WHERE file_delete_state=%%s AND id IN (%s)"
                % (table, ",".join(["%s"] * len(ids))), [new_state, state] + ids)
            self.log.debug("[%s] file_delete_state=%d for %d rows", table, new_state, n)
            changed += n
        outcomes.clear()
        return changed

    # -- the files of one row
    def wu_delete_files(self, wu):
        """Delete a workunit's input files; True unless something went wrong."""
        name = wu["name"]
        if "nodelete" in name:
            return True
        wu["xml_doc"] = text(wu["xml_doc"])
        infos = file_infos(wu["xml_doc"])
        if infos is None:
            self.log.critical("[WU#%d] bad WU XML: %s", wu["id"], wu["xml_doc"])
            return False
        ok, count = True, 0
        for fname, no_delete in infos:
            if no_delete:
                continue
            if not safe_name(fname):
                self.log.critical("[WU#%d] bad file name %r in WU XML", wu["id"], fname)
                ok = False
                continue
            try:
                path = locate(fname, self.download_dir, self.fanout)
            except DirMissing:
                self.log.critical("[WU#%d] missing dir for %s", wu["id"], fname)
                ok = False
                continue
            if path is None:
                self.log.debug("[WU#%d] %s: already gone", wu["id"], fname)
                path = dir_hier_path(fname, self.download_dir, self.fanout)
            else:
                self.log.normal("[WU#%d] deleting %s", wu["id"], fname)
                try:
                    if unlink_quietly(path):
                        count += 1
                except OSError as exc:
                    self.log.critical("[WU#%d] unlink %s failed: %s", wu["id"], fname,
                                      exc.strerror)
                    ok = False
            companions = [".gz"] + ([".md5"] if self.config.cache_md5_info else [])
            for suffix in companions:
                try:
                    if unlink_quietly(path + suffix):
                        self.log.normal("[WU#%d] deleted %s%s", wu["id"], fname, suffix)
                except OSError as exc:
                    self.log.critical("[WU#%d] unlink %s%s failed: %s", wu["id"], fname,
                                      suffix, exc.strerror)
        self.log.debug("[WU#%d] deleted %d file(s)", wu["id"], count)
        return ok

    def result_delete_files(self, result):
        """Delete a result's output files; True unless something went wrong."""
        rid = result["id"]
        result["xml_doc_in"] = text(result["xml_doc_in"])
        infos = file_infos(result["xml_doc_in"])
        if infos is None:
            self.log.critical("[RESULT#%d] bad result XML: %s", rid, result["xml_doc_in"])
            return False
        ok, count = True, 0
        for fname, no_delete in infos:
            if no_delete:
                continue
            if not safe_name(fname):
                self.log.critical("[RESULT#%d] bad file name %r in result XML", rid, fname)
                ok = False
                continue
            try:
                path = locate(fname, self.upload_dir, self.fanout)
            except DirMissing as exc:
                self.log.critical("[RESULT#%d] missing dir for %s", rid, exc)
                ok = False
                continue
            if path is None:
                # Expected when the job failed: it may never have made the file.
                log = (self.log.critical if result["outcome"] == S.RESULT_OUTCOME_SUCCESS
                       else self.log.debug)
                log("[RESULT#%d] outcome=%d client_state=%d No file %s to delete", rid,
                    result["outcome"], result["client_state"], fname)
                continue
            try:
                unlink_quietly(path)
            except OSError as exc:
                self.log.critical("[RESULT#%d] unlink %s error: %s", rid, path,
                                  os.strerror(exc.errno or errno.EIO))
                ok = False
                continue
            count += 1
            self.log.normal("[RESULT#%d] unlinked %s", rid, path)
        self.log.debug("[RESULT#%d] deleted %d file(s)", rid, count)
        return ok


def run():
    FileDeleter.run()
