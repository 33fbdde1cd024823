"""db_dump: the statistics export that statistics sites download.

A daily task (disabled in a new project's config.xml).  It writes, per
enumeration of the dump spec, every user, team or host with credit (and the
public ids of deleted accounts and hosts) as BOINC's XML records, plus
``tables.xml`` (totals, applications, badges), ``badge_user.gz`` and
``badge_team.gz`` when badges exist, and a copy of the spec as
``db_dump.xml``.  Everything is written into the spec's ``<output_dir>``,
which then replaces ``<final_output_dir>`` (normally ``html/stats``) in one
atomic exchange; the previous dump is kept as ``FINAL_Y_M_D_h_m_s`` (or
``ARCHIVE_DIR/stats_...``), as BOINC's does.

The spec (``--dump_spec FILE``; without it the project's
``db_dump_spec.xml``, else BOINC's default spec, :data:`DEFAULT_SPEC`) is
BOINC's format::

    <boinc_db_dump_spec>
      <output_dir>../html/stats_tmp</output_dir>
      <final_output_dir>../html/stats</final_output_dir>
      [<archive_dir>D</archive_dir>]
      <enumeration>
        <table>user|team|host|user_deleted|host_deleted</table>
        <filename>user</filename>
        [<sort>id|total_credit|expavg_credit</sort>]
        <output> [<compression>gzip|zip</compression>] [<detail/>]
                 [<recs_per_file>N</recs_per_file>] </output> ...
      </enumeration> ...
    </boinc_db_dump_spec>

Relative directories are taken from the project's ``tmp_HOST`` directory
(where bin/start runs tasks), so the same spec works when run by hand.

Records are BOINC's byte for byte: its element order and indentation,
``%f`` numbers, the public CPID ``md5(cross_project_id + email_addr)`` of a
user and a host's ``host_cpid``, and text escaped as BOINC's xml_escape
does (``<``, ``&``, a tab or newline and every byte above 127 of the UTF-8
text as ``&#N;``; statistics sites decode that form).  Users, and hosts,
of users who refused the STATSEXPORT consent (when that consent type is
enabled) are left out; the totals count them.

Where we differ, on purpose: everything is read in one consistent snapshot
(totals match the records), 2000 rows at a time; a spec error (unknown
table, sort or compression, no filename) stops the run with a message
instead of silently dropping the enumeration; ``recs_per_file`` works with
any sort (BOINC's writes nothing unless sorted by id); ``zip`` archives hold
the file under its own name (and, as BOINC's, the plain file stays); a
team's ``<detail/>`` member list leaves out deleted accounts and honours
the consent; an empty previous dump directory (as make_project leaves
``html/stats``) is removed rather than archived.
"""

import ctypes
import errno
import fcntl
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass, field

from . import __version__
from . import db as dbmod
from .daemon import Daemon
from .errors import BoincError
from .xmlutil import XMLError, parse_bool, parse_bytes

# BOINC's default spec (what make_project installs as db_dump_spec.xml).
DEFAULT_SPEC = """<boinc_db_dump_spec>
    <output_dir>../html/stats_tmp</output_dir>
    <final_output_dir>../html/stats</final_output_dir>
    <enumeration>
        <table>user</table>
        <filename>user</filename>
        <output>
            <compression>gzip</compression>
        </output>
    </enumeration>
    <enumeration>
        <table>user_deleted</table>
        <filename>user_deleted</filename>
        <output>
            <compression>gzip</compression>
        </output>
    </enumeration>
    <enumeration>
        <table>host</table>
        <filename>host</filename>
        <output>
            <compression>gzip</compression>
            <detail/>
        </output>
    </enumeration>
    <enumeration>
        <table>host_deleted</table>
        <filename>host_deleted</filename>
        <output>
            <compression>gzip</compression>
            <detail/>
        </output>
    </enumeration>
    <enumeration>
        <table>team</table>
        <filename>team</filename>
        <output>
            <compression>gzip</compression>
        </output>
    </enumeration>
</boinc_db_dump_spec>
"""

# table -> the root element of its files
ROOT_TAGS = {"user": "users", "team": "teams", "host": "hosts",
             "user_deleted": "users_deleted", "host_deleted": "hosts_deleted"}
