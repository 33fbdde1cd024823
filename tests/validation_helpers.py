"""Shared by the validator and credit tests: one real project per test
module (made by make_project, with its MariaDB database), emptied before
each test; rows for apps, hosts, jobs and results written with SQL; output
files in upload/; validators run in this process or as programs."""

import contextlib
import io
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from testenv import ROOT, TEST_DB_PREFIX
from sched import config as configmod
from sched import db as dbmod
from sched import paths
from sched import states as S

TABLES = ("app", "app_version", "platform", "user", "team", "host", "host_app_version",
          "workunit", "result", "credit_user", "credit_team", "credited_job")
NOW = int(time.time())


class VProject:
    """A project and helpers to fill its database."""

    def __init__(self, dir, db, db_name):
        self.dir, self.db, self.db_name = dir, db, db_name
        self.cfg = configmod.load(dir)
        self.tmp_dir = self.cfg.dir("tmp")
        self._columns = {}

    # -- rows
    def columns(self, table):
        if table not in self._columns:
            self._columns[table] = self.db.query(
                "SELECT column_name AS name, data_type AS type, is_nullable AS nullable, "
                "column_default AS dflt, extra FROM information_schema.columns "
                "WHERE table_schema=%s AND table_name=%s", (self.db_name, table))
        return self._columns[table]

    def insert(self, table, **values):
        """INSERT with 0 / '' for every NOT NULL column without a default."""
        row = {}
        for c in self.columns(table):
            if c["nullable"] == "NO" and c["dflt"] is None and "auto_increment" not in c["extra"]:
                row[c["name"]] = "" if c["type"] in ("varchar", "text", "blob", "mediumblob",
                                                     "longtext", "mediumtext") else 0
        row.update(values)
        cols = list(row)
        return self.db.insert("INSERT INTO %s (%s) VALUES (%s)" % (
            table, ", ".join("`%s`" % c for c in cols), ", ".join(["%s"] * len(cols))),
            [row[c] for c in cols])

    def add_app(self, name="worker", **kw):
        kw.setdefault("create_time", NOW)
        kw.setdefault("user_friendly_name", name)
        self.app_id = self.insert("app", name=name, **kw)
        self.platform_id = self.insert("platform", create_time=NOW, name="x86_64-pc-linux-gnu",
                                       user_friendly_name="Linux")
        self.av_id = self.add_app_version(100)
        return self.app_id

    def add_app_version(self, version_num, **kw):
        return self.insert("app_version", create_time=NOW, appid=self.app_id,
                           version_num=version_num, platformid=self.platform_id,
                           xml_doc="<app_version/>", **kw)

    def add_team(self, **kw):
        return self.insert("team", create_time=NOW, name="team%s" % secrets.token_hex(3), **kw)

    def add_user(self, teamid=0, **kw):
        return self.insert("user", create_time=NOW, email_addr="%s@x" % secrets.token_hex(4),
                           name="u" + secrets.token_hex(4),
                           authenticator=secrets.token_hex(16), teamid=teamid, **kw)

    def add_host(self, userid, hav=True, **kw):
        host = self.insert("host", create_time=NOW, userid=userid, **kw)
        if hav:
            self.add_hav(host, self.av_id)
        return host

    def add_hav(self, host_id, av_id, **kw):
        self.insert("host_app_version", host_id=host_id, app_version_id=av_id, **kw)

    def add_wu(self, name, min_quorum=1, target_nresults=1, need_validate=1, **kw):
        values = dict(create_time=NOW, appid=self.app_id, name=name, xml_doc="<workunit/>",
                      rsc_fpops_est=1e10, rsc_fpops_bound=1e13, need_validate=need_validate,
                      transition_time=S.INT_MAX, delay_bound=86400, min_quorum=min_quorum,
                      target_nresults=target_nresults, max_error_results=3,
                      max_total_results=10, max_success_results=6,
                      result_template_file="templates/worker_out", size_class=-1)
        values.update(kw)
        return self.insert("workunit", **values)

    def add_result(self, wuid, name, hostid=0, files=None, server_state=S.RESULT_SERVER_STATE_OVER,
                   outcome=S.RESULT_OUTCOME_SUCCESS, validate_state=S.VALIDATE_STATE_INIT,
                   elapsed_time=7.028467, flops_estimate=1e9, sent_time=NOW - 3600,
                   received_time=NOW - 60, write=True, **kw):
        """A result whose output files ``files`` ({open_name: bytes or None}) are
        described in xml_doc_in (BOINC's layout) and written to upload/ (None: absent)."""
        files = {"out": b"the answer\n"} if files is None else files
        infos, refs = [], []
        for i, (open_name, data) in enumerate(files.items()):
            phys = "%s_r%d_%d" % (name, 1000 + i, i)
            infos.append("<file_info>\n    <name>%s</name>\n    <generated_locally/>\n"
                         "    <upload_when_present/>\n    <max_nbytes>1000000</max_nbytes>\n"
                         "</file_info>" % phys)
            refs.append("    <file_ref>\n        <file_name>%s</file_name>\n"
                        "        <open_name>%s</open_name>\n    </file_ref>" % (phys, open_name))
            if write and data is not None:
                with open(self.upload_path(phys), "wb") as f:
                    f.write(data)
        doc = "\n".join(infos) + "\n<result>\n" + "\n".join(refs) + "\n</result>"
        userid = teamid = 0
        if hostid:
            userid = self.db.scalar("SELECT userid FROM host WHERE id=%s", (hostid,)) or 0
            teamid = self.db.scalar("SELECT teamid FROM user WHERE id=%s", (userid,)) or 0
        values = dict(create_time=NOW, workunitid=wuid, server_state=server_state,
                      outcome=outcome, client_state=5, hostid=hostid, userid=userid,
                      teamid=teamid, report_deadline=NOW + 86400, sent_time=sent_time,
                      received_time=received_time, name=name, cpu_time=5.457381,
                      xml_doc_in=doc, xml_doc_out="", stderr_out="", validate_state=validate_state,
                      appid=self.app_id, app_version_id=self.av_id, app_version_num=100,
                      elapsed_time=elapsed_time, flops_estimate=flops_estimate, size_class=-1)
        values.update(kw)
        return self.insert("result", **values)

    def upload_path(self, phys):
        return paths.dir_hier_path(phys, self.cfg.upload_dir, self.cfg.uldl_dir_fanout,
                                   create=True)

    # -- reading
    def wu(self, wuid):
        return self.db.query_one("SELECT * FROM workunit WHERE id=%s", (wuid,))

    def result(self, rid):
        return self.db.query_one("SELECT * FROM result WHERE id=%s", (rid,))

    def row(self, table, rid):
        return self.db.query_one("SELECT * FROM %s WHERE id=%%s" % table, (rid,))

    def hav(self, host_id, av_id=None):
        return self.db.query_one("SELECT * FROM host_app_version WHERE host_id=%s AND "
                                 "app_version_id=%s", (host_id, av_id or self.av_id))

    # -- running
    def validate(self, plugin_class, *args, name="validator"):
        """Run a validator in this process (--one_pass); (exit status, log text)."""
        from sched.validator import ValidatorDaemon
        argv = ["--app", "worker", "--one_pass"] + [str(a) for a in args]
        err = io.StringIO()
        saved = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)}
        old_env = os.environ.get("BOINC_PROJECT_DIR")
        os.environ["BOINC_PROJECT_DIR"] = self.dir
        try:
            with contextlib.redirect_stderr(err):
                status = ValidatorDaemon(plugin_class(), name).main(argv)
        finally:
            for s, h in saved.items():
                signal.signal(s, h)
            if old_env is None:
                os.environ.pop("BOINC_PROJECT_DIR", None)
            else:
                os.environ["BOINC_PROJECT_DIR"] = old_env
        return status, err.getvalue()

    def program(self, prog, *args, one_pass=True, wait=True):
        """Run bin/PROG of the checkout as bin/start would: cwd tmp_HOST."""
        env = dict(os.environ)
        env.pop("BOINC_PROJECT_DIR", None)
        argv = [os.path.join(ROOT, "bin", prog), "--app", "worker"]
        argv += ["--one_pass"] if one_pass else []
        argv += [str(a) for a in args]
        if not wait:
            return subprocess.Popen(argv, cwd=self.tmp_dir, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
        return subprocess.run(argv, cwd=self.tmp_dir, env=env, capture_output=True, text=True)

    def install_script(self, name, text):
        """A script in the project's bin/ (where script_validator looks)."""
        path = os.path.join(self.dir, "bin", name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def clear(self):
        for table in TABLES:
            self.db.execute("TRUNCATE TABLE %s" % table)
        shutil.rmtree(self.cfg.upload_dir)
        os.makedirs(self.cfg.upload_dir)


@pytest.fixture(scope="module")
def vproject_module(admin_db, db_account):
    """One project for the whole test module."""
    from sched.tools import make_project as mp
    root_tmp = tempfile.mkdtemp(prefix="boinctest-val-", dir="/tmp")
    db_name = TEST_DB_PREFIX + secrets.token_hex(4)
    root = os.path.join(root_tmp, "vtest")
    argv = ["--no_query", "--url_base", "http://127.0.0.1:1/", "--project_root", root,
            "--db_host", db_account["host"], "--db_user", db_account["user"],
            "--db_passwd", db_account["passwd"], "--db_name", db_name, "vtest"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert mp.main(argv) == 0
    db = dbmod.Database(db_name, db_account["user"], db_account["passwd"],
                        db_account["host"]).connect()
    vp = VProject(root, db, db_name)
    yield vp
    db.close()
    admin_db.execute("DROP DATABASE IF EXISTS `%s`" % db_name)
    shutil.rmtree(root_tmp, ignore_errors=True)


@pytest.fixture
def vp(vproject_module):
    """The module's project, emptied, with the app ``worker`` and one version."""
    vproject_module.clear()
    for name in os.listdir(os.path.join(vproject_module.dir, "bin")):
        if name.startswith("vtest_"):
            os.unlink(os.path.join(vproject_module.dir, "bin", name))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(vproject_module.dir, "stop_daemons"))
    vproject_module.add_app()
    return vproject_module


def python_script(body):
    """Text of an executable Python script (the test's interpreter)."""
    return "#!%s\n%s" % (sys.executable, body)
