"""make_project: layout, config.xml, keys, database, master page, programs, errors."""

import os
import re
import secrets
import stat
import subprocess
import sys

import pytest

from testenv import ROOT
from sched import apache, config, crypt, paths, schema
from sched.tools import make_project as mp

MAKE_PROJECT = os.path.join(ROOT, "bin", "make_project")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_layout_and_modes(project):
    d = project.dir
    for sub in ("bin", "cgi-bin", "keys", "download", "upload", "templates", "apps",
                "archives", "html/user", "html/ops", "html/inc", "html/project",
                "html/cache", "html/stats", "html/user_profile"):
        assert os.path.isdir(os.path.join(d, sub)), sub
    for kind in ("log", "pid", "tmp"):
        assert os.path.isdir(paths.host_dir(d, kind))
    # BOINC's: setgid and group-writable where Apache writes.
    for sub in ("upload", "html/cache", "html/user_profile/images",
                os.path.basename(paths.host_dir(d, "log"))):
        assert mode(os.path.join(d, sub)) == 0o2770, sub
    for name in ("config.xml", "project.xml", "db_revision", "test.httpd.conf",
                 "test.cronjob", "test.readme", "html/user/index.html",
                 "html/user/schedulers.txt", "html/ops/.htpasswd"):
        assert os.path.isfile(os.path.join(d, name)), name


def test_config_has_boincs_defaults(project, db_account):
    cfg, url = project.config, project.url_base
    assert cfg.get("shmem_key").startswith("0x1111")
    assert 0x11110000 <= cfg.shmem_key <= 0x1111ffff
    assert cfg.uldl_dir_fanout == 1024
    assert cfg.max_wus_to_send == 50 and cfg.daily_result_quota == 500
    assert cfg.min_sendwork_interval == 6 and cfg.send_result_abort
    assert cfg.dont_generate_upload_certificates and cfg.ignore_upload_certificates
    assert cfg.cache_md5_info and cfg.sched_debug_level == 3 and cfg.fuh_debug_level == 3
    assert cfg.get("show_results") == "1" and cfg.get("disable_account_creation") == "0"
    assert cfg.long_name == "test" and cfg.host == paths.short_hostname()
    assert (cfg.db_name, cfg.db_user, cfg.db_passwd, cfg.db_host) == (
        project.db_name, db_account["user"], db_account["passwd"], db_account["host"])
    assert cfg.master_url == url + "test/"
    assert cfg.download_url == url + "test/download"
    assert cfg.upload_url == url + "test_cgi/file_upload_handler"
    assert cfg.download_dir == os.path.join(project.dir, "download")
    assert cfg.upload_dir == os.path.join(project.dir, "upload")
    assert cfg.key_path("upload_private") == os.path.join(project.dir, "keys", "upload_private")
    assert cfg.get("app_dir") == os.path.join(project.dir, "apps")
    assert cfg.dir("log") == paths.host_dir(project.dir, "log")
    assert [d.cmd for d in cfg.daemons] == ["feeder -d 3", "transitioner -d 3",
                                           "file_deleter -d 3"]
    tasks = {t.cmd: t for t in cfg.tasks}
    assert len(tasks) == 11
    assert tasks["antique_file_deleter -d 2"].period == "24 hours"
    assert tasks["update_stats"].period == "1 days" and not tasks["update_stats"].disabled
    assert tasks["db_dump -d 2 --dump_spec ../db_dump_spec.xml"].disabled
    assert tasks["run_in_ops ./update_forum_activities.php"].period == "1 hour"


def test_shmem_keys_differ_between_projects(make_project):
    keys = {make_project("p%d" % i, db=False).config.shmem_key for i in range(3)}
    assert len(keys) > 1


def test_project_xml_lists_boincs_platforms(project):
    px = config.parse_project_xml(os.path.join(project.dir, "project.xml"))
    names = [p["name"] for p in px.platforms]
    assert len(names) == 20 and names[0] == "windows_intelx86" and names[-1] == "anonymous"
    assert "x86_64-pc-linux-gnu" in names and px.apps == []


def test_keys_are_valid_pairs(project):
    for pair in ("upload", "code_sign"):
        priv = project.config.key_path(pair + "_private")
        pub = project.config.key_path(pair + "_public")
        assert mode(priv) == 0o600
        private, public = crypt.read_private_key(priv), crypt.read_public_key(pub)
        sig = crypt.sign_string("hello", private)
        assert crypt.verify_string("hello", sig, public)
        assert not crypt.verify_string("hellO", sig, public)
    a = crypt.read_public_key(project.config.key_path("upload_public"))
    b = crypt.read_public_key(project.config.key_path("code_sign_public"))
    assert a.n != b.n


def test_database_has_the_schema(project, admin_db):
    tables = {r["t"] for r in admin_db.query(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = %s",
        (project.db_name,))}
    assert set(schema.CORE_TABLES) <= tables
    with open(os.path.join(project.dir, "db_revision")) as f:
        assert int(f.read()) == mp.DB_REVISION


