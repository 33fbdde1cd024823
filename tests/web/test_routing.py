"""Where the web RPC programs live and how Apache runs them: make_project,
install (never over a project's own PHP), the Apache configuration."""

import os
import sys
import urllib.request

from sched import apache, install
from sched.web import RPCS

PHP_PAGE = "<?php\n// BOINC's own page\necho 'php';\n?>\n"


def test_make_project_installs_the_programs(project):
    user_dir = os.path.join(project.dir, "html", "user")
    for name in RPCS:
        path = os.path.join(user_dir, name)
        with open(path) as f:
            assert f.readline() == "#!%s -S\n" % sys.executable, name
        assert os.access(path, os.X_OK) and install.is_our_web_program(path)
    assert os.path.isfile(os.path.join(user_dir, "index.html"))


def test_install_never_replaces_a_project_s_own_pages(project, tmp_path):
    user_dir = os.path.join(project.dir, "html", "user")
    php = os.path.join(user_dir, "create_account.php")
    with open(php, "w") as f:
        f.write(PHP_PAGE)
    os.unlink(os.path.join(user_dir, "show_user.php"))
    ours = os.path.join(user_dir, "lookup_account.php")
    with open(ours, "a") as f:
        f.write("# an older copy\n")
    installed = install.install_programs(project.dir)          # as bin/upgrade
    with open(php) as f:
        assert f.read() == PHP_PAGE
    assert not os.path.exists(os.path.join(user_dir, "show_user.php"))
    with open(ours) as f:
        assert "an older copy" not in f.read()
    assert "html/user/lookup_account.php" in installed
    assert "html/user/create_account.php" not in installed
    # Asked for (a new project): missing ones are added, PHP still kept.
    install.install_programs(project.dir, web_rpcs=True)
    assert install.is_our_web_program(os.path.join(user_dir, "show_user.php"))
    with open(php) as f:
        assert f.read() == PHP_PAGE


def test_apache_conf():
    names = sorted(n[:-4] for n in RPCS)
    for mode, handler in (("cgi", "cgi-script"), ("fcgi", "fcgid-script")):
        conf = apache.project_conf("/p/proj", "proj", "http://h/", mode)
        section = conf[conf.index('<Directory "/p/proj/html/user">'):]
        section = section[:section.index("</Directory>")]
        assert '<FilesMatch "^(%s)\\.php$">' % "|".join(names) in section
        assert "Options +ExecCGI" in section and "SetHandler %s" % handler in section
    conf = apache.project_conf("/p/proj", "proj", "http://h/", "fcgi", web_rpcs=False)
    assert "/p/proj/html/user\">" not in conf


def test_without_web_rpcs_the_names_are_the_project_s_files(project, web_tmp):
    with open(os.path.join(project.dir, "html", "user", "get_project_config.php"), "w") as f:
        f.write(PHP_PAGE)
    conf = os.path.join(web_tmp, "php_site.conf")
    with open(conf, "w") as f:
        f.write(apache.project_conf(project.dir, project.name, project.url_base, "cgi",
                                    web_rpcs=False))
    with apache.PrivateApache(os.path.join(web_tmp, "apache"), project.port, [conf]):
        with urllib.request.urlopen(project.url("test/get_project_config.php"), timeout=60) as r:
            assert r.read().decode() == PHP_PAGE        # served as the file it is
