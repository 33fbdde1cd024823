"""sched.apache: the generated configuration, under a real private Apache.

Started as root, Apache runs its children as www-data: the projects live in
a 0755 directory under /tmp (the ``web_tmp`` fixture) and, as root, the
project's upload/log dirs are given to www-data's group (``make_project``
fixture), so the programs Apache runs can reach everything they need.
"""

import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from sched import apache, paths
from sched.errors import BoincError

# Test-only programs, put into the temp project's cgi-bin by the tests below
# (the real cgi, fcgi, file_upload_handler come from another part of the
# server).  Each reports where and how it runs.
TEST_CGI = """#!{python}
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sched
body = sys.stdin.read(int(os.environ.get("CONTENT_LENGTH") or 0))
sys.stdout.write("Content-Type: application/json\\n\\n")
sys.stdout.write(json.dumps(dict(cwd=os.getcwd(), prefix=sys.prefix, sched=sched.__file__,
                                 uid=os.getuid(), pid=os.getpid(), nbytes=len(body))))
"""

TEST_FCGI = """#!{python}
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sched
from flup.server.fcgi import WSGIServer

def app(environ, start_response):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n) if n else b""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(dict(cwd=os.getcwd(), prefix=sys.prefix, sched=sched.__file__,
                            uid=os.getuid(), pid=os.getpid(), nbytes=len(body),
                            run_once=environ["wsgi.run_once"])).encode()]

WSGIServer(app).run()
"""


def fetch(url, data=None, auth=None):
    """(status, body) of a GET, or a POST of ``data``."""
    req = urllib.request.Request(url, data=data)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def put_program(project, name, text):
    path = os.path.join(project.dir, "cgi-bin", name)
    with open(path, "w") as f:
        f.write(text.format(python=sys.executable))
    os.chmod(path, 0o755)


# ------------------------------------------------------------ the text

def test_project_conf_cgi():
    conf = apache.project_conf("/p/proj", "proj", "http://h:8/", "cgi")
    lines = conf.splitlines()
    aliases = [l for l in lines if l.startswith(("Alias", "ScriptAlias"))]
    assert aliases == ['Alias /proj/download "/p/proj/download"',
                       'Alias /proj/stats "/p/proj/html/stats"',
                       'Alias /proj/user_profile "/p/proj/html/user_profile"',
                       'Alias /proj "/p/proj/html/user"',
                       'AliasMatch "^/proj_ops(/[a-z0-9_]*)?$" "/p/proj/html/ops/index.py"',
                       'Alias /proj_ops "/p/proj/html/ops"',
                       'ScriptAlias /proj_cgi "/p/proj/cgi-bin"']
    assert 'AuthUserFile "/p/proj/html/ops/.htpasswd"' in conf
    assert "fcgid" not in conf


def test_project_conf_fcgi_and_url_path():
    conf = apache.project_conf("/p/proj", "proj", "https://h/boinc/", "fcgi")
    assert 'ScriptAlias /boinc/proj_cgi "/p/proj/cgi-bin"' in conf
    assert 'Alias /boinc/proj "/p/proj/html/user"' in conf
    for prog in ("fcgi", "fcgi_file_upload_handler"):
        assert '<Files "%s">\n        SetHandler fcgid-script' % prog in conf
    assert "FcgidMaxRequestLen" in conf
    with pytest.raises(BoincError):
        apache.project_conf("/p", "p", "http://h/", "php")


