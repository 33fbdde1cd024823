"""The project database's schema: create it, load it, and check an existing one.

``db/schema.sql`` builds the tables, indexes, view and initial rows that
BOINC's make_project builds.  ``db/description/*.tsv`` is the same schema as
information_schema shows it on MariaDB (regenerate with
``write_tsv(describe(db), DESCRIPTION_DIR)`` after changing schema.sql; the
tests check the two agree).

A *description* is a dict::

    {"tables":  {table: Table(engine, collation)},       # a view: (None, None)
     "columns": {table: [Column, ...]},                  # in ordinal order
     "indexes": {table: {index_name: Index(unique, ((column, sub_part, order), ...))}}}

with values in MariaDB's spelling (``int(11)``, ``'x'`` for string defaults,
``current_timestamp()``); MySQL 8's spelling is translated on the way in.
``compare`` lists every difference; ``compatibility_problems`` keeps only the
ones our server can't run with.
"""

import csv
import os
import re
from dataclasses import dataclass

from .errors import BoincError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DESCRIPTION_DIR = os.path.join(ROOT, "db", "description")
CHARSET, COLLATION = "utf8mb4", "utf8mb4_unicode_ci"

# Tables the scheduler, daemons and tools read or write (database.md §2).
CORE_TABLES = (
    "platform", "app", "app_version", "user", "team", "host", "host_app_version",
    "workunit", "result", "batch", "user_submit", "user_submit_app", "job_file",
    "msg_from_host", "msg_to_host", "assignment", "credit_user", "credit_team",
    "credited_job",
)
# Added to BOINC after projects we must be able to take over were made.
OPTIONAL_COLUMNS = {("host", "misc")}
OPTIONAL_UNIQUE = {("user", ("name",))}


@dataclass(frozen=True)
class Table:
    engine: object          # None for a view
    collation: object


@dataclass(frozen=True)
class Column:
    name: str
    type: str               # column_type, e.g. "varchar(191)", "int(10) unsigned"
    nullable: bool
    default: object         # None = no default; else MariaDB's text, e.g. "0", "''"
    extra: str = ""         # "auto_increment", "on update current_timestamp()"

    def sql(self):
        out = [self.type, "NULL" if self.nullable else "NOT NULL"]
        if self.default is not None:
            out.append("DEFAULT " + self.default)
        if self.extra:
            out.append(self.extra)
        return " ".join(out)


@dataclass(frozen=True)
class Index:
    unique: bool
    columns: tuple          # ((column, sub_part or None, "A" | "D" | None), ...)

    @property
    def fulltext(self):
        return all(order is None for _, _, order in self.columns)

    def sql(self, name=""):
        kind = ("PRIMARY KEY" if name == "PRIMARY" else "UNIQUE" if self.unique
                else "FULLTEXT" if self.fulltext else "KEY")
        cols = ", ".join("%s%s%s" % (c, "(%d)" % sub if sub else "",
                                     " DESC" if order == "D" else "")
                         for c, sub, order in self.columns)
        return "%s (%s)" % (kind, cols)


# Indexes of ours beyond BOINC's schema, made with every database we create
# (load_schema) and used when present, never required.  res_feeder hands the
# feeder the unsent results already in its order (priority DESC, workunitid),
# so an enumeration reads its LIMIT rows instead of sorting the whole unsent
# pool (linear in the pool: 0.3 s at 120,000 unsent results, 10 ms this way).
# DESC needs MariaDB 10.8 or MySQL 8; older servers make an ascending index,
# which the feeder doesn't use.
ADDED_INDEXES = {
    ("result", "res_feeder"): Index(False, (("server_state", None, "A"),
                                            ("priority", None, "D"),
                                            ("workunitid", None, "A"))),
}


def schema_path():
    """db/schema.sql in this checkout."""
    return os.path.join(ROOT, "db", "schema.sql")


# -- creating and loading

def _check_name(name):
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name or ""):
        raise BoincError("database name %r: use 1-64 letters, digits and '_' only" % name)


