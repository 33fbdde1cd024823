"""Helpers for the remote submission tests: a project with app 'worker',
submitters, in-process calls, an in-process HTTP server, and a stand-in for
the volunteers (a job's canonical result with its output file)."""

import io
import os
import shutil
import threading
import time
import urllib.parse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from accounts import create_user
from sched import db as dbmod
from sched import states as S
from sched import xmlutil
from sched.paths import dir_hier_path
from sched.submit import app as submit_app
from sched.submit import auth
from sched.web import app as webapp

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared")
REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")
XML_HEADER = b'<?xml version="1.0" encoding="ISO-8859-1" ?>\n'


def parse(body):
    assert body.startswith(XML_HEADER), body[:100]
    return xmlutil.parse_bytes(body)


def error_of(root, op=None):
    """(num, msg) of an error reply: <op><error>..</error></op>, or a bare <error>."""
    if op is not None:
        assert root.tag == op, root.tag
        root = root.find("error")
        assert root is not None, "no <error> in the %s reply" % op
    assert root.tag == "error"
    return int(root.findtext("error_num")), root.findtext("error_msg").strip()


def multipart(fields, files, boundary="b0undary"):
    body = b""
    for k, v in fields.items():
        body += (b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                 % (boundary.encode(), k.encode(), v.encode()))
    for k, fname, data in files:
        body += (b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                 b'Content-Type: application/octet-stream\r\n\r\n' % (
                     boundary.encode(), k.encode(), fname.encode())) + data + b"\r\n"
    body += b"--%s--\r\n" % boundary.encode()
    return body, "multipart/form-data; boundary=%s" % boundary


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class SubmitProject:
    def __init__(self, made):
        self.made = made
        self.dir = made.dir
        self.name = made.name
        self.config = made.config
        self.db = dbmod.connect(made.config)
        self.app_id = self.add_app("worker")
        self.server = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def add_app(self, name):
        app_id = self.db.insert("INSERT INTO app (create_time, name, user_friendly_name) "
                                "VALUES (%s, %s, %s)", (int(time.time()), name, name))
        for t in ("in", "out"):
            shutil.copy(os.path.join(REFPROJ, "templates", "worker_%s" % t),
                        self.path("templates", "%s_%s" % (name, t)))
        return app_id

    def user(self, email, submit="all", apps=()):
        """A user's (id, authenticator); submit: 'all', 'apps' (those in ``apps``) or None."""
        key = create_user(self.db, email, email.split("@")[0])
        uid = self.db.scalar("SELECT id FROM user WHERE authenticator = %s", (key,))
        if submit:
            auth.grant(self.db, uid, apps, submit_all=submit == "all")
        return uid, key

    def set_config(self, **options):
        from lxml import etree
        path = self.path("config.xml")
        root = xmlutil.parse_file(path)
        config = root.find("config")
        for tag, value in options.items():
            for old in config.findall(tag):
                config.remove(old)
            if value is not None:
                etree.SubElement(config, tag).text = str(value)
        old = os.stat(path).st_mtime_ns
        with open(path, "wb") as f:
            f.write(etree.tostring(root))
        os.utime(path, ns=(time.time_ns(), max(time.time_ns(), old + 1_000_000)))

    # -- in-process calls of the WSGI application
    def call(self, prog, body=b"", content_type="application/x-www-form-urlencoded",
             method="POST", **query):
        environ = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "/%s/%s" % (self.name, prog),
            "SCRIPT_FILENAME": self.path("html", "user", prog),
            "QUERY_STRING": urllib.parse.urlencode(query), "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        got = []
        data = b"".join(submit_app.application(environ,
                                               lambda s, h: got.append((s, dict(h)))))
        return got[0][0], got[0][1], data

    def rpc(self, xml, prog="submit_rpc_handler.php"):
        status, headers, body = self.call(prog, urllib.parse.urlencode({"request": xml})
                                          .encode())
        assert status == "200 OK" and headers["Content-Type"] == "text/xml", (status, body)
        return parse(body)

    def upload(self, xml, files):
        body, ctype = multipart({"request": xml}, files)
        status, headers, data = self.call("job_file.php", body, ctype)
        assert status == "200 OK", (status, data)
        return parse(data)

    # -- over HTTP, from an in-process server (single-threaded, as one FastCGI process)
    def serve(self):
        if self.server is None:
            proj = self

            def app(environ, start_response):
                name = environ["PATH_INFO"].rsplit("/", 1)[-1]
                environ["SCRIPT_NAME"] = "/%s/%s" % (proj.name, name)
                environ["SCRIPT_FILENAME"] = proj.path("html", "user", name)
                return submit_app.application(environ, start_response)
            self.server = make_server("127.0.0.1", 0, app, WSGIServer, _Quiet)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return "http://127.0.0.1:%d/%s/" % (self.server.server_port, self.name)

    # -- the volunteers' part, done by hand
    def finish_job(self, wu_id, output=b"", ok=True, exit_status=0, cpu_time=1.5):
        """Give a job a reported result: with ``ok`` its valid canonical result
        and output file ``out``, else a client error (the job fails)."""
        wu = self.db.query_one("SELECT * FROM workunit WHERE id = %s", (wu_id,))
        rname = "%s_0" % wu["name"]
        fname = "%s_r0" % wu["name"]
        xml_in = ("<file_info>\n    <name>%s</name>\n    <generated_locally/>\n"
                  "    <upload_when_present/>\n    <max_nbytes>1000000</max_nbytes>\n"
                  "</file_info>\n<result>\n    <name>%s</name>\n    <file_ref>\n"
                  "        <file_name>%s</file_name>\n        <open_name>out</open_name>\n"
                  "    </file_ref>\n</result>\n" % (fname, rname, fname))
        xml_out = "<file_info>\n<name>%s</name>\n<nbytes>%d</nbytes>\n</file_info>\n" % (
            fname, len(output))
        now = int(time.time())
        rid = self.db.insert(
            "INSERT INTO result (create_time, workunitid, server_state, outcome, client_state,"
            " hostid, userid, report_deadline, sent_time, received_time, name, cpu_time, "
            "xml_doc_in, xml_doc_out, stderr_out, batch, file_delete_state, validate_state, "
            "claimed_credit, granted_credit, opaque, random, app_version_num, appid, "
            "exit_status, teamid, priority, elapsed_time, flops_estimate, app_version_id, "
            "runtime_outlier, size_class, peak_working_set_size, peak_swap_size, "
            "peak_disk_usage) VALUES (%s,%s,%s,%s,%s,1,1,%s,%s,%s,%s,%s,%s,%s,'',%s,0,%s,0,"
            "%s,0,0,1,%s,%s,0,0,2,1e9,1,0,-1,0,0,0)",
            (now, wu_id, S.RESULT_SERVER_STATE_OVER,
             S.RESULT_OUTCOME_SUCCESS if ok else S.RESULT_OUTCOME_CLIENT_ERROR,
             S.RESULT_FILES_UPLOADED if ok else S.RESULT_COMPUTE_ERROR, now + 86400, now - 5,
             now, rname, cpu_time, xml_in, xml_out if ok else "", wu["batch"],
             S.VALIDATE_STATE_VALID if ok else S.VALIDATE_STATE_INIT, 10 if ok else 0,
             wu["appid"], exit_status))
        if ok:
            path = dir_hier_path(fname, self.config.upload_dir, self.config.uldl_dir_fanout,
                                 create=True)
            with open(path, "wb") as f:
                f.write(output)
            self.db.execute("UPDATE workunit SET canonical_resultid = %s, canonical_credit = 10,"
                            " assimilate_state = %s WHERE id = %s",
                            (rid, S.ASSIMILATE_READY, wu_id))
        else:
            self.db.execute("UPDATE workunit SET error_mask = error_mask | %s, "
                            "assimilate_state = %s WHERE id = %s",
                            (S.WU_ERROR_TOO_MANY_ERROR_RESULTS, S.ASSIMILATE_READY, wu_id))
        return rid

    # -- "nothing changed"
    def snapshot(self):
        rows = {t: self.db.query("SELECT * FROM %s ORDER BY 1" % t)
                for t in ("batch", "workunit", "result", "job_file", "user_submit",
                          "user_submit_app", "assignment")}
        files = []
        for top in ("download", "upload", "results", os.path.join("templates", "tmp")):
            for d, _, names in os.walk(self.path(top)):
                files += [(os.path.join(d, n), os.path.getsize(os.path.join(d, n)))
                          for n in names]
        return rows, sorted(files)

    def close(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.db.close()


@pytest.fixture
def submit_project(make_project, monkeypatch):
    """Factory: ``submit_project()`` -> :class:`SubmitProject` (app 'worker', no users)."""
    monkeypatch.delenv("BOINC_PROJECT_DIR", raising=False)
    made = []

    def factory(*args, **kw):
        webapp._close_db()
        webapp._state.config = webapp._state.project_dir = None
        p = SubmitProject(make_project(*args, **kw))
        made.append(p)
        return p

    yield factory
    webapp._close_db()
    webapp._state.config = webapp._state.project_dir = None
    for p in made:
        p.close()


def batch_xml(key, jobs, app="worker", op="submit_batch", extra=""):
    """A submit_batch request as BOINC's Python binding writes one; ``jobs`` are
    lists of inline file contents."""
    xml = "<%s>\n<authenticator>%s</authenticator>\n<batch>\n<app_name>%s</app_name>\n%s" % (
        op, key, app, extra)
    for files in jobs:
        xml += "<job>\n"
        for content in files:
            xml += "<input_file>\n<mode>inline</mode>\n<source>%s</source>\n</input_file>\n" % (
                content)
        xml += "</job>\n"
    return xml + "</batch>\n</%s>\n" % op
