"""sched.web.app: dispatch by program name, arguments, failures as BOINC's XML errors."""

import os
import socket
import subprocess
import sys

from webrpc import error_of, parse, web_project  # noqa: F401 (fixture)
from sched.web import app as webapp
from sched.web import reply


def test_unknown_program_name(web_project):
    p = web_project()
    status, headers, body = p.call("nosuch.php")
    assert status == "404 Not Found" and b"nosuch.php" in body


def test_unreadable_config_is_an_xml_error(web_project):
    p = web_project()
    with open(p.path("config.xml"), "w") as f:
        f.write("<boinc><config>")
    assert error_of(p.rpc("lookup_account.php", email_addr="a@b.org")) == (
        -1, "Can't parse project config file.")


def test_database_failures(web_project):
    p = web_project()
    p.set_config(db_passwd="wrong")
    assert error_of(p.rpc("lookup_account.php", email_addr="a@b.org")) == (
        -138, "Can't connect to database")
    p.set_config(db_passwd=p.made.config.db_passwd)
    assert error_of(p.rpc("lookup_account.php", email_addr="a@b.org"))[0] == -136
    # A statement that fails mid-request: -138, and the next call reconnects.
    p.db.execute("ALTER TABLE user RENAME TO user_gone")
    assert error_of(p.rpc("lookup_account.php", email_addr="a@b.org")) == (
        -138, "Can't access database")
    p.db.execute("ALTER TABLE user_gone RENAME TO user")
    assert error_of(p.rpc("lookup_account.php", email_addr="a@b.org"))[0] == -136


def test_project_dir_from_the_program_path(monkeypatch):
    monkeypatch.delenv("BOINC_PROJECT_DIR", raising=False)
    env = {"SCRIPT_FILENAME": "/srv/proj/html/user/show_user.php",
           "SCRIPT_NAME": "/proj/show_user.php"}
    assert webapp.project_dir_of(env) == "/srv/proj"
    assert webapp.rpc_name(env) == "show_user.php"
    monkeypatch.setenv("BOINC_PROJECT_DIR", "/elsewhere")
    assert webapp.project_dir_of(env) == "/elsewhere"


def test_arguments_as_php_reads_them():
    req = webapp.Request({"QUERY_STRING": "a=x+y%26&n=12&n=7&f=1.9&e=&bad=1x"}, "/p")
    assert req.get_str("a") == "x y&"
    assert req.get_int("n") == 7                    # the last one wins
    assert req.get_int("f") == 1
    assert req.get_str("e") == "" and req.get_int("e", True) is None
    assert req.get_str("missing", True) is None and req.get_int("missing", True) is None
    for call in (lambda: req.get_str("missing"), lambda: req.get_int("bad", True),
                 lambda: req.get_int("e")):
        try:
            call()
        except reply.RpcError as exc:
            assert exc.num == -1 and exc.msg.startswith("missing or bad parameter: ")
        else:
            raise AssertionError("no error")


def test_reply_formatting():
    assert reply.num(0.0) == "0" and reply.num(12.5) == "12.5" and reply.num(3e20) == "3e20"
    assert reply.num(7) == "7"
    assert reply.esc("a<b & 'c' \"d\"") == "a&lt;b &amp; &#039;c&#039; &quot;d&quot;"
    assert reply.esc(None) == "" and reply.esc(b"\xc3\xa4") == "ä"
    assert reply.urlencode("a b&c~d/é") == "a+b%26c%7Ed%2F%C3%A9"
    root = parse((reply.XML_HEADER + reply.error_xml(-137)).encode())
    assert error_of(root) == (-137, "Name or email address is not unique")
    assert error_of(parse((reply.XML_HEADER + reply.error_xml(-999)).encode())) == (
        -999, "Unknown error")


def test_fastcgi_is_told_from_cgi(tmp_path):
    # Under pytest (no CGI variables, stdin not a listening socket): CGI.
    from sched import wsgi
    assert not wsgi.under_fastcgi()
    # A child whose fd 0 is a listening socket and without CGI variables:
    # what mod_fcgid starts.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(webapp.__file__))))
    code = ("import sys; sys.path.insert(0, %r); from sched.web import app; "
            "from sched import wsgi; print(wsgi.under_fastcgi())" % root)
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_INTERFACE"}
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "sock"))
        listener.listen(1)
        out = subprocess.run([sys.executable, "-c", code], stdin=listener.fileno(), env=env,
                             stdout=subprocess.PIPE, universal_newlines=True, check=True)
        assert out.stdout.strip() == "True"
        env["GATEWAY_INTERFACE"] = "CGI/1.1"
        out = subprocess.run([sys.executable, "-c", code], stdin=listener.fileno(), env=env,
                             stdout=subprocess.PIPE, universal_newlines=True, check=True)
        assert out.stdout.strip() == "False"


def test_a_bug_is_a_generic_error_and_a_logged_traceback(web_project, monkeypatch, capsys):
    p = web_project()
    from sched.web import am

    def broken(req):
        raise KeyError("oops")
    monkeypatch.setattr(am, "am_get_info", broken)
    assert error_of(p.rpc("am_get_info.php", account_key="x")) == (-1, "Server error")
    err = capsys.readouterr().err
    assert "/test/am_get_info.php: unexpected error:" in err and "KeyError: 'oops'" in err