def scheduler_urls(text):
    """Scheduler URLs as the client finds them: line by line, both forms."""
    urls = []
    for line in text.splitlines():
        assert len(line) < 256, "the client reads the master page in 256-byte lines"
        urls += re.findall(r"<scheduler>(.*?)</scheduler>", line)
        urls += re.findall(r'<link rel="boinc_scheduler" href="([^"]*)">', line)
    return urls


def test_master_page_names_the_scheduler(project):
    want = project.url("test_cgi/cgi")
    for name in ("index.html", "schedulers.txt"):
        with open(os.path.join(project.dir, "html", "user", name)) as f:
            text = f.read()
        assert scheduler_urls(text) == [want, want]
        assert "<!-- <scheduler>%s</scheduler> -->" % want in text


def test_programs_run_from_the_project(project):
    bin_dir = os.path.join(project.dir, "bin")
    repo_bin = os.path.join(ROOT, "bin")
    assert os.path.isfile(os.path.join(project.dir, "sched", "__init__.py"))
    # byte-compiled at install, for the interpreter the programs name: Apache's
    # user couldn't write the .pyc files, and CGI programs would compile anew each time
    import importlib.util
    for dirpath, dirs, files in os.walk(os.path.join(project.dir, "sched")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                assert os.path.isfile(importlib.util.cache_from_source(
                    os.path.join(dirpath, name))), os.path.join(dirpath, name)
    assert os.path.isfile(os.path.join(project.dir, "db", "schema.sql"))
    for name in os.listdir(repo_bin):
        dest = os.path.join(bin_dir, name)
        if os.path.islink(os.path.join(repo_bin, name)):
            assert os.readlink(dest) == os.readlink(os.path.join(repo_bin, name))
            continue
        with open(dest) as f:
            assert f.readline() == "#!%s\n" % sys.executable, name
        assert os.access(dest, os.X_OK)
    # Prove the project's copy runs, not the checkout's: mark the copy.
    copy = os.path.join(project.dir, "sched", "tools", "parse_config.py")
    with open(copy) as f:
        text = f.read()
    assert "print(value)" in text
    with open(copy, "w") as f:
        f.write(text.replace("print(value)", 'print("copy:" + value)'))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BOINC_PROJECT_DIR")}
    out = subprocess.run([os.path.join(bin_dir, "parse_config"), "db_name"], cwd=project.dir,
                         env=env, stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert out.stdout == "copy:%s\n" % project.db_name


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "bin", "start")),
                    reason="bin/start is not in this checkout")
