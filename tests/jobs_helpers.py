"""Shared by the job-submission tool tests: a project with BOINC's refproj
app ``worker`` and its templates, rows of BOINC's own dump, running tools."""

import os
import re
import shutil
import subprocess
import time

import pytest

from testenv import ROOT, SHARED
from sched import db as dbmod
from sched import paths

REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")
REFPROJ_SQL = os.path.join(REFPROJ, "refproj.sql")


class WorkProject:
    def __init__(self, made, db):
        self.made = made
        self.dir = made.dir
        self.cfg = made.config
        self.db = db
        self.app_id = db.scalar("SELECT id FROM app WHERE name = 'worker'")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def hier(self, name):
        return paths.dir_hier_path(name, self.cfg.download_dir, self.cfg.uldl_dir_fanout,
                                   create=True)

    def put_staged(self, name, data, md5=None):
        """A staged file; ``md5`` given: its .md5 cache says so (BOINC's dump only
        tells md5 and size, not the contents)."""
        path = self.hier(name)
        with open(path, "wb") as f:
            f.write(data)
        if md5 is not None:
            with open(path + ".md5", "w") as f:
                f.write("%s %d\n" % (md5, len(data)))
            st = os.stat(path)
            os.utime(path + ".md5", (st.st_atime, st.st_mtime + 1))
        return path

    def run(self, tool, *args, stdin=None, cwd=None):
        env = dict(os.environ)
        env.pop("BOINC_PROJECT_DIR", None)
        return subprocess.run([os.path.join(ROOT, "bin", tool)] + [str(a) for a in args],
                              cwd=cwd or self.dir, env=env, input=stdin,
                              capture_output=True, text=True)

    def wus(self, where="1=1", args=()):
        return self.db.query("SELECT * FROM workunit WHERE %s ORDER BY id" % where, args)

    def files_in_hierarchy(self):
        found = []
        for top, dirs, files in os.walk(self.cfg.download_dir):
            found.extend(os.path.join(top, f) for f in files)
        return sorted(found)


@pytest.fixture
def wproj(make_project, db_account):
    """refproj's twin: same name, URL (port 8081), app ``worker`` and templates."""
    made = make_project("refproj", port=8081)
    for name in ("worker_in", "worker_out"):
        dst = os.path.join(made.dir, "templates", name)
        shutil.copyfile(os.path.join(REFPROJ, "templates", name), dst)
        os.chmod(dst, 0o644)
    database = dbmod.Database(made.db_name, db_account["user"], db_account["passwd"],
                              db_account["host"]).connect()
    database.insert("INSERT INTO app (create_time, name, user_friendly_name) "
                    "VALUES (%s, 'worker', 'Worker')", (int(time.time()),))
    yield WorkProject(made, database)
    database.close()


# ---------------------------------------------------------------- the dump

def _sql_values(text):
    """The tuples of one ``INSERT INTO ... VALUES (...),(...);`` statement."""
    rows, row, i, n = [], None, 0, len(text)
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "Z": "\x1a", "b": "\b"}
    while i < n:
        c = text[i]
        if c == "(" and row is None:
            row = []
            i += 1
        elif c == ")" and row is not None:
            rows.append(row)
            row = None
            i += 1
        elif row is None or c in ", \n":
            i += 1
        elif c == "'":
            out = []
            i += 1
            while text[i] != "'":
                if text[i] == "\\":
                    out.append(escapes.get(text[i + 1], text[i + 1]))
                    i += 2
                else:
                    out.append(text[i])
                    i += 1
            row.append("".join(out))
            i += 1
        else:
            m = re.compile(r"[^,)]+").match(text, i)
            token = m.group(0).strip()
            row.append(None if token == "NULL" else float(token) if re.search(r"[.eE]", token)
                       else int(token))
            i = m.end()
    return rows


def dump_rows(table):
    """Rows of ``table`` in BOINC's refproj dump, as dicts by column name."""
    with open(REFPROJ_SQL, encoding="utf-8") as f:
        sql = f.read()
    create = re.search(r"CREATE TABLE `%s` \((.*?)\n\)" % table, sql, re.S).group(1)
    columns = re.findall(r"^\s+`(\w+)`", create, re.M)
    insert = re.search(r"INSERT INTO `%s` VALUES\n?(.*?);\n" % table, sql, re.S)
    return [dict(zip(columns, values)) for values in _sql_values(insert.group(1))]