def create_database(admin_db, name, drop_first=False):
    """CREATE DATABASE as make_project does (utf8mb4, unicode collation)."""
    _check_name(name)
    if drop_first:
        admin_db.execute("DROP DATABASE IF EXISTS `%s`" % name)
    elif admin_db.scalar("SELECT COUNT(*) FROM information_schema.schemata "
                         "WHERE schema_name = %s", (name,)):
        raise BoincError("database '%s' already exists; drop it first or choose "
                         "another db_name" % name)
    admin_db.execute("CREATE DATABASE `%s` CHARACTER SET %s COLLATE %s"
                     % (name, CHARSET, COLLATION))


def load_schema(db):
    """Run db/schema.sql in ``db``'s (empty) database."""
    name = db.scalar("SELECT DATABASE()")
    if not name:
        raise BoincError("%s: no database selected to load the schema into" % db.describe())
    n = db.scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s",
                  (name,))
    if n:
        raise BoincError("database '%s' already has %d tables; the schema can only be "
                         "loaded into an empty database" % (name, n))
    with open(schema_path(), encoding="utf-8") as f:
        db.execute_script(f.read())
    add_indexes(db)


def add_indexes(db):
    """Make the ADDED_INDEXES the connected database lacks; their names."""
    present = indexes(db)
    made = []
    for table, name in sorted(ADDED_INDEXES):
        if table in present and name not in present[table]:
            db.execute(add_index_sql(table, name))
            made.append("%s.%s" % (table, name))
    return made


def add_index_sql(table, name):
    """The ALTER TABLE that makes the ADDED_INDEXES entry ``name``."""
    cols = ADDED_INDEXES[(table, name)].sql(name).split(" ", 1)[1]
    return "ALTER TABLE %s ADD INDEX %s %s" % (table, name, cols)


def index_like(db, table, name):
    """The name of ``table``'s index that starts with the columns (and
    directions) of the ADDED_INDEXES entry ``name``, or None."""
    want = ADDED_INDEXES[(table, name)].columns
    for index_name, index in indexes(db, table).get(table, {}).items():
        if index.columns[:len(want)] == want:
            return index_name
    return None


# -- reading a schema

_INT_WIDTH = {"tinyint": (4, 3), "smallint": (6, 5), "mediumint": (9, 8),
              "int": (11, 10), "bigint": (20, 20)}
_STRING_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext",
                 "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
                 "enum", "set"}


def _norm_type(column_type):
    """Lower case, with the display width MySQL 8 leaves off integer types."""
    t = " ".join(column_type.lower().split())
    m = re.fullmatch(r"(tinyint|smallint|mediumint|int|bigint)( unsigned)?( zerofill)?", t)
    if m:
        signed, unsigned = _INT_WIDTH[m.group(1)]
        t = "%s(%d)%s%s" % (m.group(1), unsigned if m.group(2) else signed,
                            m.group(2) or "", m.group(3) or "")
    return t


def _norm_default(raw, column_type, mysql=False):
    if raw is None or raw == "NULL":
        return None
    if re.fullmatch(r"(?i)current_timestamp(\(\))?|now\(\)", raw):
        return "current_timestamp()"
    if mysql:
        # MySQL shows literals bare and expression defaults as _charset\'...\'.
        m = re.fullmatch(r"_\w+\\'(.*)\\'", raw)
        if m:
            return "'%s'" % m.group(1)
        if re.match(r"[a-z]+", column_type).group(0) in _STRING_TYPES:
            return "'%s'" % raw.replace("'", "''")
    return raw


def _norm_extra(extra):
    x = (extra or "").lower().replace("default_generated", "")
    x = re.sub(r"current_timestamp(?!\()", "current_timestamp()", x)
    return " ".join(x.split())


def _none(value):
    return None if value in (None, "", "NULL") else value


