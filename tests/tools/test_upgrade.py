"""bin/upgrade: taking over a project made by BOINC's make_project, and --revert.

The project is laid out from shared/fixtures/boinc-made-project as BOINC
left it (see boinc_made.py), its database loaded from the fixture's dump.
The last test is the acceptance test: after the upgrade the project's own
bin/start runs our daemons, a private Apache serves it at the fixture's
URLs, and the real BOINC client runs one of BOINC's existing jobs and one
new job made with our create_work.
"""

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

import boinc_made as bm
from testenv import ROOT, TEST_DB_PREFIX
from sched import apache, config, paths, states
from sched import db as dbmod

UPGRADE = os.path.join(ROOT, "bin", "upgrade")
# BOINC's programs this checkout has no replacement for (yet): upgrade leaves them.
BOINC_ONLY = sorted(n for n in bm.BOINC_BINARIES + tuple(bm.BOINC_SCRIPTS)
                    if not os.path.lexists(os.path.join(ROOT, "bin", n)))
KEPT = ("config.xml", "project.xml", "keys", "templates", "html", "download", "upload", "apps",
        "refproj.httpd.conf", "py", "log_%s" % paths.short_hostname(), "db_dump_spec.xml",
        "bin/worker_assimilate.sh", "bin/boinc_path_config.py") + tuple(
            "bin/" + n for n in BOINC_ONLY)


