"""The file upload handler, driven in-process with BOINC's request format."""

import hashlib
import io
import os

import pytest

from sched import crypt, upload
from sched.paths import dir_hier_path


def header(name, nbytes, offset=0, max_nbytes=None, signature="", md5=None, data=b""):
    max_nbytes = nbytes if max_nbytes is None else max_nbytes
    md5 = md5 or hashlib.md5(data).hexdigest()
    head = ("<data_server_request>\n"
            "    <core_client_major_version>7</core_client_major_version>\n"
            "    <core_client_minor_version>20</core_client_minor_version>\n"
            "    <core_client_release>5</core_client_release>\n"
            "<file_upload>\n<file_info>\n<name>%s</name>\n<xml_signature>\n%s</xml_signature>\n"
            "<max_nbytes>%d</max_nbytes>\n</file_info>\n<nbytes>%d</nbytes>\n"
            "<md5_cksum>%s</md5_cksum>\n<offset>%d</offset>\n<data>\n"
            % (name, signature, max_nbytes, nbytes, md5, offset))
    return head.encode() + data[offset:]


def post(project_dir, body, monkeypatch):
    monkeypatch.setenv("BOINC_PROJECT_DIR", project_dir)
    upload._state.config = None
    status = []
    out = upload.application({"wsgi.input": io.BytesIO(body), "REMOTE_ADDR": "127.0.0.1",
                              "CONTENT_LENGTH": str(len(body)), "REQUEST_METHOD": "POST"},
                             lambda s, h: status.append((s, h)))
    assert status[0][0] == "200 OK"
    return b"".join(out).decode()


@pytest.fixture
def proj(make_project):
    p = make_project(db=False)
    return p


def stored(proj, name):
    return dir_hier_path(name, proj.config.upload_dir, proj.config.uldl_dir_fanout)


def log_text(proj):
    with open(os.path.join(proj.config.dir("log"), "file_upload_handler.log")) as f:
        return f.read()


def test_upload_and_resume(proj, monkeypatch):
    data = os.urandom(20000)
    # first part only: the client stopped after 5000 bytes
    body = header("job_0_r1_0", len(data), data=data)[:-(len(data) - 5000)]
    reply = post(proj.dir, body, monkeypatch)
    assert "<status>1</status>" in reply and "EOF on socket read" in reply
    # size query, then resume from there
    q = (b"<data_server_request>\n<core_client_major_version>7</core_client_major_version>\n"
         b"<get_file_size>job_0_r1_0</get_file_size>\n</data_server_request>\n")
    reply = post(proj.dir, q, monkeypatch)
    assert "<status>0</status>" in reply and "<file_size>5000</file_size>" in reply
    reply = post(proj.dir, header("job_0_r1_0", len(data), offset=5000, data=data), monkeypatch)
    assert reply == "<data_server_reply>\n    <status>0</status>\n</data_server_reply>\n"
    with open(stored(proj, "job_0_r1_0"), "rb") as f:
        assert f.read() == data
    assert "Starting upload of job_0_r1_0 from 127.0.0.1 [offset=5000, nbytes=20000]" \
        in log_text(proj)


def test_unknown_file_size_is_zero(proj, monkeypatch):
    q = b"<data_server_request>\n<get_file_size>nothing_here</get_file_size>\n"
    assert "<file_size>0</file_size>" in post(proj.dir, q, monkeypatch)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/b", "x\x01y", "..x"])
def test_path_traversal_refused(proj, monkeypatch, name):
    reply = post(proj.dir, header(name, 3, data=b"abc"), monkeypatch)
    assert "<status>-1</status>" in reply and "invalid filename" in reply
    q = ("<data_server_request>\n<get_file_size>%s</get_file_size>\n" % name).encode()
    assert "<status>-1</status>" in post(proj.dir, q, monkeypatch)


def test_over_max_nbytes_refused_and_nothing_written(proj, monkeypatch):
    reply = post(proj.dir, header("big_0", 2048, max_nbytes=1024, data=b"x" * 2048), monkeypatch)
    assert "<status>-1</status>" in reply and "exceeds limit (1 KB)" in reply
    assert not os.path.exists(stored(proj, "big_0"))


