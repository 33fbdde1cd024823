"""The ops pages over HTTP through a real Apache: who gets in, how changes
must arrive (POST + CSRF token), and what the pages and endpoints say."""

import os
import re
import time
from urllib.parse import urlencode

import pytest
from lxml import etree

from opsproject import OPERATOR, db_of, http, make_history, ops_site  # noqa: F401
from sched import shmem, states
from sched.ops.pages import PAGES

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def site(ops_site):
    ops_site.auth = (OPERATOR, ops_site.password)
    ops_site.db = db_of(ops_site)
    yield ops_site
    ops_site.db.close()


def token(site):
    status, _, body = http(site.ops_url + "apps", auth=site.auth)
    assert status == 200
    return TOKEN_RE.search(body).group(1)


def post(site, page, fields, auth=True, headers=None):
    return http(site.ops_url + page, data=urlencode(fields).encode(),
                auth=site.auth if auth else None, headers=headers)


def test_every_page_and_action_needs_credentials(site):
    for page, (_, _, method) in PAGES.items():
        url = site.ops_url + page
        data = b"csrf_token=x&id=1" if method == "POST" else None
        for auth in (None, (OPERATOR, "wrong"), ("nobody", site.password)):
            status, headers, body = http(url, data=data, auth=auth)
            assert status == 401, (page, auth, status)
            assert headers["WWW-Authenticate"].startswith("Basic"), page
            assert "Server status" not in body and "csrf" not in body
    # The URL without its slash, and the ops directory's files, too.
    assert http(site.ops_url.rstrip("/"))[0] == 401
    assert http(site.ops_url + "index.py")[0] == 401
    # Secrets are never served, not even to an operator.
    for name in (".htpasswd", ".htsecret"):
        assert http(site.ops_url + name, auth=site.auth)[0] == 403


def test_changes_need_post_and_a_token(site):
    db = site.db
    wu = db.query_one("SELECT id, error_mask FROM workunit ORDER BY id DESC LIMIT 1")
    fields = {"id": wu["id"], "confirm": "1"}
    # GET never changes anything: a change page refuses it.
    status, headers, _ = http(site.ops_url + "cancel_wu?" + urlencode(fields), auth=site.auth)
    assert status == 405 and headers["Allow"] == "POST"
    # ... and a read page refuses POST.
    assert post(site, "apps", {})[0] == 405
    good = token(site)
    bad_tokens = [None, "", "123.abc", good[:-1] + ("0" if good[-1] != "0" else "1"),
                  "%d.%s" % (time.time() - 13 * 3600, good.split(".")[1])]
    for bad in bad_tokens:
        f = dict(fields, **({"csrf_token": bad} if bad is not None else {}))
        status, _, body = post(site, "cancel_wu", f)
        assert status == 403, bad
        assert "expired or did not come from these pages" in body
    # The right token from another site's page is refused too.
    status, _, body = post(site, "cancel_wu", dict(fields, csrf_token=good),
                           headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-site" in body
    assert db.scalar("SELECT error_mask FROM workunit WHERE id=%s", (wu["id"],)) == \
        wu["error_mask"]
    # Our own form's token, from our own origin: done, then back to a page.
    status, headers, _ = post(site, "cancel_wu", dict(fields, csrf_token=good),
                              headers={"Origin": site.url_base.rstrip("/")})
    assert status == 303
    assert headers["Location"].startswith("/test_ops/workunit?")
    assert db.scalar("SELECT error_mask FROM workunit WHERE id=%s", (wu["id"],)) & \
        states.WU_ERROR_CANCELLED
    # The note shown there is signed: a forged one is not displayed.
    status, _, body = http(site.ops_url + headers["Location"].split("/test_ops/")[1],
                           auth=site.auth)
    assert "Job cancelled" in body
    forged = "workunit?id=%d&note=Run+rm+-rf&note_sig=00" % wu["id"]
    assert "Run rm -rf" not in http(site.ops_url + forged, auth=site.auth)[2]


def test_server_status_xml(site):
    status, headers, body = http(site.ops_url + "server_status?xml=1", auth=site.auth)
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(body.encode())
    assert root.tag == "server_status"
    found = {d.findtext("command"): d.findtext("status") for d in root.iter("daemon")}
    # The feeder runs, but not started by bin/start: no pid file, as BOINC would say.
    assert found == {"Scheduler": "running", "Upload server": "running",
                     "Download server": "running", "feeder": "not running",
                     "transitioner": "not running", "file_deleter": "not running"}
    files = root.find("database_file_states")
    assert int(files.findtext("results_ready_to_send")) == site.db.scalar(
        "SELECT COUNT(*) FROM result WHERE server_state=%s", (states.RESULT_SERVER_STATE_UNSENT,))
    apps = {a.findtext("name"): a for a in files.find("tasks_by_app")}
    assert int(apps["worker"].findtext("unsent")) == int(files.findtext("results_ready_to_send"))
    cache = root.find("shared_memory")
    assert cache.findtext("ready") == "1" and int(cache.findtext("nslots")) == 1000
    assert int(cache.findtext("present")) + int(cache.findtext("empty")) == 1000


def test_status_page(site):
    status, _, body = http(site.ops_url, auth=site.auth)
    assert status == 200
    unsent = site.db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s",
                            (states.RESULT_SERVER_STATE_UNSENT,))
    assert re.search(r"Tasks ready to send</td><td class=\"num\">%d<" % unsent, body)
    oldest = site.db.query_one("SELECT id, name FROM result WHERE server_state=%s ORDER BY "
                               "create_time, id LIMIT 1", (states.RESULT_SERVER_STATE_UNSENT,))
    assert 'href="/test_ops/result?id=%d">%s</a>' % (oldest["id"], oldest["name"]) in body
    assert body.count("<svg ") == 4 and "Queue depth" in body
    cache = shmem.JobCache.attach(site.config)
    try:
        assert "feeder pid</td><td>%d<" % cache.header().feeder_pid in body
    finally:
        cache.detach()