SORTS = ("id", "total_credit", "expavg_credit")
COMPRESSIONS = ("gzip", "zip")
STATS_CONSENT = "STATSEXPORT"
PAGE = 2000


# ------------------------------------------------------------------ the spec

@dataclass
class Output:
    compression: str = ""           # "", "gzip" or "zip"
    detail: bool = False
    recs_per_file: int = 0


@dataclass
class Enumeration:
    table: str
    filename: str
    sort: str = ""                  # "", or one of SORTS
    outputs: list = field(default_factory=list)


@dataclass
class DumpSpec:
    output_dir: str
    final_output_dir: str
    archive_dir: str = ""
    enumerations: list = field(default_factory=list)
    text: bytes = b""               # the spec as read (copied into the dump)


def _text(elem, tag):
    child = elem.find(tag)
    return (child.text or "").strip() if child is not None else ""


def parse_spec(data, where="the dump spec"):
    """A :class:`DumpSpec` from the spec's text; BoincError naming any problem."""
    try:
        root = parse_bytes(data)
    except XMLError as exc:
        raise BoincError("%s is not well-formed XML: %s" % (where, exc)) from None
    if root.tag != "boinc_db_dump_spec":
        raise BoincError("%s: the root element must be <boinc_db_dump_spec>" % where)
    spec = DumpSpec(_text(root, "output_dir"), _text(root, "final_output_dir"),
                    _text(root, "archive_dir"),
                    text=data.encode() if isinstance(data, str) else data)
    for tag in ("output_dir", "final_output_dir"):
        if not getattr(spec, tag):
            raise BoincError("%s has no <%s>" % (where, tag))
    for e in root.findall("enumeration"):
        table, filename, sort = _text(e, "table"), _text(e, "filename"), _text(e, "sort")
        if table not in ROOT_TAGS:
            raise BoincError("%s: <table>%s</table> is not one of %s"
                             % (where, table, ", ".join(ROOT_TAGS)))
        if not filename or "/" in filename:
            raise BoincError("%s: the %s enumeration needs a <filename> (a plain name)"
                             % (where, table))
        if sort and sort not in SORTS:
            raise BoincError("%s: <sort>%s</sort> is not one of %s"
                             % (where, sort, ", ".join(SORTS)))
        enum = Enumeration(table, filename, sort)
        for o in e.findall("output"):
            compression = _text(o, "compression")
            if compression and compression not in COMPRESSIONS:
                raise BoincError("%s: <compression>%s</compression> is not gzip or zip"
                                 % (where, compression))
            detail = o.find("detail")
            try:
                per_file = int(_text(o, "recs_per_file") or 0)
            except ValueError:
                raise BoincError("%s: <recs_per_file> must be a number" % where) from None
            enum.outputs.append(Output(compression, detail is not None and parse_bool(detail),
                                       max(per_file, 0)))
        spec.enumerations.append(enum)
    return spec


# ------------------------------------------------------------------ records

_PLAIN = re.compile(r"[ -%'-;=-~]*\Z")     # printable ASCII but & and <


def xml_escape(text):
    """Text as BOINC's xml_escape writes it (bytes above 127 as ``&#N;``)."""
    text = text or ""
    if _PLAIN.match(text) and "]]>" not in text:
        return text
    out = []
    data = text.encode("utf-8")
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x3C:
            out.append("&lt;")
        elif b == 0x26:
            out.append("&amp;")
        elif b > 127 or b in (9, 10, 13):
            out.append("&#%d;" % b)
        elif b < 32:
            pass                                # other control characters: dropped
        elif b == 0x5D and data.startswith(b"]]>", i):
            out.append("]]&gt;")
            i += 2
        else:
            out.append(chr(b))
        i += 1
    return "".join(out)


def raw(text):
    """A value BOINC writes unescaped; escaped only where it would break the XML."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def public_cpid(user):
    """The user's cross-project id as published: md5(cross_project_id + email_addr)."""
    return hashlib.md5(((user["cross_project_id"] or "") + (user["email_addr"] or ""))
                       .encode("utf-8")).hexdigest()