def test_status_runs_from_the_project(project):
    status = os.path.join(project.dir, "bin", "status")
    assert os.path.islink(status) and os.readlink(status) == "start"
    out = subprocess.run([status], cwd=project.dir, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0 and "Traceback" not in out.stdout
    # A new project's daemons are not enabled yet (bin/start enables them).
    assert out.stdout.startswith("BOINC is DISABLED"), out.stdout


def test_httpd_conf_and_instructions(project):
    with open(os.path.join(project.dir, "test.httpd.conf")) as f:
        conf = f.read()
    assert conf == apache.project_conf(project.dir, "test", project.url_base, "cgi", "test")
    cron = ("0,5,10,15,20,25,30,35,40,45,50,55 * * * * cd %s ; %s/bin/start --cron"
            % (project.dir, project.dir))
    with open(os.path.join(project.dir, "test.cronjob")) as f:
        assert f.read() == cron + "\n"
    assert cron in project.output
    assert "test.httpd.conf" in project.output and "htpasswd" in project.output


def test_fcgi_option_points_clients_at_the_fastcgi_programs(make_project):
    p = make_project("f", "--fcgi", db=False)
    assert p.config.upload_url == p.url("f_cgi/fcgi_file_upload_handler")
    with open(os.path.join(p.dir, "html", "user", "schedulers.txt")) as f:
        assert scheduler_urls(f.read()) == [p.url("f_cgi/fcgi")] * 2
    with open(os.path.join(p.dir, "f.httpd.conf")) as f:
        assert "SetHandler fcgid-script" in f.read()


def test_test_app(make_project):
    p = make_project("t", "--test_app", db=False)
    px = config.parse_project_xml(os.path.join(p.dir, "project.xml"))
    assert [a["name"] for a in px.apps] == ["example_app"]
    for name in ("example_app_in", "example_app_out"):
        assert os.path.isfile(os.path.join(p.dir, "templates", name))
    assert os.path.isdir(os.path.join(p.dir, "apps", "example_app"))
    assert "sample_bitwise_validator -d 3 --app example_app" in [d.cmd for d in p.config.daemons]


def test_web_only_and_no_db(make_project, admin_db):
    p = make_project("w", "--web_only", db=False)
    assert p.config.get("no_computing") == "1"
    assert not any(os.path.exists(p.config.key_path(k + "_private"))
                   for k in ("upload", "code_sign"))
    assert not os.path.exists(os.path.join(p.dir, "db_revision"))
    assert not admin_db.scalar("SELECT COUNT(*) FROM information_schema.schemata "
                               "WHERE schema_name = %s", (p.db_name,))


def test_existing_keys_are_reused(make_project, web_tmp):
    key_dir = os.path.join(web_tmp, "mykeys")
    os.makedirs(key_dir)
    private, public = crypt.generate_key_pair()
    crypt.write_private_key(os.path.join(key_dir, "code_sign_private"), private)
    crypt.write_public_key(os.path.join(key_dir, "code_sign_public"), public)
    p = make_project("k", "--key_dir", key_dir, db=False)
    assert p.config.keys_dir.rstrip("/") == key_dir
    assert crypt.read_public_key(p.config.key_path("code_sign_public")).n == public.n
    assert os.path.exists(p.config.key_path("upload_private"))


def test_delete_prev_inst_and_drop_db_first(make_project, admin_db):
    p = make_project("again")
    marker = os.path.join(p.dir, "marker")
    open(marker, "w").close()
    admin_db.execute("INSERT INTO `%s`.platform (create_time, name, user_friendly_name) "
                     "VALUES (1, 'x', 'x')" % p.db_name)
    q = make_project("again", "--delete_prev_inst", "--drop_db_first",
                     "--db_name", p.db_name, port=p.port)
    assert q.dir == p.dir and not os.path.exists(marker)
    assert admin_db.scalar("SELECT COUNT(*) FROM `%s`.platform" % p.db_name) == 0


# ---------------------------------------------------------------- errors

def run_cli(*args):
    return subprocess.run([MAKE_PROJECT, "--no_query"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


def one_line_error(res):
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("make_project: "), res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    return lines[0]


def db_args(account, name):
    return ["--db_host", account["host"], "--db_user", account["user"],
            "--db_passwd", account["passwd"], "--db_name", name]


def test_existing_project_dir_is_refused(project, db_account):
    res = run_cli("--project_root", project.dir, *db_args(db_account, project.db_name), "test")
    assert "already exists" in one_line_error(res)
    assert os.path.isfile(os.path.join(project.dir, "config.xml"))


def test_bad_db_password_is_one_line_and_leaves_nothing(web_tmp, db_account, db_name):
    root = os.path.join(web_tmp, "bad")
    account = dict(db_account, passwd="wrong" + secrets.token_hex(4))
    msg = one_line_error(run_cli("--project_root", root, *db_args(account, db_name), "bad"))
    assert "can't connect" in msg and "--db_passwd" in msg
    assert not os.path.exists(root)


def test_existing_db_is_refused_without_drop_db_first(web_tmp, db_account, admin_db, db_name):
    admin_db.execute("CREATE DATABASE `%s`" % db_name)
    root = os.path.join(web_tmp, "dup")
    msg = one_line_error(run_cli("--project_root", root, *db_args(db_account, db_name), "dup"))
    assert db_name in msg and "--drop_db_first" in msg
    assert not os.path.exists(root)


def test_failure_half_way_removes_the_project(web_tmp, db_account, admin_db, db_name):
    blocker = os.path.join(web_tmp, "file")
    open(blocker, "w").close()
    root = os.path.join(web_tmp, "half")
    res = run_cli("--project_root", root, "--key_dir", os.path.join(blocker, "keys"),
                  *db_args(db_account, db_name), "half")
    assert "keys" in one_line_error(res)
    assert not os.path.exists(root)
    assert not admin_db.scalar("SELECT COUNT(*) FROM information_schema.schemata "
                               "WHERE schema_name = %s", (db_name,))


def test_bin_make_project_works_end_to_end(web_tmp, db_account, admin_db, db_name):
    root = os.path.join(web_tmp, "cli")
    res = run_cli("--project_root", root, "--url_base", "http://127.0.0.1:1/",
                  *db_args(db_account, db_name), "cli", "CLI Project")
    assert res.returncode == 0, res.stderr
    assert "bin/start --cron" in res.stdout
    assert config.load(root).long_name == "CLI Project"
    assert admin_db.scalar("SELECT COUNT(*) FROM `%s`.consent_type" % db_name) == 2


def test_usage_error():
    res = run_cli()
    assert res.returncode == 1 and "usage: make_project" in res.stderr


def test_installed_submit_batch_finds_its_library(make_project):
    """bin/submit_batch in a project imports pyboinc_submit from the project itself."""
    import subprocess
    proj = make_project(db=False)
    assert os.path.isdir(os.path.join(proj.dir, "pyboinc_submit"))
    out = subprocess.run([os.path.join(proj.dir, "bin", "submit_batch"), "--help"],
                         cwd="/", capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "usage" in out.stdout.lower()
