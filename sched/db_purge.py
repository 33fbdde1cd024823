"""db_purge: archive, then delete, finished workunits and their results.

A workunit whose files are deleted (``file_delete_state`` DONE) is no longer
needed in the database.  Each pass, as BOINC's db_purge (database.md §8),
reads up to 1000 of them (only those last modified ``--min_age_days`` ago,
of ``--app``, outside batches or in retired ones with ``--batch``; never a
workunit whose name contains ``nodelete``), writes them and all their
results to XML archives in ``archives/``, then deletes them.

Archives have BOINC's names and records: ``wu_archive_T.xml`` and
``result_archive_T.xml`` (one ``<workunit_archive>`` / ``<result_archive>``
per row, inside ``<archive>``), and the indexes ``wu_index_T.xml`` /
``result_index_T.xml`` (``ID     T    NAME`` per line), T being the time the
files were opened; ``.gz`` with ``--gzip`` or ``--zlib``, ``.zip`` with
``--zip``; ``archives/YYYY_MM_DD/`` with ``--daily_dir``; new files after
``--max_wu_per_file`` workunits.  Existing archives are never overwritten.

Work goes in groups of workunits: their records are written and synced to
disk, then the group's results, workunits (and assignments) are deleted in
one transaction of three DELETEs.  A purge killed in between leaves the
group in the database, to be archived (again) and deleted next time: a
record may appear twice in the archives, never nowhere.
"""

import datetime
import gzip
import io
import os
import time
import zipfile
import zlib

from . import states as S
from .daemon import Daemon, Stop
from .errors import BoincError
from .xmlutil import XMLError, escape, parse_bytes

DB_QUERY_LIMIT = 1000
CHUNK = 200                     # workunits written, synced and deleted together
DEFAULT_SLEEP = 300

WU_FILENAME_PREFIX = "wu_archive"
RESULT_FILENAME_PREFIX = "result_archive"
WU_INDEX_FILENAME_PREFIX = "wu_index"
RESULT_INDEX_FILENAME_PREFIX = "result_index"
SUFFIX = {None: "", "gzip": ".gz", "zlib": ".gz", "zip": ".zip"}

# The record fields, in BOINC's order: (column, kind).  Kinds: d integer,
# e double as %.15e, f double as %f, x XML kept as it is, s text, z text
# escaped as BOINC's xml_escape, t timestamp.
WU_FIELDS = (
    ("id", "d"), ("create_time", "d"), ("appid", "d"), ("name", "s"), ("xml_doc", "x"),
    ("batch", "d"), ("rsc_fpops_est", "e"), ("rsc_fpops_bound", "e"),
    ("rsc_memory_bound", "e"), ("rsc_disk_bound", "e"), ("need_validate", "d"),
    ("canonical_resultid", "d"), ("canonical_credit", "e"), ("transition_time", "d"),
    ("delay_bound", "d"), ("error_mask", "d"), ("file_delete_state", "d"),
    ("assimilate_state", "d"), ("hr_class", "d"), ("opaque", "f"), ("min_quorum", "d"),
    ("target_nresults", "d"), ("max_error_results", "d"), ("max_total_results", "d"),
    ("max_success_results", "d"), ("result_template_file", "s"), ("priority", "d"),
    ("mod_time", "t"),
)
RESULT_FIELDS = (
    ("id", "d"), ("create_time", "d"), ("workunitid", "d"), ("server_state", "d"),
    ("outcome", "d"), ("client_state", "d"), ("hostid", "d"), ("userid", "d"),
    ("report_deadline", "d"), ("sent_time", "d"), ("received_time", "d"), ("name", "s"),
    ("cpu_time", "e"), ("xml_doc_in", "x"), ("xml_doc_out", "x"), ("stderr_out", "z"),
    ("batch", "d"), ("file_delete_state", "d"), ("validate_state", "d"),
    ("claimed_credit", "e"), ("granted_credit", "e"), ("opaque", "f"), ("random", "d"),
    ("app_version_num", "d"), ("app_version_id", "d"), ("appid", "d"), ("exit_status", "d"),
    ("teamid", "d"), ("priority", "d"), ("mod_time", "t"),
)