def test_queue_depth_is_rebuilt_from_the_rows(site):
    from sched.ops import figures
    now = int(time.time())
    unsent, in_progress = figures.queue_depth(site.db, 24, now)
    assert unsent[0] == "unsent" and len(unsent[1]) == 24
    assert unsent[1][-1] == (now, site.db.scalar(
        "SELECT COUNT(*) FROM result WHERE server_state=%s", (states.RESULT_SERVER_STATE_UNSENT,)))
    assert in_progress[1][-1][1] == site.db.scalar(
        "SELECT COUNT(*) FROM result WHERE server_state=%s",
        (states.RESULT_SERVER_STATE_IN_PROGRESS,))


def test_metrics(site):
    status, headers, body = http(site.ops_url + "metrics", auth=site.auth)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families, seen, values = [], set(), {}
    for line in body.splitlines():
        m = re.fullmatch(r"# TYPE (\w+) (gauge|counter)", line)
        if m:
            assert m.group(1) not in seen, "family %s split" % m.group(1)
            seen.add(m.group(1))
            families.append(m.group(1))
            continue
        if line.startswith("# HELP "):
            continue
        m = re.fullmatch(r'(\w+)(\{[^}]*\})? (-?[0-9.e+]+)', line)
        assert m, line
        assert m.group(1) == families[-1], line
        values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    unsent = site.db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s",
                            (states.RESULT_SERVER_STATE_UNSENT,))
    assert values["boinc_queue_depth"] == unsent
    assert values['boinc_results{server_state="UNSENT"}'] == unsent
    assert values['boinc_app_results_unsent{app="worker"}'] == unsent
    assert values["boinc_db_up"] == 1 and values["boinc_shmem_ready"] == 1
    assert values['boinc_daemon_up{host="%s",command="Scheduler",cmd="Scheduler"}'
                  % site.config.this_host.split(".")[0]] == 1
    assert values['boinc_daemon_up{host="%s",command="feeder",cmd="feeder -d 3"}'
                  % site.config.this_host.split(".")[0]] == 0
    for name in ("boinc_host_rpcs_total", "boinc_results_sent", "boinc_result_errors",
                 "boinc_transitioner_backlog_seconds"):
        assert any(k.split("{")[0] == name for k in values), name