def test_standalone_conf(tmp_path):
    conf = apache.standalone_conf(str(tmp_path), 8123, ["/x/a.conf"])
    assert "Listen 127.0.0.1:8123" in conf
    assert 'PidFile "%s/httpd.pid"' % tmp_path in conf
    assert conf.rstrip().endswith('Include "/x/a.conf"')
    modules = re.findall(r"LoadModule (\w+) (\S+)", conf)
    assert {"mpm_event_module", "cgid_module", "fcgid_module", "auth_basic_module",
            "authn_file_module", "alias_module"} <= {m for m, _ in modules}
    # Each module is a file of Debian's package, or built into its apache2.
    builtin = subprocess.run([apache.APACHE_BIN, "-l"], stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
    for _, path in modules:
        assert os.path.exists(path) or os.path.basename(path)[:-3] + ".c" in builtin, path
    assert "mod_cgi.so" in apache.standalone_conf(str(tmp_path), 1, [], mpm="prefork")


@pytest.mark.parametrize("mode", ["cgi", "fcgi"])
def test_apache_accepts_the_configuration(project, web_tmp, mode):
    inc = os.path.join(web_tmp, "inc.conf")
    with open(inc, "w") as f:
        f.write(apache.project_conf(project.dir, project.name, project.url_base, mode))
    conf = os.path.join(web_tmp, "httpd.conf")
    with open(conf, "w") as f:
        f.write(apache.standalone_conf(web_tmp, project.port, [inc]))
    apache.check_conf(conf)
    with open(inc, "a") as f:
        f.write("NoSuchDirective on\n")
    with pytest.raises(BoincError, match="NoSuchDirective"):
        apache.check_conf(conf)


# ------------------------------------------------------------ a real server

@pytest.mark.parametrize("mode", ["cgi", "fcgi"])
def test_private_apache_serves_the_project(project, private_apache, mode):
    put_program(project, "testcgi", TEST_CGI)
    put_program(project, "fcgi", TEST_FCGI)      # our stand-in for the FastCGI scheduler
    staged = paths.dir_hier_path("input.txt", project.config.download_dir, 1024, create=True)
    with open(staged, "w") as f:
        f.write("job input\n")
    web = private_apache(project, mode)

    # The master page, with the scheduler link the client looks for.
    status, body = fetch(project.url("test/"))
    assert status == 200
    want = project.url("test_cgi/cgi")
    assert '<link rel="boinc_scheduler" href="%s">' % want in body.decode()
    assert "<scheduler>%s</scheduler>" % want in body.decode()
    assert fetch(project.url("test/schedulers.txt"))[0] == 200

    # A file in the download hierarchy, at the URL clients are given.
    url = paths.dir_hier_url("input.txt", project.config.download_url, 1024)
    assert fetch(url) == (200, b"job input\n")
    assert fetch(project.url("test/download/nosuchfile"))[0] == 404

    # A CGI program of PROJECT/cgi-bin, run by our interpreter in cgi-bin
    # with the project's own copy of the library.
    status, body = fetch(project.url("test_cgi/testcgi"), data=b"x" * 1000)
    assert status == 200, body
    info = json.loads(body)
    assert info["cwd"] == os.path.join(project.dir, "cgi-bin")
    assert info["prefix"] == sys.prefix
    assert info["sched"] == os.path.join(project.dir, "sched", "__init__.py")
    assert info["nbytes"] == 1000

    if mode == "fcgi":
        # The flup WSGI program runs as a lasting FastCGI process under
        # mod_fcgid (flup says wsgi.run_once false; the same process answers
        # again), and takes request bodies past mod_fcgid's default 128 kB.
        big = b"y" * (1 << 20)
        status, body = fetch(project.url("test_cgi/fcgi"), data=big)
        assert status == 200, body
        first = json.loads(body)
        assert first["cwd"] == os.path.join(project.dir, "cgi-bin")
        assert first["prefix"] == sys.prefix
        assert first["sched"] == os.path.join(project.dir, "sched", "__init__.py")
        assert first["nbytes"] == len(big)
        assert first["run_once"] is False
        second = json.loads(fetch(project.url("test_cgi/fcgi"))[1])
        assert second["pid"] == first["pid"]

    # The operators' pages: credentials or nothing; password files never served.
    htpasswd = os.path.join(project.dir, "html", "ops", ".htpasswd")
    assert fetch(project.url("test_ops/README"))[0] == 401
    apache.set_htpasswd(htpasswd, "op", "s3cret")
    assert fetch(project.url("test_ops/README"), auth="op:wrong")[0] == 401
    status, body = fetch(project.url("test_ops/README"), auth="op:s3cret")
    assert status == 200 and b"htpasswd" in body
    assert fetch(project.url("test_ops/.htpasswd"), auth="op:s3cret")[0] == 403
    assert fetch(project.url("test/.htpasswd"))[0] in (403, 404)

    assert os.path.exists(web.error_log)


def test_project_conf_written_by_make_project_serves_fcgi(make_project, private_apache):
    p = make_project("f", "--fcgi", db=False)
    put_program(p, "fcgi", TEST_FCGI)
    private_apache(p)        # the project's own f.httpd.conf
    status, body = fetch(p.url("f_cgi/fcgi"))
    assert status == 200 and json.loads(body)["run_once"] is False
    assert b'href="%s"' % p.url("f_cgi/fcgi").encode() in fetch(p.url("f/"))[1]


def test_start_reports_a_server_that_cannot_listen(web_tmp, project):
    # Something else holds the port: Apache exits, and start says why.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        web = apache.PrivateApache(os.path.join(web_tmp, "busy"), port, [])
        with pytest.raises(BoincError, match="not serving|did not start"):
            web.start()
    assert not apache._alive(apache._read_pid(os.path.join(web.run_dir, "httpd.pid")))


def test_stop_is_quiet_when_not_running(web_tmp):
    web = apache.PrivateApache(os.path.join(web_tmp, "idle"), apache.free_port(), [])
    web.stop()