def user_record(u, cfg):
    lines = ["<user>", " <id>%d</id>" % u["id"], " <name>%s</name>" % xml_escape(u["name"]),
             " <create_time>%d</create_time>" % u["create_time"],
             " <total_credit>%f</total_credit>" % u["total_credit"],
             " <expavg_credit>%f</expavg_credit>" % u["expavg_credit"],
             " <expavg_time>%f</expavg_time>" % u["expavg_time"],
             " <cpid>%s</cpid>" % public_cpid(u)]
    if cfg.user_country and u["country"]:
        lines.append(" <country>%s</country>" % raw(u["country"]))
    if cfg.user_url and u["url"]:
        lines.append(" <url>%s</url>" % xml_escape(u["url"]))
    if u["teamid"]:
        lines.append(" <teamid>%d</teamid>" % u["teamid"])
    if u["has_profile"]:
        lines.append(" <has_profile/>")
    lines.append("</user>")
    return "\n".join(lines) + "\n"


def user_deleted_record(u):
    return ("<user>\n    <id>%d</id>\n    <cpid>%s</cpid>\n</user>\n"
            % (u["userid"], raw(u["public_cross_project_id"])))


def host_deleted_record(h):
    return ("<host>\n    <id>%d</id>\n    <host_cpid>%s</host_cpid>\n</host>\n"
            % (h["hostid"], raw(h["public_cross_project_id"])))


_HOST_DETAIL = (("create_time", "%d", "create_time"), ("rpc_time", "%d", "rpc_time"),
                ("timezone", "%d", "timezone"), ("ncpus", "%d", "p_ncpus"),
                ("p_fpops", "%f", "p_fpops"), ("p_iops", "%f", "p_iops"),
                ("p_membw", "%f", "p_membw"), ("m_nbytes", "%f", "m_nbytes"),
                ("m_cache", "%f", "m_cache"), ("m_swap", "%f", "m_swap"),
                ("d_total", "%f", "d_total"), ("d_free", "%f", "d_free"),
                ("n_bwup", "%f", "n_bwup"), ("n_bwdown", "%f", "n_bwdown"),
                ("avg_turnaround", "%f", "avg_turnaround"),
                ("credit_per_cpu_sec", "%f", "credit_per_cpu_sec"))


def host_record(h, detail):
    lines = ["<host>", "    <id>%d</id>" % h["id"]]
    if detail and h["owner_show_hosts"]:
        lines.append("    <userid>%d</userid>" % h["userid"])
    misc = (h.get("misc") or "").replace("]]>", "]]]]><![CDATA[>")
    lines += ["    <total_credit>%f</total_credit>" % h["total_credit"],
              "    <expavg_credit>%f</expavg_credit>" % h["expavg_credit"],
              "    <expavg_time>%f</expavg_time>" % h["expavg_time"],
              "    <p_vendor>%s</p_vendor>" % xml_escape(h["p_vendor"]),
              "    <p_model>%s</p_model>" % xml_escape(h["p_model"]),
              "    <os_name>%s</os_name>" % xml_escape(h["os_name"]),
              "    <os_version>%s</os_version>" % xml_escape(h["os_version"]),
              "    <misc><![CDATA[%s]]></misc>" % misc]
    if detail:
        lines += ["  <%s>%s</%s>" % (tag, fmt % h[col], tag) for tag, fmt, col in _HOST_DETAIL]
        lines.append("  <host_cpid>%s</host_cpid>" % raw(h["host_cpid"]))
    lines.append("</host>")
    return "\n".join(lines) + "\n"


def team_record(t, detail, cfg, members=()):
    lines = ["<team>", " <id>%d</id>" % t["id"], " <type>%d</type>" % t["type"],
             " <name>%s</name>" % xml_escape(t["name"]), " <userid>%d</userid>" % t["userid"],
             " <total_credit>%f</total_credit>" % t["total_credit"],
             " <expavg_credit>%f</expavg_credit>" % t["expavg_credit"],
             " <expavg_time>%f</expavg_time>" % t["expavg_time"]]
    if t["founder_id"] is not None:
        lines.append("  <founder_name>%s</founder_name>" % xml_escape(t["founder_name"]))
    lines.append(" <create_time>%d</create_time>" % t["create_time"])
    if t["url"]:
        lines.append(" <url>%s</url>" % xml_escape(t["url"]))
    if t["name_html"]:
        lines.append("<name_html>%s</name_html>" % xml_escape(t["name_html"]))
    if t["description"]:
        lines.append("<description>%s</description>" % xml_escape(t["description"]))
    lines.append(" <country>%s</country>" % raw(t["country"]))
    text = "\n".join(lines) + "\n"
    if detail:
        text += "".join(user_record(u, cfg) for u in members)
    return text + "</team>\n"


