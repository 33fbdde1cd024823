"""Helpers for the web RPC tests: a project with a DB, calls in-process or over HTTP.

``web_project`` makes a project (make_project, real MariaDB) with an app,
two platforms and three app versions (one deprecated), so
get_project_config has platforms to list.
"""

import io
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from sched import db as dbmod
from sched import xmlutil
from sched.web import app as webapp


def parse(body):
    """The reply's root element; the XML must be well-formed and BOINC's header first."""
    assert body.startswith(b'<?xml version="1.0" encoding="ISO-8859-1" ?>\n'), body[:80]
    return xmlutil.parse_bytes(body)


def children(elem):
    return [c.tag for c in elem if isinstance(c.tag, str)]


def error_of(root):
    """(error_num, error_msg) of an <error> reply."""
    assert root.tag == "error", xml_text(root)
    assert children(root) == ["error_num", "error_msg"]
    return int(root.findtext("error_num")), root.findtext("error_msg")


def xml_text(elem):
    from lxml import etree
    return etree.tostring(elem, encoding="unicode")


class Project:
    """The project, its DB, and ways to call its RPCs."""

    def __init__(self, made):
        self.made = made
        self.dir = made.dir
        self.name = made.name
        self.config = made.config
        self.db = dbmod.connect(made.config)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def url(self, rpc, **params):
        query = urllib.parse.urlencode(params)
        return self.made.url("%s/%s%s" % (self.name, rpc, "?" + query if query else ""))

    # -- in-process: the WSGI application as the program in html/user runs it
    def call(self, rpc, **params):
        """(status, headers, body) of one call of the application."""
        environ = {
            "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/%s/%s" % (self.name, rpc),
            "SCRIPT_FILENAME": self.path("html", "user", rpc),
            "QUERY_STRING": urllib.parse.urlencode(params), "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
        }
        got = []
        body = b"".join(webapp.application(environ, lambda s, h: got.append((s, dict(h)))))
        return got[0][0], got[0][1], body

    def rpc(self, rpc, **params):
        status, headers, body = self.call(rpc, **params)
        assert status == "200 OK" and headers["Content-Type"] == "text/xml", (status, body)
        assert int(headers["Content-Length"]) == len(body)
        return parse(body)

    # -- over HTTP, through Apache
    def http(self, rpc, **params):
        """(status, content type, body) of a GET of the RPC's URL."""
        try:
            with urllib.request.urlopen(self.url(rpc, **params), timeout=120) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def http_rpc(self, rpc, **params):
        status, ctype, body = self.http(rpc, **params)
        assert status == 200 and ctype.startswith("text/xml"), (status, ctype, body)
        return parse(body)

    # -- setting things up
    def set_config(self, **options):
        """Set (value) or remove (None) <config> options in config.xml."""
        from lxml import etree
        path = self.path("config.xml")
        root = xmlutil.parse_file(path)
        config = root.find("config")
        for tag, value in options.items():
            for old in config.findall(tag):
                config.remove(old)
            if value is not None:
                etree.SubElement(config, tag).text = str(value)
        data = etree.tostring(root, encoding="utf-8")
        # A new mtime even within the file system's clock tick, for the
        # per-process config cache of a FastCGI program.
        old_mtime = os.stat(path).st_mtime_ns
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, ns=(time.time_ns(), max(time.time_ns(), old_mtime + 1_000_000)))

    def touch(self, name):
        open(self.path(name), "w").close()

    def add_team(self, name, userid=0, joinable=1, **cols):
        row = dict(create_time=int(time.time()), userid=userid, name=name, name_lc=name.lower(),
                   url="", type=1, name_html="", description="", nusers=0, country="",
                   total_credit=0, expavg_credit=0, expavg_time=0, joinable=joinable)
        row.update(cols)
        names = list(row)
        return self.db.insert("INSERT INTO team (%s) VALUES (%s)" % (
            ", ".join(names), ", ".join(["%s"] * len(names))), tuple(row.values()))

    def add_host(self, userid, **cols):
        row = dict(create_time=int(time.time()), userid=userid, rpc_seqno=3, rpc_time=1000,
                   total_credit=12.5, expavg_credit=1.25, expavg_time=0, timezone=0,
                   domain_name="box", serialnum="", last_ip_addr="", nsame_ip_addr=0,
                   on_frac=1, connected_frac=1, active_frac=1, cpu_efficiency=1,
                   duration_correction_factor=1, p_ncpus=4, p_vendor="GenuineIntel",
                   p_model="Xeon", p_fpops=3e9, p_iops=9e9, p_membw=0, os_name="Linux",
                   os_version="6.1", m_nbytes=8e9, m_cache=0, m_swap=0, d_total=1e11,
                   d_free=5e10, d_boinc_used_total=0, d_boinc_used_project=0, d_boinc_max=0,
                   n_bwup=0, n_bwdown=0, credit_per_cpu_sec=0, venue="home", nresults_today=0,
                   avg_turnaround=0, host_cpid="c" * 32, external_ip_addr="",
                   max_results_day=0, product_name="", gpu_active_frac=0, p_ngpus=0,
                   p_gpu_fpops=0)
        row.update(cols)
        names = list(row)
        return self.db.insert("INSERT INTO host (%s) VALUES (%s)" % (
            ", ".join(names), ", ".join(["%s"] * len(names))), tuple(row.values()))

    def close(self):
        self.db.close()


def add_app_versions(db):
    """App 'worker' with versions on two platforms (one plan class) and a deprecated one."""
    now = int(time.time())
    plat = {}
    for name, friendly in (("x86_64-pc-linux-gnu", "Linux on x86_64"),
                           ("windows_x86_64", "Windows on x86_64"),
                           ("arm64-apple-darwin", "Mac OS on ARM")):
        plat[name] = db.insert("INSERT INTO platform (create_time, name, user_friendly_name) "
                               "VALUES (%s, %s, %s)", (now, name, friendly))
    appid = db.insert("INSERT INTO app (create_time, name, user_friendly_name) "
                      "VALUES (%s, 'worker', 'Worker')", (now,))
    for platform, version, plan_class, deprecated in (
            ("x86_64-pc-linux-gnu", 100, "", 0), ("x86_64-pc-linux-gnu", 101, "", 0),
            ("x86_64-pc-linux-gnu", 100, "mt", 0), ("windows_x86_64", 100, "", 0),
            ("arm64-apple-darwin", 100, "", 1)):
        db.insert("INSERT INTO app_version (create_time, appid, version_num, platformid, "
                  "xml_doc, plan_class, deprecated) VALUES (%s, %s, %s, %s, '', %s, %s)",
                  (now, appid, version, plat[platform], plan_class, deprecated))


@pytest.fixture
def web_project(make_project, monkeypatch):
    """Factory: ``web_project(*make_project_args)`` -> :class:`Project` (with app versions).

    In-process calls start as a fresh program would (no cached config/DB) and
    don't sleep after a failed login.
    """
    monkeypatch.setattr(webapp, "LOGIN_FAIL_SLEEP_SEC", 0)
    monkeypatch.delenv("BOINC_PROJECT_DIR", raising=False)
    made = []

    def factory(*args, **kw):
        webapp._close_db()
        webapp._state.config = webapp._state.project_dir = None
        p = Project(make_project(*args, **kw))
        add_app_versions(p.db)
        made.append(p)
        return p

    yield factory
    webapp._close_db()
    webapp._state.config = webapp._state.project_dir = None
    for p in made:
        p.close()
