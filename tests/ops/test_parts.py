"""The ops pages' parts without a web server: CSRF tokens, URL parsing, HTML
escaping, SVG charts, daemon status from pid and lock files, and
check_project's view of who may read and write what."""

import os
import pathlib
import pwd
import signal

import pytest
from lxml import etree

from sched.ops import charts, csrf, daemons, html
from sched.ops.app import split_script_name
from sched.start import launch
from sched.tools.check_project import Account

SECRET = b"k" * 64


def test_csrf_tokens():
    now = 1_800_000_000
    token = csrf.make_token(SECRET, "alice", now)
    assert csrf.check_token(SECRET, "alice", token, now + 3600)
    assert not csrf.check_token(SECRET, "bob", token, now)              # another operator
    assert not csrf.check_token(b"x" * 64, "alice", token, now)         # another project
    assert not csrf.check_token(SECRET, "alice", token, now + csrf.MAX_AGE + 1)
    assert not csrf.check_token(SECRET, "alice", token, now - 3600)     # from the future
    stamp, mac = token.split(".")
    assert not csrf.check_token(SECRET, "alice", "%d.%s" % (now + 1, mac), now)
    for bad in (None, "", "nodot", "x.y", "." + mac):
        assert not csrf.check_token(SECRET, "alice", bad, now)
    assert not csrf.check_token(None, "alice", token, now)
    note = csrf.sign_note(SECRET, "alice", "done")
    assert csrf.check_note(SECRET, "alice", "done", note)
    assert not csrf.check_note(SECRET, "alice", "done!", note)
    assert not csrf.check_note(SECRET, "bob", "done", note)


def test_secret_file(tmp_path):
    (tmp_path / "html" / "ops").mkdir(parents=True)
    path = csrf.ensure_secret(str(tmp_path), "www-data")
    secret = csrf.load_secret(str(tmp_path))
    assert len(secret) == 64
    assert csrf.ensure_secret(str(tmp_path), "www-data") == path
    assert csrf.load_secret(str(tmp_path)) == secret
    mode = os.stat(path).st_mode & 0o777
    if os.geteuid() == 0:
        assert mode == 0o600 and os.stat(path).st_uid == pwd.getpwnam("www-data").pw_uid
    else:
        assert mode == 0o640
    assert csrf.load_secret("/nonexistent") is None


def test_script_names():
    assert split_script_name("/p_ops/apps") == ("/p_ops", "apps")
    assert split_script_name("/boinc/p_ops/") == ("/boinc/p_ops", "")
    assert split_script_name("/boinc/p_ops") == ("/boinc/p_ops", None)


def test_html_escapes_all_but_our_markup():
    cell = html.tag("td", "<b>&\"'", class_="x<y")
    assert cell == '<td class="x&lt;y">&lt;b&gt;&amp;&quot;&#x27;</td>'
    assert html.tag("p", html.Raw("<i>ok</i>")) == "<p><i>ok</i></p>"
    t = html.table(("a",), [["<script>"], {"class": "running", "cells": [html.Raw("<i>")]}])
    assert "&lt;script&gt;" in t and '<tr class="running"><td><i></td>' in t
    assert html.query("/x", a=1, b="", c=None, d="é&") == "/x?a=1&d=%C3%A9%26"


def test_charts_are_well_formed_svg():
    assert charts.nice_scale(0) == (1, 1)
    assert charts.nice_scale(3) == (5, 5)
    assert charts.nice_scale(7) == (10, 5)
    assert charts.nice_scale(130) == (200, 4)
    svg = charts.time_series("jobs <&>", [("a<b", [(0, 1), (3600, 5)]), ("c", [])], 0, 7200)
    root = etree.fromstring(svg.encode())
    ns = "{http://www.w3.org/2000/svg}"
    assert root.findtext(ns + "title") == "jobs <&>"
    (line,) = root.iter(ns + "polyline")
    assert line.findtext(ns + "title") == "a<b (latest 5)"
    assert [p.split(",")[0] for p in line.get("points").split()] == ["48.0", "298.0"]
    bars = etree.fromstring(charts.bars("rt", [("w", 2.0, None), ("v", 1.0, "v: 1")]).encode())
    widths = [float(r.get("width")) for r in bars.iter(ns + "rect")][1:]
    assert widths == [340.0, 170.0]
    assert "no data" in charts.bars("empty", [])