def describe(db):
    """The connected database's tables, columns and indexes (see module doc)."""
    name = db.scalar("SELECT DATABASE()")
    if not name:
        raise BoincError("%s: no database selected" % db.describe())
    mysql = "mariadb" not in (db.scalar("SELECT VERSION()") or "").lower()
    desc = {"tables": {}, "columns": {}, "indexes": {}}
    for r in db.rows("SELECT table_name, engine, table_collation FROM information_schema.tables "
                     "WHERE table_schema = %s", (name,)):
        desc["tables"][r[0]] = Table(_none(r[1]), _none(r[2]))
    for r in db.rows("SELECT table_name, column_name, column_type, is_nullable, "
                     "column_default, extra FROM information_schema.columns "
                     "WHERE table_schema = %s ORDER BY table_name, ordinal_position", (name,)):
        ctype = _norm_type(r[2])
        desc["columns"].setdefault(r[0], []).append(
            Column(r[1], ctype, r[3] == "YES", _norm_default(r[4], ctype, mysql),
                   _norm_extra(r[5])))
    desc["indexes"] = indexes(db)
    return desc


def indexes(db, table=None):
    """{table: {index name: Index}} of the connected database, or of ``table`` only."""
    where, params = (" AND table_name = %s", (table,)) if table else ("", ())
    rows = db.rows("SELECT table_name, index_name, non_unique, column_name, sub_part, collation "
                   "FROM information_schema.statistics WHERE table_schema = DATABASE()"
                   + where + " ORDER BY table_name, index_name, seq_in_index", params)
    desc = {"indexes": {}}
    _add_indexes(desc, ((r[0], r[1], int(r[2]), r[3], r[4], r[5]) for r in rows))
    return desc["indexes"]


def _add_indexes(desc, rows):
    """rows: (table, index, non_unique, column, sub_part, collation) in seq order."""
    parts = {}
    for table, index, non_unique, column, sub_part, collation in rows:
        key = (table, index)
        unique, cols = parts.get(key, (not non_unique, []))
        cols.append((column, int(sub_part) if _none(sub_part) is not None else None,
                     _none(collation)))
        parts[key] = (unique, cols)
    for (table, index), (unique, cols) in parts.items():
        desc["indexes"].setdefault(table, {})[index] = Index(unique, tuple(cols))


# -- the fixture-style TSV form (tables.tsv, columns.tsv, indexes.tsv)

def _read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def load_tsv(directory):
    """A description from information_schema dumps as in shared/fixtures/boinc-schema:
    tables.tsv (table, engine, collation), columns.tsv (table, column, ordinal,
    column_type, nullable, default, extra), indexes.tsv (table, index,
    non_unique, seq_in_index, column, sub_part, collation); NULL spelled NULL."""
    desc = {"tables": {}, "columns": {}, "indexes": {}}
    for table, engine, collation in _read_tsv(os.path.join(directory, "tables.tsv")):
        desc["tables"][table] = Table(_none(engine), _none(collation))
    rows = _read_tsv(os.path.join(directory, "columns.tsv"))
    for table, column, _pos, ctype, nullable, default, extra in sorted(
            rows, key=lambda r: (r[0], int(r[2]))):
        ctype = _norm_type(ctype)
        desc["columns"].setdefault(table, []).append(
            Column(column, ctype, nullable == "YES", _norm_default(default, ctype),
                   _norm_extra(extra)))
    rows = sorted(_read_tsv(os.path.join(directory, "indexes.tsv")),
                  key=lambda r: (r[0], r[1], int(r[3])))
    _add_indexes(desc, ((r[0], r[1], int(r[2]), r[4], r[5], r[6]) for r in rows))
    return desc


def write_tsv(desc, directory):
    """Write ``desc`` in the form load_tsv reads."""
    os.makedirs(directory, exist_ok=True)

    def out(value):
        return "NULL" if value is None else str(value)

    def write(name, rows):
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            for row in rows:
                f.write("\t".join(row) + "\n")

    write("tables.tsv", ([t, out(v.engine), out(v.collation)]
                         for t, v in sorted(desc["tables"].items())))
    write("columns.tsv", ([t, c.name, str(i), c.type, "YES" if c.nullable else "NO",
                           out(c.default), c.extra]
                          for t, cols in sorted(desc["columns"].items())
                          for i, c in enumerate(cols, 1)))
    write("indexes.tsv", ([t, name, "0" if ix.unique else "1", str(seq), col,
                           "" if sub is None else str(sub), out(order)]
                          for t, indexes in sorted(desc["indexes"].items())
                          for name, ix in sorted(indexes.items())
                          for seq, (col, sub, order) in enumerate(ix.columns, 1)))