def test_wrong_offset_keeps_what_is_stored(proj, monkeypatch):
    data = b"hello world"
    post(proj.dir, header("w_0", len(data), data=data), monkeypatch)
    body = header("w_0", 100, offset=50, data=b"z" * 100)
    reply = post(proj.dir, body, monkeypatch)
    assert "<status>1</status>" in reply and "< offset 50 bytes" in reply
    with open(stored(proj, "w_0"), "rb") as f:
        assert f.read() == data


def test_reupload_of_complete_file_does_not_rewrite(proj, monkeypatch):
    data = b"final output"
    post(proj.dir, header("c_0", len(data), data=data), monkeypatch)
    path = stored(proj, "c_0")
    before = os.stat(path).st_mtime_ns
    reply = post(proj.dir, header("c_0", len(data), data=data), monkeypatch)
    assert "<status>0</status>" in reply
    assert os.stat(path).st_mtime_ns == before


@pytest.mark.parametrize("body,status,message", [
    (b"<data_server_request>\n</data_server_request>\n", 1, "no command"),
    (b"<data_server_request>\n<file_upload>\n<nbytes>1</nbytes>\n<data>\nx", -1, "Missing name"),
    (b"<data_server_request>\n<file_upload>\n<name>a</name>\n<nbytes>1</nbytes>\n", -1,
     "Missing <data> tag"),
    (b"<data_server_request>\n<file_upload>\n<name>a</name>\n<data>\n", -1,
     "nbytes missing or negative"),
    (b"garbage\x00\xff" * 10, 1, "no command"),
])
def test_malformed_requests(proj, monkeypatch, body, status, message):
    reply = post(proj.dir, body, monkeypatch)
    assert "<status>%d</status>" % status in reply and message in reply


def test_stop_upload(proj, monkeypatch):
    open(os.path.join(proj.dir, "stop_upload"), "w").close()
    reply = post(proj.dir, header("s_0", 1, data=b"x"), monkeypatch)
    assert "<status>1</status>" in reply and "temporarily disabled" in reply


def test_signatures_checked_when_certificates_are_on(proj, monkeypatch):
    cfg_path = os.path.join(proj.dir, "config.xml")
    text = open(cfg_path).read()
    text = text.replace("<ignore_upload_certificates>1</ignore_upload_certificates>",
                        "<ignore_upload_certificates>0</ignore_upload_certificates>")
    assert "<ignore_upload_certificates>0" in text
    open(cfg_path, "w").write(text)
    key = crypt.read_private_key(os.path.join(proj.dir, "keys", "upload_private"))
    good = crypt.sign_string("<name>sig_0</name><max_nbytes>10</max_nbytes>", key)
    # missing, forged (signed for another limit), then good
    reply = post(proj.dir, header("sig_0", 3, max_nbytes=10, data=b"abc"), monkeypatch)
    assert "<status>-1</status>" in reply and "missing signature" in reply
    forged = crypt.sign_string("<name>sig_0</name><max_nbytes>99999</max_nbytes>", key)
    reply = post(proj.dir, header("sig_0", 3, max_nbytes=10, signature=forged, data=b"abc"),
                 monkeypatch)
    assert "<status>-1</status>" in reply and "invalid signature" in reply
    assert not os.path.exists(stored(proj, "sig_0"))
    reply = post(proj.dir, header("sig_0", 3, max_nbytes=10, signature=good, data=b"abc"),
                 monkeypatch)
    assert "<status>0</status>" in reply
    assert open(stored(proj, "sig_0"), "rb").read() == b"abc"


@pytest.mark.parametrize("program", ["file_upload_handler", "fcgi_file_upload_handler"])
def test_programs_answer_as_plain_cgi(proj, program):
    """Run as a CGI program (no mod_fcgid), the FastCGI program falls back to CGI."""
    import subprocess
    body = b"<data_server_request>\n<get_file_size>nothing_here</get_file_size>\n"
    env = dict(os.environ, REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)),
               REMOTE_ADDR="127.0.0.1", SERVER_NAME="127.0.0.1", SERVER_PORT="80",
               SERVER_PROTOCOL="HTTP/1.1", BOINC_PROJECT_DIR=proj.dir)
    out = subprocess.run([os.path.join(proj.dir, "cgi-bin", program)], input=body, env=env,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert b"Content-Type: text/plain" in out.stdout
    assert b"<file_size>0</file_size>" in out.stdout