def _str(value):
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def xml_escape(text):
    """Escape as BOINC's xml_escape, per character: ``<`` ``&``, non-ASCII and
    tab/newline/CR as character references, other control characters dropped,
    ``]]>`` broken up."""
    out = []
    for ch in text:
        c = ord(ch)
        if ch == "<":
            out.append("&lt;")
        elif ch == "&":
            out.append("&amp;")
        elif c > 127 or c in (9, 10, 13):
            out.append("&#%d;" % c)
        elif c < 32:
            continue
        else:
            out.append(ch)
    return "".join(out).replace("]]>", "]]&gt;")


def raw_xml(text):
    """An XML fragment as it is (as BOINC writes it), or escaped if it isn't one:
    the archive stays well-formed either way."""
    if "<" not in text and "&" not in text:
        return text
    try:
        parse_bytes("<x>%s</x>" % text)
    except XMLError:
        return escape(text)
    return text


def _value(row, col, kind):
    v = row.get(col)
    if kind == "d":
        return "%d" % (v or 0)
    if kind == "e":
        return "%.15e" % (v or 0.0)
    if kind == "f":
        return "%f" % (v or 0.0)
    if kind == "t":
        if isinstance(v, datetime.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        return escape(_str(v))
    if kind == "x":
        return raw_xml(_str(v))
    if kind == "z":
        return xml_escape(_str(v))
    return escape(_str(v))


def record(tag, fields, row):
    """One archive record: each field an element on its own line."""
    lines = ["<%s>\n" % tag]
    for col, kind in fields:
        lines.append("  <%s>%s</%s>\n" % (col, _value(row, col, kind), col))
    lines.append("</%s>\n" % tag)
    return "".join(lines)


def index_line(row, time_int):
    return "%d     %d    %s\n" % (row["id"], time_int, _str(row["name"]))


class Archive:
    """One archive file, plain or compressed, opened exclusively."""

    def __init__(self, path, compression):
        self.path, self.compression = path, compression
        self.raw = open(path, "xb")
        self.zip = self.member = self.gz = None
        if compression in ("gzip", "zlib"):
            self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb")
            stream = self.gz
        elif compression == "zip":
            self.zip = zipfile.ZipFile(self.raw, "w", zipfile.ZIP_DEFLATED)
            self.member = self.zip.open("-", "w", force_zip64=True)
            stream = self.member
        else:
            stream = self.raw
        self.text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace",
                                     write_through=True)

    def write(self, s):
        self.text.write(s)

    def sync(self):
        """Make what was written so far readable from the file and durable."""
        self.text.flush()
        if self.gz is not None:
            self.gz.flush(zlib.Z_SYNC_FLUSH)
        self.raw.flush()
        os.fsync(self.raw.fileno())

    def close(self):
        self.text.flush()
        self.text.detach()
        if self.gz is not None:
            self.gz.close()
        if self.member is not None:
            self.member.close()
            self.zip.close()
        self.raw.close()


