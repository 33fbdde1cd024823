"""``xadd``: put the platforms and apps of project.xml into the database.

As BOINC's ``tools/xadd``: a ``<platform>`` or ``<app>`` not in the DB (by
name) is inserted with ``create_time``; one already there gets its
``user_friendly_name`` (and, for apps, ``min_version``) brought in line with
project.xml.  The lines printed are BOINC's.

Differences, on purpose:

* an ``<app>`` may also carry the other per-app columns an operator would
  otherwise set on the admin web pages (``APP_COLUMNS``), and either element
  a ``<deprecated>`` flag; they are stored on insert and updated like the rest;
* a column is only changed when project.xml names it (BOINC resets a
  ``min_version`` set on the web pages to 0 when project.xml has none), and
  every differing column is updated in one run (BOINC updates one per run);
* project.xml is checked completely before the DB is touched, and all changes
  are made in one transaction: a bad value changes nothing.
"""

import os
import time

from .. import cli, config, db
from ..errors import ConfigError
from ..xmlutil import strtol

# project.xml tag -> kind, for the columns of ``app`` beyond name and
# user_friendly_name.  b: flag (<x/> or <x>1</x>), i: integer, f: number.
APP_COLUMNS = {
    "min_version": "i",
    "deprecated": "b",
    "homogeneous_redundancy": "i",
    "weight": "f",
    "beta": "b",
    "target_nresults": "i",
    "min_avg_pfc": "f",
    "host_scale_check": "b",
    "homogeneous_app_version": "b",
    "non_cpu_intensive": "b",
    "locality_scheduling": "i",
    "n_size_classes": "i",
    "fraction_done_exact": "b",
}
PLATFORM_COLUMNS = {"deprecated": "b"}

# How BOINC words an update of these columns; others are "updated COL of".
_UPDATE_WORDS = {"user_friendly_name": "user friendly name"}


def _value(kind, text, where, tag):
    try:
        if kind == "b":
            return 1 if not text else int(strtol(text) != 0)
        if kind == "i":
            return strtol(text)
        return float(text)
    except ValueError:
        raise ConfigError("%s: <%s> has a bad value %r" % (where, tag, text)) from None


def _columns(item, spec, where):
    """The DB columns an item of project.xml sets, in a fixed order."""
    cols = {"name": item["name"]}
    if "user_friendly_name" in item:
        cols["user_friendly_name"] = item["user_friendly_name"]
    for tag, kind in spec.items():
        if tag in item:
            cols[tag] = _value(kind, item[tag], where, tag)
    return cols


def read_project_xml(path):
    """project.xml as ``(platforms, apps)``: lists of column dicts."""
    parsed = config.parse_project_xml(path)
    platforms = [_columns(p, PLATFORM_COLUMNS, "%s: platform %s" % (path, p["name"]))
                 for p in parsed.platforms]
    apps = [_columns(a, APP_COLUMNS, "%s: app %s" % (path, a["name"]))
            for a in parsed.apps]
    return platforms, apps


def _sql_literal(value):
    if isinstance(value, str):
        return "'%s'" % value.replace("'", "\\'")
    return repr(value) if isinstance(value, float) else str(value)


def add_or_update(database, table, cols, now, out):
    """Insert one platform/app or update its differing columns; print what was done."""
    name = cols["name"]
    row = database.query_one("SELECT * FROM `%s` WHERE name=%%s" % table, (name,))
    if row is None:
        insert = dict(create_time=now, name=name, user_friendly_name="")
        insert.update(cols)
        names = ", ".join(insert)
        database.insert("INSERT INTO `%s` (%s) VALUES (%s)"
                        % (table, names, ", ".join(["%s"] * len(insert))),
                        tuple(insert.values()))
        out("added %s: (%s) values (%s)"
            % (table, names, ", ".join(_sql_literal(v) for v in insert.values())))
        return "added"
    changed = False
    for col, value in cols.items():
        if col == "name" or row[col] == value:
            continue
        database.execute("UPDATE `%s` SET `%s`=%%s WHERE id=%%s" % (table, col),
                         (value, row["id"]))
        out("updated %s of %s %s" % (_UPDATE_WORDS.get(col, col), table, name))
        changed = True
    if not changed:
        out("%s %s already in DB" % (table, name))
        return "unchanged"
    return "updated"


def xadd(cfg, database, out=print):
    """Apply the project's project.xml; returns {name: what was done} per table."""
    platforms, apps = read_project_xml(cfg.project_path("project.xml"))
    now = int(time.time())
    done = {"platform": {}, "app": {}}
    with database.transaction():
        for table, items in (("platform", platforms), ("app", apps)):
            for cols in items:
                done[table][cols["name"]] = add_or_update(database, table, cols, now, out)
    return done


def main(argv):
    parser = cli.ArgumentParser(
        prog="xadd", description="Add the platforms and apps of project.xml to the database.")
    parser.parse_args(argv)
    cfg = config.load()
    if not os.path.isfile(cfg.project_path("project.xml")):
        raise ConfigError("no project.xml in %s: it lists the platforms and apps to add"
                          % cfg.project_dir)
    database = db.connect(cfg)
    try:
        xadd(cfg, database)
    finally:
        database.close()
    return 0


def run():
    cli.run(main)
