"""A project as BOINC's own make_project left it, from shared/fixtures/boinc-made-project.

:func:`lay_out` builds the directory BOINC's ``make_project`` and
``setup_project.py`` make (their directories, modes, symlinks and files),
with stand-ins for BOINC's compiled programs (files that can't run), the
fixture's config.xml, project.xml, templates and keys, and the state after
the operator's ``bin/stop`` (run_state DISABLED, stop_daemons, stop_sched,
the stale pid files BOINC's start leaves).  :func:`load_database` loads the
fixture's mysqldump with the ``mariadb`` client, as an operator restores a
dump on a new machine.

There is no PHP here, so ``html/user/index.php`` holds what BOINC's PHP
home page prints that matters to clients (html/user/schedulers.txt's
lines); :func:`render_master_page` writes it again after schedulers.txt
changes, as PHP's ``readfile`` would.
"""

import os
import re
import secrets
import shutil
import subprocess

from sched import paths

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared", "fixtures", "boinc-made-project")
NAME = "refproj"
OLD_ROOT = "/home/boincadm/projects/refproj"
PORT = 8081                     # the fixture's URLs: http://127.0.0.1:8081/refproj/
MASTER_URL = "http://127.0.0.1:8081/refproj/"
SCHEDULER_URL = "http://127.0.0.1:8081/refproj_cgi/cgi"
# The account the fixture's jobs ran under (user 2, "harness").
AUTHENTICATOR = "629f1e9db635432466e5d3ce670bbbb6"

# setup_project.py's create_project_dirs, and the ones Apache writes into.
DIRS = ("cgi-bin", "bin", "py", "py/Boinc", "templates", "upload", "download", "apps",
        "html", "html/cache", "html/inc", "html/inc/password_compat", "html/inc/random_compat",
        "html/inc/ReCaptcha", "html/inc/ReCaptcha/RequestMethod", "html/languages",
        "html/languages/compiled", "html/languages/translations",
        "html/languages/project_specific_translations", "html/ops", "html/ops/ffmail",
        "html/ops/mass_email", "html/ops/remind_email", "html/project", "html/stats",
        "html/user", "html/user/img", "html/user_profile", "html/user_profile/images")
GROUP_WRITABLE = ("upload", "html/cache", "html/inc", "html/languages",
                  "html/languages/compiled", "html/user_profile/images")

# A few of the compiled programs BOINC installs into bin/ and cgi-bin/.
BOINC_BINARIES = ("feeder", "transitioner", "file_deleter", "sample_trivial_validator",
                  "script_assimilator", "update_stats", "db_dump", "census", "create_work",
                  "cancel_jobs", "show_shmem", "crypt_prog", "wu_check")
BOINC_SCRIPTS = {           # name: interpreter of BOINC's script
    "xadd": "python3", "update_versions": "php", "stage_file": "php", "run_in_ops": "sh",
    "start": "python3", "appmgr": "php",
}
CGI_BINARIES = ("cgi", "file_upload_handler")
# The operator's own assimilation script (config.xml: script_assimilator
# --script worker_assimilate.sh): it records each job and its output.
ASSIMILATE_SH = """#!/bin/sh
# worker_assimilate.sh WU_ID FILE...: note the job and its output.
wu=$1; shift
for f in "$@"; do
    echo "$wu $(cat "$f")" >> ../assimilated.txt
done
"""


def stand_in(path, name, interpreter=None):
    """A file that looks like BOINC's program and can't run."""
    if interpreter:
        data = ("#!/usr/bin/env %s\n# stand-in for BOINC's %s\nexit 3\n"
                % (interpreter, name)).encode()
    else:
        data = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + ("stand-in for BOINC's %s\n" % name).encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)


def schedulers_txt(url=SCHEDULER_URL):
    # setup_project.py's two forms of the scheduler URL
    return '\n<!-- <scheduler>%s</scheduler> -->\n<link rel="boinc_scheduler" href="%s">\n' % (
        url, url)