def test_browse(site):
    db = site.db
    wu = db.query_one("SELECT id, name FROM workunit ORDER BY id LIMIT 1")
    status, _, body = http(site.ops_url + "db?table=workunit&name=job_*", auth=site.auth)
    assert status == 200
    listed = re.findall(r'href="/test_ops/workunit\?id=(\d+)">job_', body)
    assert sorted(map(int, listed)) == [r["id"] for r in db.query(
        "SELECT id FROM workunit WHERE name LIKE 'job\\_%' ORDER BY id")]
    # By state: the cancelled ones.
    body = http(site.ops_url + "db?table=workunit&state=cancelled", auth=site.auth)[2]
    listed = set(map(int, re.findall(r'href="/test_ops/workunit\?id=(\d+)">', body)))
    assert listed == {r["id"] for r in db.query("SELECT id FROM workunit WHERE error_mask & 16")}
    # Results by server state, and a result's page.
    body = http(site.ops_url + "db?table=result&server_state=2", auth=site.auth)[2]
    ids = set(map(int, re.findall(r'href="/test_ops/result\?id=(\d+)">\d', body)))
    assert ids == {r["id"] for r in db.query("SELECT id FROM result WHERE server_state=2")}
    # A job's history with the stderr_out of its results.
    rid = db.scalar("SELECT id FROM result WHERE workunitid=%s", (wu["id"],))
    db.execute("UPDATE result SET stderr_out=%s WHERE id=%s",
               ("<stderr_txt>\nbad & sad <x>\n</stderr_txt>", rid))
    body = http(site.ops_url + "workunit?name=" + wu["name"], auth=site.auth)[2]
    assert "bad &amp; sad &lt;x&gt;" in body and "<x>" not in body
    assert "workunit created" in body and "result created" in body
    body = http(site.ops_url + "result?id=%d" % rid, auth=site.auth)[2]
    assert "bad &amp; sad" in body
    for page in ("host?id=1", "user?id=1", "workunit?id=999999", "db?table=nosuch"):
        assert http(site.ops_url + page, auth=site.auth)[0] == 404
    assert http(site.ops_url + "db?table=result&id=x", auth=site.auth)[0] == 400
    assert http(site.ops_url + "no_such_page", auth=site.auth)[0] == 404


def test_batches(site):
    db = site.db
    now = int(time.time())
    appid = db.scalar("SELECT id FROM app WHERE name='worker'")
    wus = [r["id"] for r in db.query("SELECT id FROM workunit WHERE error_mask=0 ORDER BY id")]
    assert len(wus) >= 2
    ids = []
    for name in ("first", "second"):
        ids.append(db.insert(
            "INSERT INTO batch (user_id, create_time, logical_start_time, logical_end_time, "
            "est_completion_time, njobs, fraction_done, nerror_jobs, state, completion_time, "
            "credit_estimate, credit_canonical, credit_total, name, app_id, project_state, "
            "description, expire_time) VALUES (1, %s, 0, 0, 0, 1, 0, 0, %s, 0, 0, 0, 0, %s, "
            "%s, 0, '', 0)", (now, states.BATCH_STATE_IN_PROGRESS, name, appid)))
    db.execute("UPDATE workunit SET batch=%s WHERE id=%s", (ids[0], wus[0]))
    db.execute("UPDATE workunit SET batch=%s WHERE id=%s", (ids[1], wus[1]))
    body = http(site.ops_url + "batches", auth=site.auth)[2]
    assert 'href="/test_ops/batch?id=%d">first' % ids[0] in body
    body = http(site.ops_url + "batch?id=%d" % ids[0], auth=site.auth)[2]
    assert "1 unsent" in body and "Abort batch" in body
    # Unconfirmed: nothing happens.
    status, headers, _ = post(site, "batch_action", {"id": ids[0], "action": "abort",
                                                      "csrf_token": token(site)})
    assert status == 303 and db.scalar("SELECT state FROM batch WHERE id=%s",
                                       (ids[0],)) == states.BATCH_STATE_IN_PROGRESS
    for batch_id, action, state in ((ids[0], "abort", states.BATCH_STATE_ABORTED),
                                    (ids[1], "retire", states.BATCH_STATE_RETIRED)):
        status, _, _ = post(site, "batch_action", {"id": batch_id, "action": action,
                                                    "confirm": "1", "csrf_token": token(site)})
        assert status == 303
        assert db.scalar("SELECT state FROM batch WHERE id=%s", (batch_id,)) == state
        wu = db.query_one("SELECT error_mask FROM workunit WHERE batch=%s", (batch_id,))
        assert wu["error_mask"] & states.WU_ERROR_CANCELLED
        assert db.scalar("SELECT COUNT(*) FROM result r JOIN workunit w ON w.id=r.workunitid "
                         "WHERE w.batch=%s AND r.server_state=%s",
                         (batch_id, states.RESULT_SERVER_STATE_UNSENT)) == 0
    body = http(site.ops_url + "batch?id=%d" % ids[1], auth=site.auth)[2]
    assert "RETIRED" in body and "Retire batch" not in body


