"""sched.fastcgi: flup's FastCGI server with batched socket I/O, spoken to over
a real Unix socket the way mod_fcgid speaks to it (and the ways it may)."""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import time

import pytest

from testenv import ROOT

APP = """
import hashlib, json, sys
sys.path.insert(0, %(root)r)
from sched.fastcgi import WSGIServer

def app(environ, start_response):
    body = environ["wsgi.input"].read()
    size = int(environ.get("HTTP_X_REPLY_BYTES") or 0)
    if environ.get("HTTP_X_STREAM"):            # a download: chunks as they come
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return stream(environ["HTTP_X_STREAM"])
    reply = json.dumps({"md5": hashlib.md5(body).hexdigest(), "n": len(body),
                        "long": environ.get("HTTP_X_LONG", ""),
                        "method": environ["REQUEST_METHOD"]}).encode() + b"\\n" + b"z" * size
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(reply)))])
    return [reply]

def stream(flag):
    import os, time
    for i in range(10):
        yield b"x" * 100000
    deadline = time.time() + 20             # the client has had the first MB meanwhile?
    while not os.path.exists(flag) and time.time() < deadline:
        time.sleep(0.05)
    yield b"seen" if os.path.exists(flag) else b"never"

WSGIServer(app, bindAddress=%(sock)r).run()
"""

# As mod_fcgid starts a program: the listening socket is its fd 0.
APP_FD0 = APP.replace("bindAddress=%(sock)r", "")

HEADER = struct.Struct("!BBHHBx")


def record(kind, content, request_id=1):
    pad = -len(content) & 7
    return HEADER.pack(1, kind, request_id, len(content), pad) + content + b"\0" * pad


def pair(name, value):
    size = lambda n: bytes([n]) if n < 128 else struct.pack("!L", n | 0x80000000)
    return size(len(name)) + size(len(value)) + name + value


def request(params, body, keep=False, request_id=1, chunk=65535):
    out = [record(1, struct.pack("!HB5x", 1, 1 if keep else 0), request_id)]
    # one FCGI_PARAMS record (flup, like mod_fcgid, never splits a pair), then the end
    out.append(record(4, b"".join(pair(k.encode(), v.encode()) for k, v in params.items()),
                      request_id))
    out.append(record(4, b"", request_id))
    for i in range(0, len(body), chunk):
        out.append(record(5, body[i:i + chunk], request_id))
    out.append(record(5, b"", request_id))
    return b"".join(out)


def read_records(sock, until_end=True):
    """(stdout bytes, end_request seen) from the records on ``sock``."""
    data, out = b"", b""
    while True:
        while len(data) >= 8:
            _, kind, _, length, pad = HEADER.unpack_from(data)
            if len(data) < 8 + length + pad:
                break
            content, data = data[8:8 + length], data[8 + length + pad:]
            if kind == 6:
                out += content
            elif kind == 3:                 # FCGI_END_REQUEST
                return out, content
            elif kind == 10:                # FCGI_GET_VALUES_RESULT
                return content, None
        more = sock.recv(65536)
        if not more:
            return out, None
        data += more


@pytest.fixture
def server(tmp_path):
    path = str(tmp_path / "fcgi.sock")
    script = tmp_path / "app.py"
    script.write_text(APP % {"root": ROOT, "sock": path})
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not os.path.exists(path):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()
        time.sleep(0.05)

    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return s
    yield connect
    proc.terminate()
    proc.wait(10)


PARAMS = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/x", "SERVER_NAME": "127.0.0.1",
          "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1"}


@pytest.fixture
def fcgid_server(tmp_path):
    """The server with a listening Unix socket as fd 0; connect() as server's."""
    path = str(tmp_path / "fd0.sock")
    script = tmp_path / "app.py"
    script.write_text(APP_FD0 % {"root": ROOT})
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    proc = subprocess.Popen([sys.executable, str(script)], stdin=listener.fileno(),
                            stderr=subprocess.PIPE)
    listener.close()

    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.settimeout(10)
        return s
    yield connect
    proc.kill()
    proc.wait(10)


def test_on_mod_fcgids_socket_a_reply_does_not_wait_for_the_peer_to_close(fcgid_server):
    """flup half-closes and then waits for the web server to close its end;
    on a Unix socket ours closes at once (flup calls fd 0 AF_INET: we ask the
    kernel).  So a peer that keeps its end open doesn't hold up the next request."""
    held = []
    for i in range(2):
        s = fcgid_server()
        s.sendall(request(dict(PARAMS, CONTENT_LENGTH="3"), b"abc"))
        out, end = read_records(s)
        assert b'"n": 3' in out and end is not None
        assert s.recv(1) == b""                 # closed from the server's side
        held.append(s)                          # ... and not closed from ours
    for s in held:
        s.close()


def test_large_request_and_reply_across_many_records(server):
    body = os.urandom(300000)
    params = dict(PARAMS, CONTENT_LENGTH=str(len(body)), HTTP_X_LONG="v" * 5000,
                  HTTP_X_REPLY_BYTES="200000")
    s = server()
    s.sendall(request(params, body, chunk=1000))
    out, end = read_records(s)
    s.close()
    head, _, reply = out.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200 OK\r\n")
    first, _, rest = reply.partition(b"\n")
    assert first.decode().count(hashlib.md5(body).hexdigest()) == 1
    assert ('"long": "%s"' % ("v" * 5000)).encode() in first
    assert rest == b"z" * 200000
    assert end == struct.pack("!IB3x", 0, 0)            # app status 0, request complete


def test_request_after_request_and_on_a_kept_connection(server):
    for i in range(3):                                   # mod_fcgid: a connection each
        s = server()
        s.sendall(request(dict(PARAMS, CONTENT_LENGTH="3"), b"abc"))
        out, end = read_records(s)
        s.close()
        assert b'"n": 3' in out and end is not None
    s = server()                                         # FCGI_KEEP_CONN: two on one
    for request_id in (1, 2):
        s.sendall(request(dict(PARAMS, CONTENT_LENGTH="1"), b"x", keep=True,
                          request_id=request_id))
        out, end = read_records(s)
        assert b'"n": 1' in out and end is not None
    s.close()


def test_management_record_is_answered(server):
    s = server()
    s.sendall(record(9, pair(b"FCGI_MPXS_CONNS", b""), 0))     # FCGI_GET_VALUES
    content, _ = read_records(s)
    s.close()
    assert content == pair(b"FCGI_MPXS_CONNS", b"0")


def test_a_long_reply_is_sent_as_it_comes(server, tmp_path):
    flag = tmp_path / "received"
    s = server()
    s.sendall(request(dict(PARAMS, CONTENT_LENGTH="0", HTTP_X_STREAM=str(flag)), b""))
    data = s.recv(65536)            # before the app has made its last chunk
    flag.write_text("")
    while True:
        more = s.recv(65536)
        if not more:
            break
        data += more
    s.close()
    body = b""
    while len(data) >= 8:
        _, kind, _, length, pad = HEADER.unpack_from(data)
        if kind == 6:
            body += data[8:8 + length]
        data = data[8 + length + pad:]
    assert body.endswith(b"x" * 100000 + b"seen")