def render_master_page(root):
    """html/user/index.php: what BOINC's home page outputs for a client."""
    with open(os.path.join(root, "html", "user", "schedulers.txt")) as f:
        links = f.read()
    with open(os.path.join(root, "html", "user", "index.php"), "w") as f:
        f.write("<html><head><title>Reference Project</title>\n%s</head>\n"
                "<body><h1>Reference Project</h1></body></html>\n" % links)


def httpd_conf(root, name=NAME):
    """NAME.httpd.conf with the directives BOINC's make_project writes."""
    p = root
    return "\n".join([
        "",
        "    ## Apache settings of BOINC project Reference Project (made by make_project)",
        "",
        "    Alias /%s/download %s/download" % (name, p),
        "    Alias /%s/stats %s/html/stats" % (name, p),
        "    Alias /%s/user_profile %s/html/user_profile" % (name, p),
        "    Alias /%s %s/html/user" % (name, p),
        "",
        "    Alias /%s_ops %s/html/ops" % (name, p),
        "    ScriptAlias /%s_cgi %s/cgi-bin" % (name, p),
        "",
        '    <Directory "%s/keys">' % p,
        "        Require all denied",
        "    </Directory>",
        '    <Directory "%s/upload">' % p,
        "        Require all denied",
        "    </Directory>",
        '    <Directory "%s/download">' % p,
        "        RemoveType .php .phtml",
        "        Require all granted",
        "    </Directory>",
        '    <Directory "%s/html/stats">' % p,
        "        RemoveType .php .phtml",
        "        Require all granted",
        "    </Directory>",
        '    <Directory "%s/html/user_profile">' % p,
        "        RemoveType .php .phtml",
        "        Require all granted",
        "    </Directory>",
        '    <Directory "%s/html">' % p,
        "        Options Indexes MultiViews",
        "        AllowOverride AuthConfig",
        "        Require all granted",
        "    </Directory>",
        '    <Directory "%s/cgi-bin">' % p,
        "        Options ExecCGI",
        "        AllowOverride AuthConfig",
        "        Require all granted",
        "    </Directory>",
        "", ""])