def expected_description():
    """Our schema (db/schema.sql) as information_schema shows it."""
    return load_tsv(DESCRIPTION_DIR)


# -- comparing

def compare(actual, expected):
    """Every difference between two descriptions, one line each, ``actual``
    being the database looked at and ``expected`` the reference."""
    diffs = []
    at, et = actual["tables"], expected["tables"]
    for table in sorted(set(at) | set(et)):
        if table not in at:
            diffs.append("missing table %s" % table)
            continue
        if table not in et:
            diffs.append("extra table %s" % table)
            continue
        a, e = at[table], et[table]
        if a.engine != e.engine:
            diffs.append("table %s: engine %s, expected %s" % (table, a.engine, e.engine))
        if a.collation != e.collation:
            diffs.append("table %s: collation %s, expected %s"
                         % (table, a.collation, e.collation))
        diffs += _compare_columns(table, actual["columns"].get(table, []),
                                  expected["columns"].get(table, []))
        diffs += _compare_indexes(table, actual["indexes"].get(table, {}),
                                  expected["indexes"].get(table, {}))
    return diffs


def _compare_columns(table, acols, ecols):
    diffs = []
    amap, emap = {c.name: c for c in acols}, {c.name: c for c in ecols}
    for e in ecols:
        a = amap.get(e.name)
        where = "column %s.%s" % (table, e.name)
        if a is None:
            diffs.append("missing %s (%s)" % (where, e.sql()))
            continue
        if a.type != e.type:
            diffs.append("%s: type %s, expected %s" % (where, a.type, e.type))
        if a.nullable != e.nullable:
            diffs.append("%s: %s, expected %s" % (where, "NULL" if a.nullable else "NOT NULL",
                                                   "NULL" if e.nullable else "NOT NULL"))
        if a.default != e.default:
            diffs.append("%s: default %s, expected %s"
                         % (where, _show(a.default), _show(e.default)))
        if a.extra != e.extra:
            diffs.append("%s: extra %r, expected %r" % (where, a.extra, e.extra))
    for a in acols:
        if a.name not in emap:
            diffs.append("extra column %s.%s (%s)" % (table, a.name, a.sql()))
    a_order = [c.name for c in acols if c.name in emap]
    e_order = [c.name for c in ecols if c.name in amap]
    for x, y in zip(a_order, e_order):
        if x != y:
            diffs.append("table %s: column order differs: %s where %s is expected"
                         % (table, x, y))
            break
    return diffs


def _compare_indexes(table, aidx, eidx):
    diffs = []
    for name in sorted(set(aidx) | set(eidx)):
        a, e = aidx.get(name), eidx.get(name)
        if a is None:
            diffs.append("missing index %s.%s %s" % (table, name, e.sql(name)))
        elif e is None:
            if ADDED_INDEXES.get((table, name)) != a:
                diffs.append("extra index %s.%s %s" % (table, name, a.sql(name)))
        elif a != e:
            diffs.append("index %s.%s: %s, expected %s" % (table, name, a.sql(name), e.sql(name)))
    return diffs


def _show(default):
    return "(none)" if default is None else default


# -- what an existing (possibly older) BOINC database must have

