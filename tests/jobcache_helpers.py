"""A small project for the feeder / job-cache / make_work tests.

``work_project`` gives a project dir (config.xml with a shmem key nobody
uses, cgi-bin/) whose database has BOINC's schema; the segment and the
semaphore made with it are removed afterwards.  ``insert`` adds a row,
filling the NOT NULL columns the test doesn't care about.
"""

import os
import random
import time

import pytest
import sysv_ipc

from sched import config as configmod
from sched import db as dbmod
from sched import schema, shmem


def unused_shmem_key():
    while True:
        key = random.randrange(0x22220000, 0x2222FFFF)
        try:
            sysv_ipc.SharedMemory(key).detach()
        except sysv_ipc.ExistentialError:
            return key


def write_config(proj, key, db=None, extra=""):
    dbpart = ""
    if db:
        dbpart = ("  <db_name>%(name)s</db_name>\n  <db_user>%(user)s</db_user>\n"
                  "  <db_passwd>%(passwd)s</db_passwd>\n  <db_host>%(host)s</db_host>\n" % db)
    (proj / "config.xml").write_text(
        "<boinc>\n<config>\n  <shmem_key>0x%x</shmem_key>\n%s%s</config>\n</boinc>\n"
        % (key, dbpart, extra))
    return configmod.load(str(proj))


class WorkProject:
    def __init__(self, dir, db, dbinfo, key):
        self.dir, self.db, self.dbinfo, self.key = dir, db, dbinfo, key
        self.config = configmod.load(str(dir))

    def reconfigure(self, extra):
        self.config = write_config(self.dir, self.key, self.dbinfo, extra)
        return self.config

    def path(self, *parts):
        return os.path.join(str(self.dir), *parts)


@pytest.fixture
def ipc_project(tmp_path):
    """A project dir without a DB: just config.xml (with a free key) and cgi-bin/."""
    proj = tmp_path / "proj"
    (proj / "cgi-bin").mkdir(parents=True)
    key = unused_shmem_key()
    cfg = write_config(proj, key)
    yield cfg
    shmem.destroy(key, shmem.semaphore_key(str(proj)))


@pytest.fixture
def work_project(tmp_path, admin_db, db_account, db_name):
    proj = tmp_path / "proj"
    (proj / "cgi-bin").mkdir(parents=True)
    key = unused_shmem_key()
    dbinfo = dict(db_account, name=db_name)
    write_config(proj, key, dbinfo)
    schema.create_database(admin_db, db_name)
    database = dbmod.Database(db_name, db_account["user"], db_account["passwd"],
                              db_account["host"]).connect()
    schema.load_schema(database)
    yield WorkProject(proj, database, dbinfo, key)
    database.close()
    shmem.destroy(key, shmem.semaphore_key(str(proj)))


_COLUMNS = {}


def insert(db, table, **values):
    """INSERT a row into ``table``; unspecified NOT NULL columns get 0 or ''."""
    if table not in _COLUMNS:
        _COLUMNS[table] = db.query(
            "SELECT column_name AS name, data_type AS type, is_nullable AS nullable, "
            "column_default AS dflt, extra FROM information_schema.columns "
            "WHERE table_schema=DATABASE() AND table_name=%s", (table,))
    row = {}
    for c in _COLUMNS[table]:
        if (c["name"] in values or "auto_increment" in c["extra"] or c["nullable"] == "YES"
                or c["dflt"] is not None):
            continue
        row[c["name"]] = "" if ("char" in c["type"] or "text" in c["type"]
                                or "blob" in c["type"]) else 0
    row.update(values)
    cols = list(row)
    return db.insert("INSERT INTO %s (%s) VALUES (%s)" % (
        table, ", ".join(cols), ", ".join(["%s"] * len(cols))), [row[c] for c in cols])


def wu_xml(*files):
    """A workunit xml_doc with the given input files, as create_work writes it."""
    infos = "".join("<file_info>\n    <name>%s</name>\n    <url>http://x/download/%s</url>\n"
                    "    <md5_cksum>0</md5_cksum>\n    <nbytes>1</nbytes>\n</file_info>\n"
                    % (f, f) for f in files)
    refs = "".join("    <file_ref>\n        <file_name>%s</file_name>\n        "
                   "<open_name>in%d</open_name>\n    </file_ref>\n" % (f, i)
                   for i, f in enumerate(files))
    return infos + "<workunit>\n" + refs + "</workunit>\n"


def add_app(db, name="worker", platforms=("x86_64-pc-linux-gnu",), versions=(100,), **app):
    """An app, its platforms and app versions; returns (appid, {platform: id})."""
    now = int(time.time())
    appid = insert(db, "app", name=name, user_friendly_name=name, create_time=now, **app)
    pids = {}
    for p in platforms:
        row = db.query_one("SELECT id FROM platform WHERE name=%s", (p,))
        pids[p] = row["id"] if row else insert(db, "platform", name=p, user_friendly_name=p,
                                               create_time=now)
        for v in versions:
            add_version(db, appid, pids[p], v)
    return appid, pids


def add_version(db, appid, platformid, version_num, plan_class="", **extra):
    return insert(db, "app_version", appid=appid, platformid=platformid,
                  version_num=version_num, plan_class=plan_class, create_time=int(time.time()),
                  xml_doc="<app_version>\n<version_num>%d</version_num>\n</app_version>\n"
                  % version_num, **extra)


def add_job(db, appid, name=None, nresults=1, server_state=2, priority=0, xml_doc=None,
            **wu):
    """A workunit and ``nresults`` results; returns (wuid, [resultids])."""
    name = name or "wu_%06x" % random.randrange(1 << 24)
    now = int(time.time())
    fields = dict(create_time=now, appid=appid, name=name,
                  xml_doc=xml_doc if xml_doc is not None else wu_xml(name + "_in"),
                  rsc_fpops_est=3.6e12, rsc_fpops_bound=8.64e13, rsc_memory_bound=5e8,
                  rsc_disk_bound=1e9, delay_bound=7 * 86400, min_quorum=1, target_nresults=1,
                  max_error_results=1, max_total_results=1, max_success_results=1,
                  result_template_file="templates/worker_out", transition_time=now,
                  size_class=-1, keywords="")
    fields.update(wu)
    wuid = insert(db, "workunit", **fields)
    rids = [insert(db, "result", create_time=now, workunitid=wuid, appid=appid,
                   server_state=server_state, name="%s_%d" % (name, i), priority=priority,
                   report_deadline=0, random=random.randrange(1 << 30),
                   xml_doc_in="<result>\n</result>\n")
            for i in range(nresults)]
    return wuid, rids
