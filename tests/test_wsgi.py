"""sched.wsgi.serve_cgi: one request as a CGI program, as mod_cgid runs it."""

import os
import subprocess
import sys

from testenv import ROOT

PROGRAM = """
import os, sys
sys.path.insert(0, %r)
from sched import wsgi

def app(environ, start_response):
    if environ.get("QUERY_STRING") == "boom":
        raise RuntimeError("boom")
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    text = "%%s %%s %%s " %% (environ["REQUEST_METHOD"], environ["wsgi.url_scheme"],
                           body.decode())
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
    # PEP 3333: a request header's bytes as a latin-1 str
    return [text.encode(), environ.get("HTTP_X_NAME", "-").encode("latin-1"), b"!"]

def finish():
    with open(os.environ["FINISHED"], "w") as f:
        f.write("closed")

wsgi.serve_cgi(app, finish if os.environ.get("FINISHED") else None)
print("not reached with finish", file=sys.stderr)
"""


def run(tmp_path, body=b"", **env):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM % ROOT)
    environ = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "POST", "GATEWAY_INTERFACE": "CGI/1.1",
               "CONTENT_LENGTH": str(len(body))}
    environ.update(env)
    return subprocess.run([sys.executable, str(script)], input=body, env=environ,
                          capture_output=True)


def test_reply_as_mod_cgid_expects_it(tmp_path):
    out = run(tmp_path, b"hello", HTTP_X_NAME=b"caf\xc3\xa9 \xff", HTTPS="on")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (b"Status: 201 Created\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\n"
                          b"POST https hello caf\xc3\xa9 \xff!")


def test_application_error_is_a_500_and_a_traceback(tmp_path):
    out = run(tmp_path, QUERY_STRING="boom")
    assert out.stdout.startswith(b"Status: 500 Internal Server Error\r\n")
    assert b"RuntimeError: boom" in out.stderr


def test_with_finish_the_process_ends_after_it(tmp_path):
    flag = tmp_path / "finished"
    out = run(tmp_path, b"x", FINISHED=str(flag))
    assert out.returncode == 0 and out.stdout.endswith(b"POST http x -!")
    assert flag.read_text() == "closed" and b"not reached" not in out.stderr
    out = run(tmp_path, b"x")
    assert b"not reached" in out.stderr
