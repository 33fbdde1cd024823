"""What make_project sets up for the ops pages, and the pages under FastCGI
on a bare project (no apps, no feeder, daemons never started)."""

import os
import pwd
import re
import stat
import sys

import pytest

from opsproject import OPERATOR, build_project, http, start_apache, teardown
from sched import apache
from sched.ops import csrf


@pytest.fixture(scope="module")
def bare_fcgi(admin_db, db_account):
    proj = build_project(admin_db, db_account, name="bare", mode="fcgi")
    try:
        start_apache(proj)
        yield proj
    finally:
        teardown(proj, admin_db)


def test_make_project_installs_the_program_and_a_secret(bare_fcgi):
    d = bare_fcgi.dir
    program = os.path.join(d, "html", "ops", "index.py")
    with open(program) as f:
        assert f.readline() == "#!%s -S\n" % sys.executable
        assert 'sched.entry("sched.ops.app")' in f.read()
    assert os.access(program, os.X_OK)
    secret = csrf.secret_path(d)
    st = os.stat(secret)
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert st.st_uid == pwd.getpwnam(apache.httpd_user()).pw_uid
    with open(secret) as f:
        assert re.fullmatch(r"[0-9a-f]{64}\n", f.read())
    assert csrf.ensure_secret(d, apache.httpd_user()) == secret        # kept as it is
    assert stat.S_IMODE(os.stat(d).st_mode) == apache.PROJECT_DIR_MODE
    conf = open(os.path.join(d, "bare.httpd.conf")).read()
    assert '<Files "index.py">\n        Options +ExecCGI\n        SetHandler fcgid-script' in conf


def test_pages_under_fastcgi_on_a_bare_project(bare_fcgi):
    auth = (OPERATOR, bare_fcgi.password)
    assert http(bare_fcgi.ops_url)[0] == 401
    # /bare_ops without the slash: to the slash, after authentication.
    status, headers, _ = http(bare_fcgi.ops_url.rstrip("/"), auth=auth)
    assert status == 301 and headers["Location"] == "/bare_ops/"
    status, _, body = http(bare_fcgi.ops_url, auth=auth)
    assert status == 200
    assert "Not attached: can&#x27;t attach shmem" in body          # no feeder
    assert "Tasks ready to send</td><td class=\"num\">0<" in body
    for page in ("apps", "db", "db?table=host", "db?table=user", "batches", "cancel",
                 "metrics", "server_status?xml=1"):
        status, _, body = http(bare_fcgi.ops_url + page, auth=auth)
        assert status == 200, (page, body[-500:])
    body = http(bare_fcgi.ops_url + "metrics", auth=auth)[2]
    assert "boinc_shmem_attached 0" in body and "boinc_db_up 1" in body
    assert "No batches." in http(bare_fcgi.ops_url + "batches", auth=auth)[2]


def test_an_upgrade_makes_a_missing_secret(project):
    from sched import install
    secret = csrf.secret_path(project.dir)
    os.unlink(secret)
    installed = install.install_programs(project.dir)        # as bin/upgrade
    assert csrf.SECRET_FILE in installed
    assert stat.S_IMODE(os.stat(secret).st_mode) == (0o600 if os.geteuid() == 0 else 0o640)
    before = open(secret).read()
    assert csrf.SECRET_FILE not in install.install_programs(project.dir)
    assert open(secret).read() == before


def test_check_project_on_a_project_never_started(bare_fcgi):
    import subprocess
    import time
    reread = os.path.join(bare_fcgi.dir, "reread_db")
    open(reread, "w").close()
    old = time.time() - 3600
    os.utime(reread, (old, old))
    program = os.path.join(bare_fcgi.dir, "html", "ops", "index.py")
    os.chmod(program, 0o644)
    try:
        proc = subprocess.run([os.path.join(bare_fcgi.dir, "bin", "check_project")],
                              cwd=bare_fcgi.dir, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(program, 0o755)
        os.unlink(reread)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1 and not proc.stderr
    problems = [line.split(" -- fix: ")[0] for line in lines]
    host = bare_fcgi.config.this_host.split(".")[0]
    assert "the project is DISABLED on %s (bin/stop, or never started)" % host in problems
    for d in ("feeder -d 3", "transitioner -d 3", "file_deleter -d 3"):
        assert "daemon '%s' is not running on %s" % (d, host) in problems
    assert "reread_db has waited 60 minutes: the feeder isn't reloading its catalog " \
        "(not running?)" in problems
    assert "bare.httpd.conf routes the ops pages to html/ops/index.py, which is missing or " \
        "not executable" in problems
    assert len(lines) == 6, lines


def test_pages_without_a_database(bare_fcgi):
    auth = (OPERATOR, bare_fcgi.password)
    path = os.path.join(bare_fcgi.dir, "config.xml")
    with open(path) as f:
        original = f.read()
    passwd = bare_fcgi.config.db_passwd
    with open(path, "w") as f:
        f.write(original.replace("<db_passwd>%s<" % passwd, "<db_passwd>wrong<"))
    try:
        status, _, body = http(bare_fcgi.ops_url, auth=auth)
        assert status == 200
        assert "Can&#x27;t read the database: can&#x27;t connect to database" in body
        assert "file_deleter" in body                       # the daemons still show
        status, _, body = http(bare_fcgi.ops_url + "metrics", auth=auth)
        assert status == 200
        assert "boinc_db_up 0" in body and 'boinc_scrape_error{part="database"} 1' in body
        status, _, body = http(bare_fcgi.ops_url + "apps", auth=auth)
        assert status == 503 and "database error" in body
    finally:
        with open(path, "w") as f:
            f.write(original)
    assert http(bare_fcgi.ops_url + "apps", auth=auth)[0] == 200