def test_unknown_plan_class(site):
    db = site.db
    avid = db.scalar("SELECT id FROM app_version ORDER BY id LIMIT 1")
    t = token(site)
    status, headers, _ = post(site, "app_version_update", {
        "id": avid, "plan_class": "warp_drive", "min_core_version": "0",
        "max_core_version": "0", "csrf_token": t})
    assert status == 303 and "problem=" in headers["Location"]
    assert db.scalar("SELECT plan_class FROM app_version WHERE id=%s", (avid,)) == ""
    # One already in the database (put there by other means) is shown as an error.
    db.execute("UPDATE app_version SET plan_class='warp_drive' WHERE id=%s", (avid,))
    try:
        body = http(site.ops_url + "apps", auth=site.auth)[2]
    finally:
        db.execute("UPDATE app_version SET plan_class='' WHERE id=%s", (avid,))
    assert "has plan class &#x27;warp_drive&#x27;, which the scheduler doesn&#x27;t know" in body
    assert '<div class="error">unknown plan class</div>' in body
    # Known ones are accepted (built in: mt; or named in plan_class_spec.xml).
    spec = site.dir + "/plan_class_spec.xml"
    with open(spec, "w") as f:
        f.write("<plan_classes><plan_class><name>warp_drive</name></plan_class>"
                "</plan_classes>\n")
    try:
        status, headers, _ = post(site, "app_version_update", {
            "id": avid, "plan_class": "warp_drive", "min_core_version": "0",
            "max_core_version": "0", "csrf_token": t})
        assert status == 303 and "problem=" not in headers["Location"]
        assert db.scalar("SELECT plan_class FROM app_version WHERE id=%s", (avid,)) == \
            "warp_drive"
    finally:
        os.unlink(spec)
        db.execute("UPDATE app_version SET plan_class='' WHERE id=%s", (avid,))


def test_app_changes_the_feeder_would_refuse_are_refused(site):
    db = site.db
    app = db.query_one("SELECT * FROM app WHERE name='worker'")
    other = db.insert("INSERT INTO app (create_time, name, user_friendly_name) "
                      "VALUES (UNIX_TIMESTAMP(), 'other', 'Other')")
    try:
        status, headers, _ = post(site, "app_update", {
            "id": app["id"], "weight": "1", "homogeneous_redundancy": "1",
            "csrf_token": token(site)})
        assert status == 303 and "allapps" in headers["Location"]
        assert db.scalar("SELECT homogeneous_redundancy FROM app WHERE id=%s",
                         (app["id"],)) == 0
        status, headers, _ = post(site, "app_update", {
            "id": app["id"], "weight": "-2", "csrf_token": token(site)})
        assert "problem=" in headers["Location"]
        status, headers, _ = post(site, "app_update", {
            "id": app["id"], "weight": "2.5", "beta": "1", "csrf_token": token(site)})
        assert "problem=" not in headers["Location"]
        row = db.query_one("SELECT weight, beta, deprecated FROM app WHERE id=%s", (app["id"],))
        assert (row["weight"], row["beta"], row["deprecated"]) == (2.5, 1, 0)
    finally:
        db.execute("DELETE FROM app WHERE id=%s", (other,))
        db.execute("UPDATE app SET weight=%s, beta=%s WHERE id=%s",
                   (app["weight"], app["beta"], app["id"]))


def test_pictures_are_drawn_from_the_results(site):
    from sched.ops import figures
    ids, first = make_history(site)
    db = site.db
    now = int(time.time())
    hours = 24
    per_hour = dict(figures.results_per_hour(db, hours, now))
    for i in range(len(ids)):
        sent = first + i * 3600
        assert dict(per_hour["sent"])[sent // 3600 * 3600] == 1
        reported = (sent + 5400) // 3600 * 3600
        assert dict(per_hour["reported ok"])[reported] == (1 if i % 2 == 0 else 0)
        assert dict(per_hour["reported error"])[reported] == (0 if i % 2 == 0 else 1)
    assert sum(v for _, v in per_hour["sent"]) == db.scalar(
        "SELECT COUNT(*) FROM result WHERE sent_time>=%s", (per_hour["sent"][0][0],))
    # Queue depth, hour by hour, against a direct count at each point.
    for label, series in figures.queue_depth(db, hours, now):
        enter, left = (("create_time", figures._LEFT_UNSENT) if label == "unsent"
                       else ("sent_time", figures._LEFT_IN_PROGRESS))
        for t, depth in series:
            limit = t + 1 if t == now else t
            assert depth == db.scalar(
                "SELECT COUNT(*) FROM result WHERE {e}>0 AND {e}<%s AND ({l} IS NULL OR "
                "{l}>=%s)".format(e=enter, l=left), (limit, limit)), (label, t)
    assert max(v for _, v in dict(figures.queue_depth(db, hours, now))["in progress"]) == 1
    (worker,) = figures.app_history(db, 7, now)
    assert (worker["name"], worker["n"], worker["ok"], worker["errors"]) == (
        "worker", len(ids), len(ids) // 2, len(ids) // 2)
    assert worker["runtime"] == pytest.approx(sum(100.0 * (i + 1) for i in range(0, len(ids), 2))
                                              / (len(ids) // 2))
    body = http(site.ops_url, auth=site.auth)[2]
    assert "<title>sent (latest" in body and "worker: %d errors of %d results" % (
        len(ids) // 2, len(ids)) in body