class ArchiveSet:
    """The four files written together: WU and result archives and indexes."""

    def __init__(self, daemon):
        self.d = daemon
        self.files = None
        self.time_int = 0
        self.nwus = 0

    @property
    def is_open(self):
        return self.files is not None

    def _dir(self, t):
        base = self.d.config.project_path("archives")
        if self.d.args.daily_dir:
            base = os.path.join(base, time.strftime("%Y_%m_%d", time.gmtime(t)))
            os.makedirs(base, mode=0o775, exist_ok=True)
        return base

    def _paths(self, t):
        suffix = SUFFIX[self.d.compression]
        base = self._dir(t)
        return [os.path.join(base, "%s_%d.xml%s" % (prefix, t, suffix))
                for prefix in (WU_FILENAME_PREFIX, RESULT_FILENAME_PREFIX,
                               RESULT_INDEX_FILENAME_PREFIX, WU_INDEX_FILENAME_PREFIX)]

    def open(self):
        # A time stamp of our own: never the previous set's, never an existing file's.
        t = max(int(time.time()), self.time_int + 1)
        while any(os.path.exists(p) for p in self._paths(t)):
            t += 1
        self.time_int = t
        files = []
        try:
            for path in self._paths(t):
                self.d.log.normal("Opening archive %s", path)
                files.append(Archive(path, self.d.compression))
        except OSError as exc:
            for f in files:
                f.close()
            raise BoincError("Can't open archive file %s: %s" % (exc.filename, exc.strerror))
        self.wu, self.result, self.result_index, self.wu_index = files
        self.files = files
        self.wu.write("<archive>\n")
        self.result.write("<archive>\n")
        self.nwus = 0

    def add(self, wu, results):
        for r in results:
            self.result.write(record("result_archive", RESULT_FIELDS, r))
            self.result_index.write(index_line(r, self.time_int))
        self.wu.write(record("workunit_archive", WU_FIELDS, wu))
        self.wu_index.write(index_line(wu, self.time_int))
        self.nwus += 1

    def sync(self):
        try:
            for f in self.files:
                f.sync()
        except OSError as exc:
            raise BoincError("can't write archive files in %s: %s"
                             % (os.path.dirname(self.files[0].path), exc.strerror)) from None

    def close(self):
        if not self.is_open:
            return
        self.wu.write("</archive>\n")
        self.result.write("</archive>\n")
        for f in self.files:
            f.close()
            self.d.log.normal("Closed archive file %s containing records of %d workunits",
                              f.path, self.nwus)
        self.files = None