_FAMILIES = (("int", ("tinyint", "smallint", "mediumint", "int", "bigint")),
             ("float", ("float", "double", "decimal")),
             ("text", ("char", "varchar", "tinytext", "text", "mediumtext", "longtext")),
             ("bytes", ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")),
             ("time", ("timestamp", "datetime")))
_INT_RANK = ("tinyint", "smallint", "mediumint", "int", "bigint")


def _family(ctype):
    base = re.match(r"[a-z]+", ctype).group(0)
    for family, members in _FAMILIES:
        if base in members:
            return family, base
    return base, base


def _char_length(ctype):
    m = re.fullmatch(r"(?:var)?char\((\d+)\)", ctype)
    return int(m.group(1)) if m else None


def compatibility_problems(db, expected=None):
    """The differences from our schema that the server can't run with.

    Reported, for the tables in CORE_TABLES only:

    * a missing table, or one that isn't InnoDB (we rely on transactions);
    * a missing column, except ``host.misc`` (added late 2025; code must
      check ``has_column`` before using it, and must supply it on INSERT since
      BOINC's own upgrade adds it without a default);
    * a column whose kind of value differs (integer / floating / text /
      binary / time), a narrower integer, or a shorter (var)char;
    * a lost ``auto_increment``, or a NOT NULL column that lost the default
      our INSERTs rely on (``host.misc`` excepted, see above);
    * an extra NOT NULL column without a default (our INSERTs would fail);
    * a unique index we rely on (same columns, any name) that is absent,
      except the unique ``user.name`` (added 2024; older projects allow
      duplicate names and have a plain ``user_name`` index instead).

    Tolerated (``compare`` still lists them): the web-only tables and the
    ``latest_consent`` view missing or different; ``varchar(254)`` where we
    have ``varchar(191)`` (and ``plan_class varchar(254)``); bigint ids;
    other collations/charsets (utf8, latin1) on tables and columns; MyISAM
    forum tables; nullability and default differences on existing columns;
    column order (we always name columns); non-unique indexes added, dropped
    or renamed (``res_wu_user`` still present, ``wu_batch``/``res_batch``
    missing, consent's ``userid_ctid``) and ascending where we have DESC.
    """
    expected = expected or expected_description()
    actual = describe(db)
    problems = []
    for table in CORE_TABLES:
        if table not in actual["tables"]:
            problems.append("missing table %s" % table)
            continue
        engine = actual["tables"][table].engine
        if engine is None or engine.lower() != "innodb":
            problems.append("table %s: engine %s, the server needs InnoDB" % (table, engine))
        acols = {c.name: c for c in actual["columns"].get(table, [])}
        ecols = {c.name: c for c in expected["columns"].get(table, [])}
        for name, e in ecols.items():
            a = acols.get(name)
            where = "column %s.%s" % (table, name)
            if a is None:
                if (table, name) not in OPTIONAL_COLUMNS:
                    problems.append("missing %s (%s)" % (where, e.sql()))
                continue
            problems += _column_problem(where, a, e, (table, name) in OPTIONAL_COLUMNS)
        for name, a in acols.items():
            if (name not in ecols and not a.nullable and a.default is None
                    and "auto_increment" not in a.extra):
                problems.append("extra column %s.%s is NOT NULL without a default; "
                                "inserts that leave it out fail" % (table, name))
        aunique = {tuple(c for c, _, _ in ix.columns)
                   for ix in actual["indexes"].get(table, {}).values() if ix.unique}
        for name, ix in sorted(expected["indexes"].get(table, {}).items()):
            cols = tuple(c for c, _, _ in ix.columns)
            if ix.unique and cols not in aunique and (table, cols) not in OPTIONAL_UNIQUE:
                problems.append("table %s: no unique index on (%s)" % (table, ", ".join(cols)))
    return problems


def _column_problem(where, a, e, optional):
    (afam, abase), (efam, ebase) = _family(a.type), _family(e.type)
    if afam != efam:
        return ["%s: type %s, expected %s" % (where, a.type, e.type)]
    if afam == "int" and _INT_RANK.index(abase) < _INT_RANK.index(ebase):
        return ["%s: type %s is narrower than %s" % (where, a.type, e.type)]
    alen, elen = _char_length(a.type), _char_length(e.type)
    if alen is not None and elen is not None and alen < elen:
        return ["%s: type %s is shorter than %s" % (where, a.type, e.type)]
    if "auto_increment" in e.extra and "auto_increment" not in a.extra:
        return ["%s: not auto_increment" % where]
    if (not optional and e.default is not None and a.default is None
            and not a.nullable and "auto_increment" not in a.extra):
        return ["%s: no default (expected %s); inserts that leave it out fail"
                % (where, e.default)]
    return []


def has_column(db, table, column):
    """Whether the connected database's ``table`` has ``column``."""
    return bool(db.scalar("SELECT COUNT(*) FROM information_schema.columns WHERE "
                          "table_schema = DATABASE() AND table_name = %s AND column_name = %s",
                          (table, column)))