def config_text(root, db_name, account, relocate_paths=True, host=None):
    """The fixture's config.xml for this machine: its DB, host name, a fresh
    shmem key; with ``relocate_paths`` its paths moved to ``root``."""
    with open(os.path.join(FIXTURE, "config.xml")) as f:
        text = f.read()
    host = host or paths.short_hostname()
    if relocate_paths:
        text = text.replace(OLD_ROOT, root).replace("/log_vm<", "/log_%s<" % host)
    values = dict(db_name=db_name, db_user=account["user"], db_passwd=account["passwd"],
                  db_host=account["host"], host=host,
                  shmem_key="0x%08x" % (0x11110000 | secrets.randbelow(1 << 16)))
    for tag, value in values.items():
        text, n = re.subn(r"<%s>[^<]*</%s>" % (tag, tag), "<%s>%s</%s>" % (tag, value, tag),
                          text)
        assert n == 1, tag
    return text


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def lay_out(root, db_name, account, relocate_paths=True):
    """The project directory at ``root`` as make_project made it and the
    operator left it (after bin/stop).  Returns ``root``."""
    host = paths.short_hostname()
    os.makedirs(root)
    for d in DIRS:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for d in GROUP_WRITABLE:
        os.chmod(os.path.join(root, d), 0o2770)
    for kind in ("log", "pid", "tmp"):
        os.makedirs(paths.host_dir(root, kind, host))
    os.chmod(paths.host_dir(root, "log", host), 0o2770)

    def path(*parts):
        return os.path.join(root, *parts)

    for name in BOINC_BINARIES:
        stand_in(path("bin", name), name)
    for name, interpreter in BOINC_SCRIPTS.items():
        stand_in(path("bin", name), name, interpreter)
    for name in ("stop", "status"):             # force_symlink: absolute targets
        os.symlink(path("bin", "start"), path("bin", name))
    with open(path("bin", "boinc_path_config.py"), "w") as f:
        f.write("\n# Generated by make_project\nimport sys, os\n"
                "sys.path.insert(0, os.path.join('%s', 'py'))\n" % root)
    with open(path("bin", "worker_assimilate.sh"), "w") as f:
        f.write(ASSIMILATE_SH)
    os.chmod(path("bin", "worker_assimilate.sh"), 0o755)
    for name in CGI_BINARIES:
        stand_in(path("cgi-bin", name), name)
    for name in ("__init__.py", "boinc_db.py", "configxml.py"):
        with open(path("py", "Boinc", name), "w") as f:
            f.write("# stand-in for BOINC's py/Boinc/%s\n" % name)

    shutil.copytree(os.path.join(FIXTURE, "keys"), path("keys"))
    for name in os.listdir(path("keys")):
        os.chmod(path("keys", name), 0o600 if name.endswith("_private") else 0o644)
    os.chmod(path("keys"), 0o755)
    for name in os.listdir(os.path.join(FIXTURE, "templates")):
        shutil.copy(os.path.join(FIXTURE, "templates", name), path("templates", name))
        os.chmod(path("templates", name), 0o644)
    shutil.copy(os.path.join(FIXTURE, "project.xml"), path("project.xml"))
    os.chmod(path("project.xml"), 0o644)
    with open(path("config.xml"), "w") as f:
        f.write(config_text(root, db_name, account, relocate_paths, host))

    with open(path("html", "user", "schedulers.txt"), "w") as f:
        f.write(schedulers_txt())
    render_master_page(root)
    for rel, text in (("html/project/project.inc", "<?php // the project's own settings\n"),
                      ("html/inc/util.inc", "<?php // BOINC's PHP library\n"),
                      ("html/ops/index.php", "<?php // BOINC's operators' pages\n"),
                      ("html/user/get_project_config.php", "<?php // BOINC's RPC\n"),
                      ("html/ops/.htaccess", '\nAuthName "%s"\nAuthType Basic\n'
                       "AuthUserFile %s/html/ops/.htpasswd\nrequire valid-user\n"
                       % (NAME, root))):
        with open(path(rel), "w") as f:
            f.write(text)
    with open(path("%s.httpd.conf" % NAME), "w") as f:
        f.write(httpd_conf(root))
    for name, text in (("db_dump_spec.xml", "<boinc>\n</boinc>\n"),
                       ("gui_urls.xml", "<gui_urls>\n</gui_urls>\n")):
        with open(path(name), "w") as f:
            f.write(text)

    # What the jobs run by BOINC left, and bin/stop after them.
    with open(path(os.path.basename(paths.host_dir(root, "log", host)), "feeder.log"), "w") as f:
        f.write("2026-11-24 22:05:01.0000 [normal   ] Starting\n")
    pid = dead_pid()
    for daemon in ("feeder", "transitioner", "file_deleter", "sample_trivial_validator",
                   "script_assimilator"):
        with open(os.path.join(paths.host_dir(root, "pid", host), daemon + ".pid"), "w") as f:
            f.write("%d\n" % pid)
        open(os.path.join(paths.host_dir(root, "pid", host), daemon + ".lock"), "w").close()
    with open(path("run_state_%s.xml" % host), "w") as f:
        f.write('<?xml version="1.0" ?>\n<boinc>\n    <tasks/>\n    <enabled>0</enabled>\n'
                '</boinc>\n')
    for name in ("stop_daemons", "stop_sched"):
        with open(path(name), "w") as f:
            f.write("<stop/>\n")
    return root


def load_database(admin_db, db_name):
    """Create ``db_name`` and load the fixture's dump into it with the mariadb client."""
    admin_db.execute("CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                     % db_name)
    argv = ["mariadb", "--user=%s" % admin_db.user, db_name]
    if admin_db.host not in ("", "localhost"):
        argv.insert(1, "--host=%s" % admin_db.host)
    env = dict(os.environ, MYSQL_PWD=admin_db.passwd or "")
    with open(os.path.join(FIXTURE, "refproj.sql"), "rb") as f:
        proc = subprocess.run(argv, stdin=f, capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