class DbPurge(Daemon):
    name = "db_purge"
    description = "Purge workunit and result records that are no longer needed."
    sleep_interval = DEFAULT_SLEEP

    def add_arguments(self, p):
        p.add("app", metavar="NAME", help="only workunits of this application")
        p.add("batch", action="store_true", help="purge batch jobs only if the batch is retired")
        p.add("min_age_days", type=float, default=0.0, metavar="N",
              help="only workunits whose mod_time is at least N days ago")
        p.add("max", type=int, default=0, metavar="N", help="purge at most N workunits, then exit")
        p.add("zip", dest="compression", action="store_const", const="zip",
              help="compress archives with zip")
        p.add("gzip", dest="compression", action="store_const", const="gzip",
              help="compress archives with gzip")
        p.add("zlib", dest="compression", action="store_const", const="zlib",
              help="compress archives with zlib (gzip format)")
        p.add("no_archive", action="store_true", help="don't write archives, just purge")
        p.add("daily_dir", action="store_true", help="write archives in a directory per day")
        p.add("max_wu_per_file", type=int, default=0, metavar="N",
              help="start new archive files after N workunits")
        p.add("sleep", type=int, default=None, metavar="N",
              help="seconds to sleep when there is nothing to purge (default %d)" % DEFAULT_SLEEP)
        p.add("dont_delete", action="store_true",
              help="don't delete anything from the DB (for testing)")

    def setup(self):
        a = self.args
        if a.mod and not a.no_archive:
            raise BoincError("If you use modulus, you must set no_archive")
        if a.sleep is not None:
            if not 1 <= a.sleep <= 86400:
                raise BoincError("Unreasonable value of sleep interval: %d seconds" % a.sleep)
            self.sleep_interval = a.sleep
        self.compression = getattr(a, "compression", None)
        self.appid = None
        if a.app:
            app = self.db.query_one("SELECT id FROM app WHERE name=%s", (a.app,))
            if app is None:
                raise BoincError("Can't find app %s" % a.app)
            self.appid = app["id"]
        os.makedirs(self.config.project_path("archives"), exist_ok=True)
        self.archives = ArchiveSet(self)
        self.purged_workunits = 0

    def cleanup(self):
        archives = getattr(self, "archives", None)
        if archives is not None:
            archives.close()

    def time_to_quit(self):
        return 0 < self.args.max <= self.purged_workunits

    def _where(self):
        a = self.args
        clause = "file_delete_state=%s AND name NOT LIKE %s"
        params = [S.FILE_DELETE_DONE, "%nodelete%"]
        if a.min_age_days:
            clause += " AND mod_time < current_timestamp() - interval %s second"
            params.append(int(a.min_age_days * 86400))
        mod, mod_params = self.mod_clause("id")
        clause += mod
        params += mod_params
        if self.appid is not None:
            clause += " AND appid=%s"
            params.append(self.appid)
        if a.batch:
            retired = [0] + [r[0] for r in self.db.rows(
                "SELECT id FROM batch WHERE state=%s", (S.BATCH_STATE_RETIRED,))]
            clause += " AND batch IN (%s)" % ",".join(["%s"] * len(retired))
            params += retired
        return clause, params

    def do_pass(self):
        if self.time_to_quit():
            raise Stop()
        clause, params = self._where()
        limit = DB_QUERY_LIMIT
        if self.args.max:
            limit = min(limit, self.args.max - self.purged_workunits)
        wus = self.db.query("SELECT * FROM workunit WHERE " + clause + " ORDER BY id LIMIT %s",
                            params + [limit])
        nwus = nresults = 0
        i = 0
        while i < len(wus):
            self.check_stop()
            size = CHUNK
            if self.args.max_wu_per_file and not self.args.no_archive:
                room = self.args.max_wu_per_file - (self.archives.nwus
                                                    if self.archives.is_open else 0)
                size = min(size, room)
            chunk = wus[i:i + size]
            nresults += self.purge(chunk)
            nwus += len(chunk)
            i += len(chunk)
        if nwus:
            self.log.normal("Archived %d workunits and %d results", nwus, nresults)
        if self.archives.is_open:
            self.log.debug("Currently open archive files contain %d workunits",
                           self.archives.nwus)
        if self.time_to_quit():
            raise Stop()
        # A big haul: more may be waiting, so go again at once.
        did = nwus > DB_QUERY_LIMIT // 2
        if not did and not self.args.one_pass:
            self.log.normal("No WUs to purge; sleeping %d", self.sleep_interval)
        return did

    def purge(self, wus):
        """Archive and delete a group of workunits; return how many results went."""
        ids = [w["id"] for w in wus]
        marks = ",".join(["%s"] * len(ids))
        results = self.db.query(
            "SELECT * FROM result WHERE workunitid IN (%s) ORDER BY id" % marks, ids)
        by_wu = {}
        for r in results:
            by_wu.setdefault(r["workunitid"], []).append(r)
        if not self.args.no_archive:
            if not self.archives.is_open:
                self.archives.open()
            for w in wus:
                self.archives.add(w, by_wu.get(w["id"], []))
            self.archives.sync()
            self.log.debug("Archived workunits %s to a file", _ranges(ids))
        if self.args.dont_delete:
            self.log.debug("Didn't purge workunits %s from database (--dont_delete)",
                           _ranges(ids))
        else:
            rids = [r["id"] for r in results]
            with self.db.transaction():
                if rids:
                    self.db.execute("DELETE FROM result WHERE id IN (%s)"
                                    % ",".join(["%s"] * len(rids)), rids)
                self.db.execute("DELETE FROM workunit WHERE id IN (%s)" % marks, ids)
                if self.config.enable_assignment:
                    self.db.execute("DELETE FROM assignment WHERE workunitid IN (%s)"
                                    % marks, ids)
            for r in results:
                self.log.normal("Purged result [%d] batch %d", r["id"], r["batch"])
            for w in wus:
                self.log.normal("Purged workunit [%d] batch %d", w["id"], w["batch"])
        self.purged_workunits += len(wus)
        if (self.args.max_wu_per_file and self.archives.is_open
                and self.archives.nwus >= self.args.max_wu_per_file):
            self.archives.close()
        return len(results)


def _ranges(ids):
    return "[%d..%d] (%d)" % (min(ids), max(ids), len(ids)) if ids else "[]"


def run():
    DbPurge.run()