def snapshot(root, rels=None):
    """{relative path: what it is} for the files, links and dirs under ``rels``."""
    out = {}
    for rel in rels or [""]:
        top = os.path.join(root, rel)
        if not os.path.lexists(top):
            continue
        if rel and os.path.isdir(top) and not os.path.islink(top):
            out[rel + "/"] = ("dir", oct(os.lstat(top).st_mode))
        walk = [(os.path.dirname(top), [], [os.path.basename(top)])] if not os.path.isdir(top) \
            else os.walk(top)
        for dirpath, dirnames, filenames in walk:
            for name in sorted(filenames + [d for d in dirnames
                                            if os.path.islink(os.path.join(dirpath, d))]):
                path = os.path.join(dirpath, name)
                key = os.path.relpath(path, root)
                if os.path.islink(path):
                    out[key] = ("link", os.readlink(path))
                else:
                    with open(path, "rb") as f:
                        out[key] = ("file", hashlib.sha256(f.read()).hexdigest(),
                                    oct(os.stat(path).st_mode))
            for name in dirnames:
                out[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = (
                    "dir", oct(os.lstat(os.path.join(dirpath, name)).st_mode))
    return out


def table_checksums(db):
    return {t: db.query_one("CHECKSUM TABLE `%s`" % t)["Checksum"]
            for t in ("app", "app_version", "platform", "user", "host", "workunit", "result",
                      "host_app_version", "team")}


def run(argv, cwd=None, env=None, stdin=subprocess.DEVNULL):
    return subprocess.run(argv, cwd=cwd, env=env, stdin=stdin, capture_output=True, text=True,
                          timeout=300)


def upgrade(*args, prog=UPGRADE):
    return run([prog] + [str(a) for a in args])


class BoincProject(SimpleNamespace):
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def config(self):
        return config.load(self.dir)

    def db(self):
        return dbmod.connect(self.config())


@pytest.fixture
def boinc_project(admin_db, db_account, web_tmp):
    """Factory: the fixture project in ``web_tmp/refproj`` with its database loaded."""
    dbs = []

    def factory(relocate_paths=True):
        db_name = TEST_DB_PREFIX + secrets.token_hex(4)
        dbs.append(db_name)
        bm.load_database(admin_db, db_name)
        root = bm.lay_out(os.path.join(web_tmp, bm.NAME), db_name, db_account, relocate_paths)
        return BoincProject(dir=root, db_name=db_name)

    yield factory
    for name in dbs:
        admin_db.execute("DROP DATABASE IF EXISTS `%s`" % name)


def backups(proj):
    base = proj.path(".boinc_cpp_backup")
    return sorted(os.listdir(base)) if os.path.isdir(base) else []


def is_ours(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.startswith(b"#!" + sys.executable.encode()) and b'sched.entry("sched.' in head


# ------------------------------------------------------------------ upgrading

def test_upgrade_installs_our_programs_and_keeps_the_project(boinc_project):
    proj = boinc_project()
    before = snapshot(proj.dir)
    kept = snapshot(proj.dir, KEPT)
    db = proj.db()
    sums = table_checksums(db)

    res = upgrade("--yes", proj.dir)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "ok: database '%s'" % proj.db_name in out
    assert "ok: daemons and tasks: none running, project DISABLED" in out
    # BOINC's schema lacks the feeder's index: said, with how to add it, not done
    assert ("no index result.res_feeder, with which the feeder reads unsent results "
            "without sorting them all; it can be added while the project runs: "
            "ALTER TABLE result ADD INDEX res_feeder (server_state, priority DESC, "
            "workunitid)") in " ".join(out.split())
    # BOINC's include already runs cgi-bin under /refproj_cgi: our programs keep the names
    assert ("refproj.httpd.conf maps /refproj_cgi onto %s/cgi-bin" % proj.dir) in out
    assert "no change needed" in out
    (left,) = [line for line in out.splitlines() if line.startswith("Left in bin/ as they were")]
    assert left.split(": ", 1)[1].split(", ") == sorted(BOINC_ONLY + ["worker_assimilate.sh"])
    assert "bin/upgrade --revert %s" % proj.dir in out

    # BOINC's programs are saved as they were, in a backup named by the time
    (stamp,) = backups(proj)
    backup = proj.path(".boinc_cpp_backup", stamp)
    saved = snapshot(backup, ["bin", "cgi-bin"])
    assert saved == {k: v for k, v in before.items() if k.startswith(("bin/", "cgi-bin/"))}
    manifest = json.load(open(os.path.join(backup, "manifest.json")))
    assert manifest["state"] == "done" and manifest["reverted"] is None
    assert {"sched/", "db/", "bin/feeder", "bin/start", "cgi-bin/cgi",
            "cgi-bin/file_upload_handler"} <= set(manifest["installed"])
    assert manifest["written"] == {}            # config.xml untouched

    # ours are installed, under BOINC's names, run by this virtualenv's python
    for rel in ("bin/feeder", "bin/transitioner", "bin/start", "bin/create_work",
                "bin/sample_trivial_validator", "bin/script_assimilator", "cgi-bin/cgi",
                "cgi-bin/file_upload_handler", "cgi-bin/fcgi",
                "cgi-bin/fcgi_file_upload_handler"):
        assert is_ours(proj.path(rel)), rel
    assert os.readlink(proj.path("bin", "stop")) == "start"
    assert os.path.isfile(proj.path("sched", "__init__.py"))
    assert os.path.isfile(proj.path("db", "schema.sql"))
    # everything else is as it was: files, BOINC's other programs, the DB
    assert snapshot(proj.dir, KEPT) == kept
    assert table_checksums(db) == sums
    db.close()

    # the installed programs run on the project as it is
    status = run([proj.path("bin", "status"), "-v"], cwd=proj.dir)
    assert status.returncode == 0, status.stderr
    assert "BOINC is DISABLED" in status.stdout
    assert "sample_trivial_validator -d 3 --app worker" in status.stdout
    parse = run([proj.path("bin", "parse_config"), "db_name"], cwd=proj.dir)
    assert parse.stdout.strip() == proj.db_name


def test_dry_run_checks_and_changes_nothing(boinc_project):
    proj = boinc_project()
    before = snapshot(proj.dir)
    res = upgrade("--dry_run", proj.dir)
    assert res.returncode == 0, res.stderr
    assert "Would install sched/, db/, pyboinc_submit/ and" in res.stdout
    assert "Dry run: nothing changed." in res.stdout
    assert snapshot(proj.dir) == before


def test_without_a_terminal_it_needs_yes(boinc_project):
    proj = boinc_project()
    before = snapshot(proj.dir)
    res = upgrade(proj.dir)
    assert res.returncode == 1
    assert "run with --yes to go ahead" in res.stderr
    assert snapshot(proj.dir) == before


def test_paths_of_the_old_machine_are_named_and_relocate_fixes_them(boinc_project):
    proj = boinc_project(relocate_paths=False)       # config.xml as made on the old machine
    before = snapshot(proj.dir)
    original = open(proj.path("config.xml")).read()
    res = upgrade("--yes", proj.dir)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0] == "upgrade: can't take over %s:" % proj.dir
    for tag, own in (("download_dir", "download"), ("upload_dir", "upload"),
                     ("key_dir", "keys")):
        old = bm.OLD_ROOT + "/" + own + ("/" if tag == "key_dir" else "")
        assert "  config.xml <%s> %s does not exist (%s does: --relocate points config.xml " \
               "at it)" % (tag, old, proj.path(own)) in lines
    assert len(lines) == 4                  # one line per problem, nothing else refused
    assert "note: config.xml <app_dir> %s/apps does not exist" % bm.OLD_ROOT in res.stdout
    assert snapshot(proj.dir) == before

    res = upgrade("--yes", "--relocate", proj.dir)
    assert res.returncode == 0, res.stderr
    cfg = proj.config()
    assert cfg.download_dir == proj.path("download")
    assert cfg.upload_dir == proj.path("upload")
    assert cfg.key_dir == proj.path("keys") + "/"
    assert cfg.app_dir == proj.path("apps")
    assert cfg.get("log_dir") == paths.host_dir(proj.dir, "log")
    # only those lines changed; the earlier file is in the backup
    new = open(proj.path("config.xml")).read()
    changed = [(a, b) for a, b in zip(original.splitlines(), new.splitlines()) if a != b]
    assert len(changed) == 5 and len(original.splitlines()) == len(new.splitlines())
    (stamp,) = backups(proj)
    assert open(proj.path(".boinc_cpp_backup", stamp, "config.xml")).read() == original


def test_refuses_a_missing_or_bad_key(boinc_project):
    proj = boinc_project()
    os.unlink(proj.path("keys", "upload_private"))
    with open(proj.path("keys", "code_sign_public"), "w") as f:
        f.write("not a key\n")
    before = snapshot(proj.dir)
    res = upgrade("--yes", proj.dir)
    assert res.returncode == 1
    assert "  key %s is missing (the transitioner signs upload permissions with it)" % (
        proj.path("keys", "upload_private")) in res.stderr.splitlines()
    assert "can't read key file %s: first line should be the key size" % (
        proj.path("keys", "code_sign_public")) in res.stderr
    assert snapshot(proj.dir) == before


def test_a_missing_code_signing_private_key_is_only_a_note(boinc_project):
    proj = boinc_project()
    os.unlink(proj.path("keys", "code_sign_private"))       # kept offline
    res = upgrade("--dry_run", proj.dir)
    assert res.returncode == 0, res.stderr
    assert "note: no %s: update_versions and sign_executable need it" % (
        proj.path("keys", "code_sign_private")) in res.stdout


@pytest.mark.parametrize("change, problem", [
    ("ALTER TABLE result DROP COLUMN outcome", "missing column result.outcome"),
    ("ALTER TABLE workunit ENGINE=MyISAM", "table workunit: engine MyISAM, the server needs "
                                           "InnoDB"),
    ("DROP TABLE credited_job", "missing table credited_job"),
])
def test_refuses_a_database_it_cannot_run_on(boinc_project, admin_db, change, problem):
    proj = boinc_project()
    admin_db.execute("USE `%s`" % proj.db_name)
    try:
        admin_db.execute(change)
    finally:
        admin_db.execute("USE mysql")
    before = snapshot(proj.dir)
    res = upgrade("--yes", proj.dir)
    assert res.returncode == 1
    assert "  database '%s': %s" % (proj.db_name, problem) in [
        line[:len("  database '%s': " % proj.db_name) + len(problem)]
        for line in res.stderr.splitlines()]
    assert snapshot(proj.dir) == before


def test_refuses_a_database_it_cannot_reach(boinc_project):
    proj = boinc_project()
    text = open(proj.path("config.xml")).read()
    text = re.sub(r"<db_passwd>[^<]*</db_passwd>", "<db_passwd>wrong</db_passwd>", text)
    open(proj.path("config.xml"), "w").write(text)
    res = upgrade("--yes", proj.dir)
    assert res.returncode == 1
    assert re.search(r"^  database: can't connect to database '%s' .*Access denied" % proj.db_name,
                     res.stderr, re.M), res.stderr
    assert backups(proj) == []


def _hold_lock(lock_path, pid_path):
    """A process as BOINC's start leaves a daemon: holding its lock, pid file written."""
    code = ("import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
            "open(sys.argv[2], 'w').write('%d\\n' % os.getpid())\n"
            "print('locked', flush=True)\n"
            "time.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, lock_path, pid_path],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_refuses_while_boincs_daemons_run(boinc_project):
    proj = boinc_project()
    pid_dir = paths.host_dir(proj.dir, "pid")
    feeder = _hold_lock(os.path.join(pid_dir, "feeder.lock"), os.path.join(pid_dir, "feeder.pid"))
    # a daemon started by hand: BOINC's program itself, found by its executable
    shutil.copy("/bin/sleep", proj.path("bin", "transitioner"))
    transitioner = subprocess.Popen([proj.path("bin", "transitioner"), "300"])
    state = proj.path("run_state_%s.xml" % paths.short_hostname())
    open(state, "w").write("<boinc>\n    <enabled>1</enabled>\n</boinc>\n")
    try:
        before = snapshot(proj.dir)
        res = upgrade("--yes", proj.dir)
        lines = res.stderr.splitlines()
        assert res.returncode == 1
        assert "  feeder (pid %d holds pid_%s/feeder.lock) is running: run bin/stop first" % (
            feeder.pid, paths.short_hostname()) in lines
        assert "  bin/transitioner (pid %d) is running: run bin/stop first" % (
            transitioner.pid) in lines
        assert ("  run_state_%s.xml says ENABLED: bin/start --cron (cron) would start daemons "
                "meanwhile; run bin/stop first" % paths.short_hostname()) in lines
        assert snapshot(proj.dir) == before
    finally:
        for proc in (feeder, transitioner):
            proc.kill()
            proc.wait()
    open(state, "w").write("<boinc>\n    <enabled>0</enabled>\n</boinc>\n")
    res = upgrade("--dry_run", proj.dir)        # stopped: nothing in the way
    assert res.returncode == 0, res.stderr


def test_refuses_a_scheduler_url_naming_a_program_we_lack(boinc_project):
    proj = boinc_project()
    with open(proj.path("html", "user", "schedulers.txt"), "w") as f:
        f.write(bm.schedulers_txt("http://127.0.0.1:8081/refproj_cgi/sched_custom"))
    res = upgrade("--dry_run", proj.dir)
    assert res.returncode == 1
    assert ("  the scheduler URL http://127.0.0.1:8081/refproj_cgi/sched_custom names "
            "cgi-bin/sched_custom, which this server doesn't have (ours: cgi, fcgi, "
            "fcgi_file_upload_handler, file_upload_handler)") in res.stderr.splitlines()


def test_fcgi_urls_need_mod_fcgid(boinc_project):
    # a BOINC project that switched to fcgi without mod_fcgid: BOINC's programs
    # then run as CGI, ours can't
    proj = boinc_project()
    with open(proj.path("html", "user", "schedulers.txt"), "w") as f:
        f.write(bm.schedulers_txt("http://127.0.0.1:8081/refproj_cgi/fcgi"))
    res = upgrade("--dry_run", proj.dir)
    assert res.returncode == 1
    assert ("  http://127.0.0.1:8081/refproj_cgi/fcgi names a FastCGI program that "
            "refproj.httpd.conf doesn't run under mod_fcgid, and ours don't run as plain CGI: "
            "--fcgi writes refproj.fcgi.httpd.conf (or use --no_apache if your server's "
            "configuration runs them)") in res.stderr.splitlines()
    assert upgrade("--dry_run", "--no_apache", proj.dir).returncode == 0
    res = upgrade("--dry_run", "--fcgi", proj.dir)
    assert res.returncode == 0, res.stderr
    assert "Would write %s" % proj.path("refproj.fcgi.httpd.conf") in res.stdout


def test_not_a_project_is_one_line(tmp_path):
    res = upgrade("--yes", tmp_path)
    assert res.returncode == 1
    assert res.stderr == ("upgrade: %s is not a BOINC project directory (it needs config.xml "
                          "and cgi-bin/)\n" % tmp_path)


def test_the_projects_own_copy_does_not_install_itself(boinc_project):
    proj = boinc_project()
    assert upgrade("--yes", proj.dir).returncode == 0
    res = upgrade("--yes", proj.dir, prog=proj.path("bin", "upgrade"))
    assert res.returncode == 1
    assert "this is %s's own copy of upgrade: run the one of the checkout" % proj.dir \
        in res.stderr


def test_fcgi_switches_the_urls_and_writes_an_include(boinc_project, web_tmp):
    proj = boinc_project()
    res = upgrade("--yes", "--fcgi", proj.dir)
    assert res.returncode == 0, res.stderr
    cfg = proj.config()
    assert cfg.upload_url == "http://127.0.0.1:8081/refproj_cgi/fcgi_file_upload_handler"
    assert open(proj.path("html", "user", "schedulers.txt")).read() == bm.schedulers_txt(
        "http://127.0.0.1:8081/refproj_cgi/fcgi")
    include = proj.path("refproj.fcgi.httpd.conf")
    text = open(include).read()
    assert '<Directory "%s/cgi-bin">' % proj.dir in text
    assert text.count("SetHandler fcgid-script") == 2
    assert "Wrote %s" % include in res.stdout
    assert "a2enmod fcgid" in res.stdout
    # Apache takes BOINC's include and ours together
    run_dir = os.path.join(web_tmp, "apache-t")
    os.makedirs(run_dir)
    conf = os.path.join(run_dir, "httpd.conf")
    with open(conf, "w") as f:
        f.write(apache.standalone_conf(run_dir, apache.free_port(),
                                       [proj.path("refproj.httpd.conf"), include]))
    apache.check_conf(conf)
    # the earlier files are saved and --revert puts them back
    res = upgrade("--revert", "--yes", proj.dir)
    assert res.returncode == 0, res.stderr
    assert not os.path.exists(include)
    assert proj.config().upload_url == "http://127.0.0.1:8081/refproj_cgi/file_upload_handler"
    assert open(proj.path("html", "user", "schedulers.txt")).read() == bm.schedulers_txt()


# ------------------------------------------------------------------ reverting

def test_revert_puts_boincs_programs_back(boinc_project):
    proj = boinc_project()
    before = snapshot(proj.dir)
    assert upgrade("--yes", proj.dir).returncode == 0
    # the operator adds a program of his own meanwhile; it stays
    with open(proj.path("bin", "my_work_generator"), "w") as f:
        f.write("#!/bin/sh\n")
    res = upgrade("--revert", "--dry_run", proj.dir, prog=proj.path("bin", "upgrade"))
    assert res.returncode == 0, res.stderr
    assert "would remove sched/" in res.stdout
    assert os.path.isdir(proj.path("sched"))

    # run, as an operator would, by the project's own copy of upgrade
    res = upgrade("--revert", "--yes", proj.dir, prog=proj.path("bin", "upgrade"))
    assert res.returncode == 0, res.stderr
    assert "remove what BOINC's project didn't have: bin/antique_file_deleter" in res.stdout
    after = snapshot(proj.dir)
    added = {k for k in after if k not in before}
    assert added == {"bin/my_work_generator"} | {
        k for k in after if k.startswith(".boinc_cpp_backup/")}
    assert {k: v for k, v in after.items() if k in before} == before
    (stamp,) = backups(proj)
    manifest = json.load(open(proj.path(".boinc_cpp_backup", stamp, "manifest.json")))
    assert manifest["reverted"] > 0

    res = upgrade("--revert", "--yes", proj.dir)
    assert res.returncode == 1
    assert "no backup to revert to" in res.stderr


def test_revert_keeps_a_config_changed_since_and_refuses_while_daemons_run(boinc_project):
    proj = boinc_project(relocate_paths=False)
    assert upgrade("--yes", "--relocate", proj.dir).returncode == 0
    with open(proj.path("config.xml"), "a") as f:
        f.write("<!-- changed by the operator -->\n")
    edited = open(proj.path("config.xml")).read()
    pid_dir = paths.host_dir(proj.dir, "pid")
    feeder = _hold_lock(os.path.join(pid_dir, "feeder.lock"), os.path.join(pid_dir, "feeder.pid"))
    try:
        res = upgrade("--revert", "--yes", proj.dir)
        assert res.returncode == 1
        assert "feeder (pid %d holds pid_%s/feeder.lock) is running: run bin/stop first" % (
            feeder.pid, paths.short_hostname()) in res.stderr
        assert os.path.isdir(proj.path("sched"))
    finally:
        feeder.kill()
        feeder.wait()
    res = upgrade("--revert", "--yes", proj.dir)
    assert res.returncode == 0, res.stderr
    (stamp,) = backups(proj)
    assert "note: config.xml changed since the upgrade: left as it is; the earlier one is " \
           "%s" % proj.path(".boinc_cpp_backup", stamp, "config.xml") in res.stdout
    assert open(proj.path("config.xml")).read() == edited
    assert not os.path.exists(proj.path("sched"))


def test_upgrading_twice_keeps_both_backups_and_reverts_one_at_a_time(boinc_project):
    proj = boinc_project()
    boincs = snapshot(proj.dir, ["bin", "cgi-bin"])
    assert upgrade("--yes", proj.dir).returncode == 0
    ours = snapshot(proj.dir, ["bin", "cgi-bin", "sched"])
    res = upgrade("--yes", proj.dir)
    assert res.returncode == 0, res.stderr
    assert "this project already runs our programs" in res.stdout
    assert len(backups(proj)) == 2
    assert upgrade("--revert", "--yes", proj.dir).returncode == 0
    assert snapshot(proj.dir, ["bin", "cgi-bin", "sched"]) == ours
    assert upgrade("--revert", "--yes", proj.dir).returncode == 0
    assert snapshot(proj.dir, ["bin", "cgi-bin"]) == boincs
    assert not os.path.exists(proj.path("sched"))


# ------------------------------------------------------------------ the real client

WORKER = b"""#!/bin/sh
# The app of version 2.0: copy the input upper-cased, then say we finished.
resolve() { sed -n 's:.*<soft_link>\\(.*\\)</soft_link>.*:\\1:p' "$1"; }
in=$(resolve in); out=$(resolve out)
[ -n "$in" ] || in=in; [ -n "$out" ] || out=out
tr a-z A-Z < "$in" > "$out"
echo 0 > boinc_finish_called
exit 0
"""


@pytest.fixture
def port_8081():
    """The fixture project's URLs say 127.0.0.1:8081: one test at a time uses it."""
    with open("/tmp/boinctest-port-%d.lock" % bm.PORT, "w") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        if apache._port_open("127.0.0.1", bm.PORT):
            pytest.fail("127.0.0.1:%d is taken by another program; the fixture project's "
                        "URLs need it" % bm.PORT)
        yield bm.PORT


def project_cmd(proj, *argv, stdin=None):
    env = dict(os.environ, PYBOINC_START_DELAY="0")
    res = subprocess.run([proj.path("bin", argv[0])] + [str(a) for a in argv[1:]], cwd=proj.dir,
                         input=stdin, capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, "%s: %s%s" % (argv, res.stdout, res.stderr)
    return res.stdout


def wait_until(what, predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cgi", "fcgi"])
def test_real_client_runs_an_existing_job_and_a_new_one_after_the_upgrade(
        boinc_project, boinc_client, port_8081, web_tmp, mode):
    proj = boinc_project()
    res = upgrade("--yes", *(["--fcgi"] if mode == "fcgi" else []), proj.dir)
    assert res.returncode == 0, res.stdout + res.stderr
    includes = [proj.path("refproj.httpd.conf")]
    if mode == "fcgi":
        bm.render_master_page(proj.dir)         # PHP's home page shows schedulers.txt
        includes.append(proj.path("refproj.fcgi.httpd.conf"))
    # the operator's settings for a quick test: no pause between RPCs
    text = open(proj.path("config.xml")).read()
    open(proj.path("config.xml"), "w").write(
        text.replace("<min_sendwork_interval>6", "<min_sendwork_interval>0"))
    db = proj.db()

    # BOINC's app version (its wrapper) came without its files: a new version
    vdir = proj.path("apps", "worker", "2.0", "x86_64-pc-linux-gnu")
    os.makedirs(vdir)
    with open(os.path.join(vdir, "worker_2.0_x86_64-pc-linux-gnu.sh"), "wb") as f:
        f.write(WORKER)
    os.chmod(os.path.join(vdir, "worker_2.0_x86_64-pc-linux-gnu.sh"), 0o755)
    project_cmd(proj, "update_versions", "--noconfirm")

    # One of BOINC's unsent jobs: its input file is lost (the fixture has no
    # download/), so the operator stages it again and corrects its md5 and
    # size in the job's description.  The others without inputs are cancelled.
    old = db.query_one("SELECT * FROM workunit WHERE name='refjob_2'")
    unsent = db.query_one("SELECT * FROM result WHERE workunitid=%s", (old["id"],))
    assert unsent["server_state"] == states.RESULT_SERVER_STATE_UNSENT
    staging = proj.path("staging")
    os.makedirs(staging)
    content = b"input of the existing job refjob_2, staged again\n"
    with open(os.path.join(staging, "refjob_in_2.txt"), "wb") as f:
        f.write(content)
    project_cmd(proj, "stage_file", os.path.join(staging, "refjob_in_2.txt"))
    cfg = proj.config()
    staged = paths.dir_hier_path("refjob_in_2.txt", cfg.download_dir, cfg.uldl_dir_fanout)
    xml_doc = old["xml_doc"].decode()
    assert "/download/%s/refjob_in_2.txt" % os.path.basename(os.path.dirname(staged)) in xml_doc
    xml_doc = re.sub(r"<md5_cksum>\w+</md5_cksum>",
                     "<md5_cksum>%s</md5_cksum>" % hashlib.md5(content).hexdigest(), xml_doc)
    xml_doc = re.sub(r"<nbytes>\d+</nbytes>", "<nbytes>%d</nbytes>" % len(content), xml_doc)
    assert db.execute("UPDATE workunit SET xml_doc=%s WHERE id=%s", (xml_doc, old["id"])) == 1
    for first, last in ((3, 9), (12, 16), (18, 20)):
        project_cmd(proj, "cancel_jobs", first, last)

    # and a new job, made with our create_work
    with open(os.path.join(staging, "newjob_in.txt"), "w") as f:
        f.write("input of a job made after the upgrade\n")
    project_cmd(proj, "stage_file", os.path.join(staging, "newjob_in.txt"))
    project_cmd(proj, "create_work", "--appname", "worker", "--wu_name", "newjob",
                "newjob_in.txt")

    # serve it: BOINC's include, and what Debian's Apache adds (index.php as index)
    if os.geteuid() == 0:
        apache.share_with_httpd(proj.dir)
    system_conf = os.path.join(web_tmp, "debian-dir.conf")
    with open(system_conf, "w") as f:
        f.write("DirectoryIndex index.html index.php\n")
    web = apache.PrivateApache(os.path.join(web_tmp, "apache"), port_8081,
                               [system_conf] + includes)
    web.start()
    try:
        project_cmd(proj, "start")
        try:
            _client_runs_both(proj, db, boinc_client, unsent, content, web, mode)
        finally:
            project_cmd(proj, "stop")
    finally:
        web.stop()
        db.close()


def _client_runs_both(proj, db, boinc_client, unsent, content, web, mode):
    from sched.shmem import JobCache, ShmemError

    cfg = proj.config()

    def feeder_ready():
        try:
            cache = JobCache.attach(cfg)
        except ShmemError:
            return False
        try:
            return cache.ready
        finally:
            cache.detach()

    wait_until("the feeder (started by bin/start)", feeder_ready, 60)
    new = wait_until("the transitioner to make the new job's result", lambda: db.query_one(
        "SELECT r.* FROM result r JOIN workunit w ON r.workunitid=w.id WHERE w.name='newjob'"))
    names = {unsent["name"], new["name"]}

    client = boinc_client()
    client.attach(bm.MASTER_URL, bm.AUTHENTICATOR)

    def acked():
        done = {r["result_name"]: r for r in client.old_results()
                if r.get("project_url") == bm.MASTER_URL}
        return done if names <= set(done) else None

    done = client.wait_for(acked, timeout=300, nudge_url=bm.MASTER_URL, nudge_every=5,
                           what="both jobs run, uploaded, reported and acknowledged")
    assert all(int(done[n]["exit_status"]) == 0 for n in names)

    # BOINC's row of the existing job, sent and received by our programs, for
    # the existing account (on this machine the scheduler may recognise the
    # fixture's host 2 as this client's computer, as BOINC's does)
    hostid = int(client.project(bm.MASTER_URL)["hostid"])
    assert hostid > 0
    for name in names:
        row = db.query_one("SELECT * FROM result WHERE name=%s", (name,))
        assert row["server_state"] == states.RESULT_SERVER_STATE_OVER
        assert row["outcome"] == states.RESULT_OUTCOME_SUCCESS
        assert (row["userid"], row["hostid"]) == (2, hostid)
        out_file = row["xml_doc_out"].decode().split("<name>")[1].split("</name>")[0]
        with open(paths.dir_hier_path(out_file, cfg.upload_dir, cfg.uldl_dir_fanout)) as f:
            assert f.read().isupper()
    row = db.query_one("SELECT * FROM result WHERE id=%s", (unsent["id"],))
    assert (row["name"], row["create_time"], row["random"]) == (
        unsent["name"], unsent["create_time"], unsent["random"])
    log = client.log_text()
    assert "Finished download of worker_2.0_x86_64-pc-linux-gnu.sh" in log
    assert "Finished download of refjob_in_2.txt" in log

    # the project's validator and its own assimilation script (BOINC's config.xml)
    wait_until("both jobs validated and assimilated", lambda: db.scalar(
        "SELECT COUNT(*) FROM workunit WHERE name IN ('refjob_2', 'newjob') AND "
        "assimilate_state=%s", (states.ASSIMILATE_DONE,)) == 2)
    lines = open(proj.path("assimilated.txt")).read().splitlines()
    assert "%d %s" % (unsent["workunitid"], content.decode().strip().upper()) in lines
    assert any(line.endswith("INPUT OF A JOB MADE AFTER THE UPGRADE") for line in lines)
    # the programs the URLs name did the work: in fcgi mode the scheduler and
    # the new job's upload; BOINC's job keeps the upload URL it was made with
    with open(os.path.join(web.run_dir, "access.log")) as f:
        posts = set(re.findall(r'"POST (\S+) HTTP', f.read()))
    cgi = "/%s_cgi/" % bm.NAME
    if mode == "fcgi":
        assert posts == {cgi + "fcgi", cgi + "file_upload_handler",
                         cgi + "fcgi_file_upload_handler"}
    else:
        assert posts == {cgi + "cgi", cgi + "file_upload_handler"}


def test_fcgi_switches_our_own_static_master_page_too(make_project):
    """A project made by our make_project has the scheduler link in index.html
    itself (no PHP including schedulers.txt): --fcgi must switch it there too."""
    proj = make_project("ours")
    master = os.path.join(proj.dir, "html", "user", "index.html")
    assert "ours_cgi/cgi" in open(master).read()
    out = upgrade("--yes", "--fcgi", "--no_apache", proj.dir)
    assert out.returncode == 0, out.stdout + out.stderr
    text = open(master).read()
    assert "ours_cgi/fcgi" in text and "ours_cgi/cgi\"" not in text
    assert "<scheduler>%sours_cgi/fcgi</scheduler>" % proj.url_base in text
