"""The ops tests' project, one per test module that imports the ``ops_site``
fixture: made by make_project, with app 'worker' (a signed version), jobs, a
running feeder, an operator in html/ops/.htpasswd and a private Apache
serving it all (CGI mode).  (Not a conftest.py: test modules elsewhere
import names from the top-level one as ``conftest``.)"""

import contextlib
import io
import os
import secrets
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from types import SimpleNamespace

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scheduler"))
import workproject  # noqa: E402

from sched import apache, config, states  # noqa: E402
from sched import db as dbmod  # noqa: E402

OPERATOR = "operator"
ARTIFACTS = os.path.join(os.path.dirname(HERE), "artifacts", "ops")


def build_project(admin_db, db_account, name="test", extra=(), mode="cgi"):
    """make_project into a fresh /tmp dir Apache can reach; returns a namespace."""
    from sched.tools import make_project as mp
    top = tempfile.mkdtemp(prefix="boinctest-", dir="/tmp")
    os.chmod(top, 0o755)
    port = apache.free_port()
    url_base = "http://127.0.0.1:%d/" % port
    db_name = "boinctest_" + secrets.token_hex(4)
    root = os.path.join(top, name)
    argv = ["--no_query", "--url_base", url_base, "--project_root", root,
            "--db_host", db_account["host"], "--db_user", db_account["user"],
            "--db_passwd", db_account["passwd"], "--db_name", db_name]
    if mode == "fcgi":
        argv.append("--fcgi")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert mp.main(argv + list(extra) + [name]) == 0, out.getvalue()
    if os.geteuid() == 0:
        apache.share_with_httpd(root)
    password = secrets.token_hex(8)
    apache.set_htpasswd(os.path.join(root, "html", "ops", ".htpasswd"), OPERATOR, password)
    return SimpleNamespace(top=top, dir=root, name=name, port=port, url_base=url_base,
                           db_name=db_name, config=config.load(root), password=password,
                           ops_url=url_base + name + "_ops/", master_url=url_base + name + "/",
                           web=None, work=None)


def add_worker_app(proj, njobs):
    """App 'worker' with one signed version and ``njobs`` jobs (see workproject)."""
    path = os.path.join(proj.dir, "project.xml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("</boinc>", "<app><name>worker</name><user_friendly_name>"
                             "Worker</user_friendly_name></app>\n</boinc>"))
    workproject.run(proj, "xadd")
    vdir = os.path.join(proj.dir, "apps", "worker", "1.0", "x86_64-pc-linux-gnu")
    os.makedirs(vdir)
    script = os.path.join(vdir, "worker_1.0_x86_64-pc-linux-gnu.sh")
    with open(script, "wb") as f:
        f.write(workproject.WORKER)
    os.chmod(script, 0o755)
    workproject.run(proj, "update_versions", "--noconfirm")
    for t in ("worker_in", "worker_out"):
        shutil.copy(os.path.join(workproject.REFPROJ, "templates", t),
                    os.path.join(proj.dir, "templates", t))
    wp = workproject.WorkProject(proj)
    if njobs:
        wp.add_jobs(njobs)
    return wp


def start_apache(proj):
    conf = os.path.join(proj.dir, "%s.httpd.conf" % proj.name)
    proj.web = apache.PrivateApache(os.path.join(proj.top, "apache"), proj.port, [conf])
    return proj.web.start()


def teardown(proj, admin_db):
    if proj.work is not None:
        proj.work.close()
    if proj.web is not None:
        proj.web.stop()
    admin_db.execute("DROP DATABASE IF EXISTS `%s`" % proj.db_name)
    shutil.rmtree(proj.top, ignore_errors=True)


@pytest.fixture(scope="module")
def ops_site(admin_db, db_account):
    """A working project with jobs, a feeder and Apache; shared by a module."""
    proj = build_project(admin_db, db_account)
    try:
        proj.work = add_worker_app(proj, 4)
        proj.work.start_feeder()
        start_apache(proj)
        yield proj
    finally:
        teardown(proj, admin_db)


# ------------------------------------------------------------ plain HTTP

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(url, data=None, auth=None, headers=None, follow=False):
    """(status, headers, body text) of one request; never raises on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if auth:
        req.add_header("Authorization", "Basic " + b64encode(
            ("%s:%s" % auth).encode()).decode())
    opener = urllib.request.build_opener(*(() if follow else (_NoRedirect,)))
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


def db_of(proj):
    return dbmod.connect(proj.config)


def make_history(proj, n=12, hours_ago=14):
    """``n`` more jobs whose results were sent one an hour from ``hours_ago``
    hours back and reported 90 minutes later, every other one in error.
    Returns (their result ids, the first send time)."""
    proj.work.add_jobs(n, prefix="hist")
    db = proj.work.db
    ids = [r["id"] for r in db.query("SELECT r.id FROM result r JOIN workunit w ON "
                                     "w.id=r.workunitid WHERE w.name LIKE 'hist\\_%' "
                                     "ORDER BY r.id")][-n:]
    first = (int(time.time()) // 3600 - hours_ago) * 3600 + 600
    for i, rid in enumerate(ids):
        sent = first + i * 3600
        ok = i % 2 == 0
        db.execute(
            "UPDATE result SET create_time=%s, sent_time=%s, received_time=%s, server_state=%s, "
            "outcome=%s, client_state=%s, exit_status=%s, elapsed_time=%s, hostid=0 "
            "WHERE id=%s",
            (first - 3600, sent, sent + 5400, states.RESULT_SERVER_STATE_OVER,
             states.RESULT_OUTCOME_SUCCESS if ok else states.RESULT_OUTCOME_CLIENT_ERROR,
             states.RESULT_FILES_UPLOADED if ok else states.RESULT_COMPUTE_ERROR,
             0 if ok else 1, 100.0 * (i + 1), rid))
    return ids, first