class _Cfg:
    """Just what daemons.daemon_status reads of a Config."""

    def __init__(self, project_dir, entries, this_host):
        self.project_dir, self.daemons, self.this_host = project_dir, entries, this_host
        self.raw = {}

    def get(self, tag, default=None):
        return self.raw.get(tag, default)

    def project_path(self, *parts):
        return os.path.join(self.project_dir, *parts)


def test_daemon_status_from_pid_and_lock_files(tmp_path):
    from sched.config import Daemon
    from sched.paths import short_hostname
    host = short_hostname()
    pid_dir = tmp_path / ("pid_" + host)
    pid_dir.mkdir()
    entries = [Daemon("sleep 300"), Daemon("feeder -d 3"), Daemon("transitioner -d 3"),
               Daemon("file_deleter -d 3", disabled=True),
               Daemon("sample_bitwise_validator -d 3 --app example", host="elsewhere")]
    cfg = _Cfg(str(tmp_path), entries, host)
    job = launch.Job(cmd="sleep 300", use_shell=False, lock_path=str(pid_dir / "sleep.lock"),
                     out_path=str(tmp_path / "sleep.log"), pid_path=str(pid_dir / "sleep.pid"))
    started = launch.spawn(job, str(tmp_path))
    assert started.status == "started"
    try:
        # A pid file naming a live process that holds no lock: a stale file.
        (pid_dir / "feeder.pid").write_text("%d\n" % os.getpid())
        (pid_dir / "feeder.lock").write_text("")
        (tmp_path / ("run_state_%s.xml" % host)).write_text(
            "<boinc><tasks/><enabled>1</enabled></boinc>\n")
        found = {d.cmd: d for d in daemons.daemon_status(cfg)}
        assert found["sleep 300"].status == daemons.RUNNING
        assert found["sleep 300"].pid == started.pid and found["sleep 300"].enabled
        assert found["feeder -d 3"].status == daemons.NOT_RUNNING
        assert found["transitioner -d 3"].status == daemons.NOT_RUNNING
        assert found["file_deleter -d 3"].status == daemons.DISABLED
        remote = found["sample_bitwise_validator -d 3 --app example"]
        assert (remote.status, remote.host) == (daemons.UNKNOWN, "elsewhere")
        assert remote.display == "sample_bitwise_validator (example)"
    finally:
        os.kill(started.pid, signal.SIGTERM)
        launch.wait_gone(started.pid)
    assert {d.cmd: d.status for d in daemons.daemon_status(cfg)}["sleep 300"] == \
        daemons.NOT_RUNNING
    (tmp_path / "stop_sched").write_text("")
    assert [(d.cmd, d.status) for d in daemons.servers_status(cfg)] == [
        ("Scheduler", daemons.NOT_RUNNING), ("Upload server", daemons.RUNNING),
        ("Download server", daemons.RUNNING)]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs files owned by another user")
def test_who_may_read_and_write(web_tmp):
    tmp_path = pathlib.Path(web_tmp)        # /tmp/pytest-of-root is closed to www-data
    www = Account.named("www-data")
    root = Account.named("root")
    os.chmod(tmp_path, 0o755)
    f = tmp_path / "key"
    f.write_text("x")
    os.chmod(f, 0o600)
    assert root.can(str(f), 4) and not www.can(str(f), 4)
    os.chmod(f, 0o644)
    assert www.can(str(f), 4) and not www.can(str(f), 2)
    d = tmp_path / "upload"
    d.mkdir()
    os.chmod(d, 0o2770)
    assert not www.can(str(d), 3)
    os.chown(d, 0, pwd.getpwnam("www-data").pw_gid)
    assert www.can(str(d), 3)
    os.chmod(tmp_path, 0o700)                   # a directory above it closes the way
    assert not www.can(str(d), 3) and not www.can(str(f), 4)
    assert not www.can(str(tmp_path / "missing"), 4)