# ------------------------------------------------------------------ files

class RecordFile:
    """One file of records inside ``<tag>...</tag>``, compressed as asked."""

    def __init__(self, path, tag, compression):
        self.path, self.tag, self.compression = path, tag, compression
        if compression == "gzip":
            self.f = gzip.open(path + ".gz", "wb", compresslevel=6)
        else:
            self.f = open(path, "wb")
        self.f.write(('<?xml version="1.0" encoding="utf-8"?>\n<%s>\n' % tag).encode())

    def write(self, text):
        self.f.write(text.encode("utf-8"))

    def close(self):
        self.f.write(("</%s>\n" % self.tag).encode())
        self.f.close()
        if self.compression == "zip":
            with zipfile.ZipFile(self.path + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
                z.write(self.path, os.path.basename(self.path))


class Sink:
    """Where one ``<output>`` goes: one file, or ``NAME_0``, ``NAME_1`` ...
    of ``recs_per_file`` records each."""

    def __init__(self, output, path, tag):
        self.output, self.path, self.tag = output, path, tag
        self.count = 0
        self.file = None if output.recs_per_file else RecordFile(path, tag, output.compression)

    def write(self, text):
        per_file = self.output.recs_per_file
        if per_file and self.count % per_file == 0:
            if self.file:
                self.file.close()
            self.file = RecordFile("%s_%d" % (self.path, self.count // per_file), self.tag,
                                   self.output.compression)
        self.count += 1
        self.file.write(text)

    def close(self):
        if self.file:
            self.file.close()
            self.file = None


# ------------------------------------------------------------------ reading

USER_COLS = ("t.id, t.name, t.create_time, t.total_credit, t.expavg_credit, t.expavg_time, "
             "t.cross_project_id, t.email_addr, t.country, t.url, t.teamid, t.has_profile")
USER_WHERE = "t.total_credit > 0 AND (t.authenticator IS NULL OR t.authenticator NOT LIKE %s)"
HOST_WHERE = "t.total_credit > 0 AND NOT (t.domain_name <=> 'deleted') AND t.userid <> 0"
DELETED_PREFIX = "deleted%"


def pages(db, select, where, args, sort="", key="id"):
    """Rows of ``select ... WHERE where`` in ``sort`` order, PAGE at a time
    (keyset paging: each page continues after the last row of the one before)."""
    last = None
    while True:
        cond, extra = where, list(args)
        if sort in ("total_credit", "expavg_credit"):
            order = "t.%s DESC, t.%s" % (sort, key)
            if last is not None:
                cond += " AND (t.{0} < %s OR (t.{0} = %s AND t.{1} > %s))".format(sort, key)
                extra += [last[sort], last[sort], last[key]]
        else:
            order = "t.%s" % key
            if last is not None:
                cond += " AND t.%s > %%s" % key
                extra.append(last[key])
        rows = db.query("%s WHERE %s ORDER BY %s LIMIT %d" % (select, cond, order, PAGE), extra)
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1]


class Dump:
    """One run: reads the DB (in one snapshot) and writes the files into ``out_dir``."""

    def __init__(self, db, cfg, spec, out_dir, log):
        self.db, self.cfg, self.spec, self.out_dir, self.log = db, cfg, spec, out_dir, log
        self.totals = {}                # nusers_total ... -> value
        self.consent_id = None

    def run(self):
        ct = self.db.query_one("SELECT id, enabled FROM consent_type WHERE shortname = %s",
                               (STATS_CONSENT,))
        if ct and ct["enabled"]:
            self.consent_id = ct["id"]
        for enum in self.spec.enumerations:
            self.log.debug("writing %s (%s)", enum.filename, enum.table)
            self.enumerate(enum)
        self.tables_file()
        if self.db.scalar("SELECT COUNT(*) FROM badge"):
            self.badge_file("badge_user", "badge_users", "user_id")
            self.badge_file("badge_team", "badge_teams", "team_id")

    def consent_join(self, column):
        if self.consent_id is None:
            return "", []
        return (" JOIN (SELECT userid FROM latest_consent WHERE consent_type_id = %%s AND "
                "consent_flag = 1) AS lc ON lc.userid = %s" % column, [self.consent_id])

    def enumerate(self, enum):
        path = os.path.join(self.out_dir, enum.filename)
        sinks = [Sink(o, path, ROOT_TAGS[enum.table]) for o in enum.outputs]
        try:
            getattr(self, "dump_" + enum.table)(enum, sinks)
        finally:
            for s in sinks:
                s.close()

    @staticmethod
    def emit(sinks, render):
        made = {}
        for s in sinks:
            detail = s.output.detail
            if detail not in made:
                made[detail] = render(detail)
            s.write(made[detail])

    def dump_user(self, enum, sinks):
        where, args = USER_WHERE, [DELETED_PREFIX]
        n, total = self.db.rows("SELECT COUNT(*), SUM(total_credit) FROM user t WHERE "
                                + where, args)[0]
        self.totals["nusers_total"], self.totals["total_credit"] = n, total or 0.0
        join, jargs = self.consent_join("t.id")
        select = "SELECT %s FROM user t%s" % (USER_COLS, join)
        for u in pages(self.db, select, where, jargs + args, enum.sort):
            self.emit(sinks, lambda detail: user_record(u, self.cfg))

    def dump_host(self, enum, sinks):
        self.totals["nhosts_total"] = self.db.scalar(
            "SELECT COUNT(*) FROM host t WHERE " + HOST_WHERE)
        join, jargs = self.consent_join("t.userid")
        select = ("SELECT t.*, o.id AS owner_id, o.show_hosts AS owner_show_hosts FROM host t"
                  "%s LEFT JOIN user o ON o.id = t.userid" % join)
        warned = set()
        for h in pages(self.db, select, HOST_WHERE, jargs, enum.sort):
            if h["owner_id"] is None and h["userid"] not in warned:
                warned.add(h["userid"])
                self.log.critical("user lookup of user %d for host %d: not found",
                                  h["userid"], h["id"])
            self.emit(sinks, lambda detail: host_record(h, detail))

    def dump_team(self, enum, sinks):
        self.totals["nteams_total"] = self.db.scalar(
            "SELECT COUNT(*) FROM team t WHERE t.total_credit > 0")
        select = ("SELECT t.*, f.id AS founder_id, f.name AS founder_name FROM team t "
                  "LEFT JOIN user f ON f.id = t.userid")
        want_members = any(o.detail for o in enum.outputs)
        batch = []
        for t in pages(self.db, select, "t.total_credit > 0", [], enum.sort):
            batch.append(t)
            if len(batch) == PAGE:
                self._teams(batch, sinks, want_members)
                batch = []
        self._teams(batch, sinks, want_members)

    def _teams(self, teams, sinks, want_members):
        members = {}
        if want_members and teams:
            join, jargs = self.consent_join("t.id")
            ids = [t["id"] for t in teams]
            for u in self.db.query(
                    "SELECT %s FROM user t%s WHERE t.teamid IN (%s) AND (t.authenticator IS "
                    "NULL OR t.authenticator NOT LIKE %%s) ORDER BY t.teamid, t.id"
                    % (USER_COLS, join, ", ".join(["%s"] * len(ids))),
                    jargs + ids + [DELETED_PREFIX]):
                members.setdefault(u["teamid"], []).append(u)
        for t in teams:
            self.emit(sinks, lambda detail: team_record(t, detail, self.cfg,
                                                         members.get(t["id"], ())))

    def dump_user_deleted(self, enum, sinks):
        select = "SELECT t.userid, t.public_cross_project_id FROM user_deleted t"
        n = 0
        for u in pages(self.db, select, "1", [], key="userid"):
            n += 1
            self.emit(sinks, lambda detail: user_deleted_record(u))
        self.totals["nusers_deleted_total"] = n

    def dump_host_deleted(self, enum, sinks):
        select = "SELECT t.hostid, t.public_cross_project_id FROM host_deleted t"
        n = 0
        for h in pages(self.db, select, "1", [], key="hostid"):
            n += 1
            self.emit(sinks, lambda detail: host_deleted_record(h))
        self.totals["nhosts_deleted_total"] = n

    def tables_file(self):
        f = RecordFile(os.path.join(self.out_dir, "tables.xml"), "tables", "")
        f.write("    <update_time>%d</update_time>\n" % int(time.time()))
        if self.cfg.credit_by_app:
            f.write("    <credit_by_app/>\n")
        for tag in ("nusers_total", "nteams_total", "nhosts_total", "nusers_deleted_total",
                    "nhosts_deleted_total"):
            if self.totals.get(tag):
                f.write("    <%s>%d</%s>\n" % (tag, self.totals[tag], tag))
        if self.totals.get("total_credit"):
            f.write("    <total_credit>%f</total_credit>\n" % self.totals["total_credit"])
        f.write("    <applications>\n")
        for app in self.db.query("SELECT user_friendly_name FROM app ORDER BY id"):
            f.write("        <application>\n            <name>%s</name>\n"
                    "        </application>\n" % raw(app["user_friendly_name"]))
        f.write("    </applications>\n    <badges>\n")
        for b in self.db.query("SELECT id, name, title, image_url FROM badge ORDER BY id"):
            f.write("       <badge>\n           <id>%d</id>\n           <name>%s</name>\n"
                    "           <title>%s</title>\n           <image_url>%s</image_url>\n"
                    "       </badge>\n" % (b["id"], raw(b["name"]), raw(b["title"]),
                                           raw(b["image_url"])))
        f.write("    </badges>\n")
        f.close()

    def badge_file(self, table, tag, owner):
        f = RecordFile(os.path.join(self.out_dir, table), tag, "gzip")
        item = tag[:-1]
        last = (-1, -1)
        while True:
            rows = self.db.query(
                "SELECT {0}, badge_id, create_time FROM {1} WHERE ({0} > %s OR ({0} = %s AND "
                "badge_id > %s)) ORDER BY {0}, badge_id LIMIT {2}".format(owner, table, PAGE),
                (last[0], last[0], last[1]))
            for r in rows:
                f.write(" <%s>\n    <%s>%d</%s>\n    <badge_id>%d</badge_id>\n"
                        "    <create_time>%.0f</create_time>\n </%s>\n"
                        % (item, owner, r[owner], owner, r["badge_id"], r["create_time"], item))
            if len(rows) < PAGE:
                break
            last = (rows[-1][owner], rows[-1]["badge_id"])
        f.close()


# ------------------------------------------------------------------ publishing

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a, b):
    """Swap two paths atomically (Linux renameat2); False where unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), b)


def archive_name(base, now):
    t = time.localtime(now)
    name = "%s_%d_%d_%d_%d_%d_%d" % (base, t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour,
                                     t.tm_min, t.tm_sec)
    candidate, n = name, 1
    while os.path.lexists(candidate):       # two runs within a second
        candidate, n = "%s_%d" % (name, n), n + 1
    return candidate


def publish(out_dir, final_dir, archive_dir="", now=None):
    """Make ``out_dir`` the new ``final_dir``; return where the old one went (or None).

    Readers of ``final_dir`` see the old dump or the new one, never none.
    """
    if not os.path.lexists(final_dir):
        os.rename(out_dir, final_dir)
        return None
    base = os.path.join(archive_dir, "stats") if archive_dir else final_dir
    now = time.time() if now is None else now
    if exchange(out_dir, final_dir):
        old = out_dir
    else:                                   # no atomic swap here: two renames
        old = archive_name(base, now)
        os.makedirs(os.path.dirname(old), exist_ok=True)
        shutil.move(final_dir, old)
        os.rename(out_dir, final_dir)
    if os.path.isdir(old) and not os.path.islink(old) and not os.listdir(old):
        os.rmdir(old)
        return None
    if old == out_dir:
        target = archive_name(base, now)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(old, target)
        old = target
    return old


# ------------------------------------------------------------------ the program

class DbDump(Daemon):
    name = "db_dump"
    description = ("Write the statistics files (users, teams, hosts) that statistics sites "
                   "read; run once a day as a task.")
    needs_db = False

    def add_arguments(self, p):
        p.add_argument("-v", "--version", action="version", version="%(prog)s " + __version__)
        p.add("dump_spec", metavar="FILE",
              help="the dump spec (default: the project's db_dump_spec.xml, else BOINC's "
                   "default spec)")
        p.add("db_host", metavar="H", help="read the database on host H")
        p.add("retry_period", type=int, default=0, metavar="N",
              help="when the database can't be reached, retry every N seconds")

    def setup(self):
        self.args.one_pass = True       # a task: one dump per run
        self.log.normal("db_dump starting")
        self.spec, self.spec_name = self.read_spec()
        base = self.config.dir("tmp")
        self.out_dir = self.resolve(base, self.spec.output_dir)
        self.final_dir = self.resolve(base, self.spec.final_output_dir)
        self.archive_dir = (self.resolve(base, self.spec.archive_dir)
                            if self.spec.archive_dir else "")
        if self.out_dir == self.final_dir:
            raise BoincError("%s: <output_dir> and <final_output_dir> must differ"
                             % self.spec_name)
        self.lock_fd = self.take_lock(os.path.join(self.config.dir("pid"), "db_dump.lock"))
        self.db = self.open_db()

    @staticmethod
    def resolve(base, path):
        return os.path.normpath(os.path.join(base, os.path.expanduser(path)))

    def read_spec(self):
        path = self.args.dump_spec
        if not path and os.path.exists(self.config.project_path("db_dump_spec.xml")):
            path = self.config.project_path("db_dump_spec.xml")
        if not path:
            self.log.normal("no --dump_spec and no %s: using the default spec",
                            self.config.project_path("db_dump_spec.xml"))
            return parse_spec(DEFAULT_SPEC, "the default dump spec"), "the default dump spec"
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise BoincError("can't read the dump spec %s: %s" % (path, exc.strerror)) from None
        return parse_spec(data, path), path

    def take_lock(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise BoincError("Another copy of db_dump is already running (%s is locked)"
                             % path) from None
        return fd

    def open_db(self):
        r = self.config.replica
        conn = dbmod.Database(r["name"], r["user"], r["passwd"], self.args.db_host or r["host"],
                              self.config.db_port,
                              "" if self.args.db_host else self.config.db_socket,
                              setting="--db_host" if self.args.db_host else
                              "%s <replica_db_*>/<db_*>" % self.config.path)
        while True:
            try:
                return conn.connect()
            except dbmod.DatabaseError as exc:
                if not self.args.retry_period:
                    raise
                self.log.critical("Can't open DB: %s", exc)
                self.sleep(self.args.retry_period)

    def do_pass(self):
        try:
            return self.dump()
        except OSError as exc:              # a full disk, a directory we may not write
            raise BoincError("%s: %s" % (exc.filename or self.out_dir,
                                         exc.strerror or exc)) from None

    def dump(self):
        if os.path.lexists(self.out_dir):   # left by an interrupted run (we hold the lock)
            shutil.rmtree(self.out_dir)
        os.makedirs(self.out_dir)
        with self.db.transaction():
            self.db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            self.db.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            Dump(self.db, self.config, self.spec, self.out_dir, self.log).run()
        if self.config.credit_by_app:
            self.export_credit_by_app()
        with open(os.path.join(self.out_dir, "db_dump.xml"), "wb") as f:
            f.write(self.spec.text)
        self.check_stop()
        old = publish(self.out_dir, self.final_dir, self.archive_dir)
        if old:
            self.log.normal("previous dump moved to %s", old)
        self.log.normal("db_dump finished")
        return True

    def export_credit_by_app(self):
        """With <credit_by_app/>, BOINC's PHP script adds user_work/team_work."""
        ops = self.config.project_path("html", "ops")
        script = os.path.join(ops, "export_credit_by_app.php")
        if not os.access(script, os.X_OK):
            self.log.critical("<credit_by_app> is set but %s (BOINC's PHP, which reads the "
                              "project's sub-projects) isn't there: no user_work/team_work "
                              "files", script)
            return
        status = subprocess.call([script, self.out_dir], cwd=ops, stdin=subprocess.DEVNULL)
        if status:
            self.log.critical("export_credit_by_app.php failed: %d", status)

    def cleanup(self):
        fd = getattr(self, "lock_fd", None)
        if fd is not None:
            os.close(fd)


def run():
    DbDump.run()
