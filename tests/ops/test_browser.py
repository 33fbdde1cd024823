"""An operator at the ops pages in headless Chromium, against a real Apache:
log in, read the status, deprecate an app version (and see the feeder drop
it), cancel a job.  Screenshots of the main pages go to tests/artifacts/ops/
(git ignores them)."""

import os
import re
import time

import pytest

from browser import Browser, available
from opsproject import ARTIFACTS, OPERATOR, db_of, make_history, ops_site  # noqa: F401
from sched import shmem, states


@pytest.fixture(scope="module")
def browser():
    if not available():
        pytest.fail("chromium and chromedriver are not installed (run scripts/setup)")
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def site(ops_site):
    make_history(ops_site)          # something to draw
    ops_site.db = db_of(ops_site)
    # Credentials in the URL: what a person types into the browser's login box.
    ops_site.login = ops_site.ops_url.replace(
        "http://", "http://%s:%s@" % (OPERATOR, ops_site.password))
    yield ops_site
    ops_site.db.close()


def shot(browser, name):
    path = browser.screenshot(os.path.join(ARTIFACTS, name + ".png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print("screenshot:", path)
    return path


def cached_version_ids(cfg):
    cache = shmem.JobCache.attach(cfg)
    try:
        return {av["id"] for av in cache.catalog().app_versions}
    finally:
        cache.detach()


def wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting: " + what
        time.sleep(0.2)


def test_log_in_and_read_the_status(site, browser):
    browser.get(site.ops_url)           # no credentials: nothing to see
    assert "Server status" not in browser.source()
    assert "Tasks ready to send" not in browser.source()
    browser.get(site.login)
    assert browser.title == "Server status - test ops"
    assert "operator: %s" % OPERATOR in browser.text("header")
    daemons = browser.text("main table")
    assert re.search(r"feeder not running", daemons) and "Scheduler running" in daemons
    unsent = site.db.scalar("SELECT COUNT(*) FROM result WHERE server_state=%s",
                            (states.RESULT_SERVER_STATE_UNSENT,))
    assert re.search(r"Tasks ready to send %d\b" % unsent, browser.text("main"))
    assert "ready yes" in browser.text("main")
    assert len(browser.find_all("svg")) == 4
    shot(browser, "status")


def test_deprecate_an_app_version_and_the_feeder_drops_it(site, browser):
    avid = site.db.scalar("SELECT id FROM app_version WHERE deprecated=0 ORDER BY id LIMIT 1")
    assert avid in cached_version_ids(site.config)
    browser.get(site.login + "apps")
    assert browser.title == "Applications and versions - test ops"
    shot(browser, "apps")
    browser.click_and_load("#avtoggle-%d button" % avid)
    assert browser.url.split("?")[0] == site.login + "apps"
    assert "App version #%d (worker 100) deprecated. The feeder will reload its catalog" % avid \
        in browser.text(".note")
    assert site.db.scalar("SELECT deprecated FROM app_version WHERE id=%s", (avid,)) == 1
    wait_for(lambda: avid not in cached_version_ids(site.config),
             "the feeder to drop app version %d" % avid)
    assert not os.path.exists(os.path.join(site.dir, "reread_db"))     # it has read it
    browser.get(site.ops_url + "apps")
    row = browser.text("#app_versions tr:nth-child(2)")
    assert row.startswith("%d worker" % avid) and " no " in row + " "     # not cached
    shot(browser, "apps_deprecated")
    # And back: the feeder takes it again.
    browser.click_and_load("#avtoggle-%d button" % avid)
    assert "undeprecated" in browser.text(".note")
    wait_for(lambda: avid in cached_version_ids(site.config),
             "the feeder to take app version %d again" % avid)


def test_cancel_a_job(site, browser):
    db = site.db
    wu = db.query_one("SELECT w.id, w.name FROM workunit w JOIN result r ON r.workunitid=w.id "
                      "WHERE r.server_state=%s AND w.error_mask=0 ORDER BY w.id LIMIT 1",
                      (states.RESULT_SERVER_STATE_UNSENT,))
    browser.get(site.login + "workunit?id=%d" % wu["id"])
    assert browser.title == "Workunit %s - test ops" % wu["name"]
    assert "workunit created" in browser.text("#history")
    shot(browser, "workunit")
    browser.click("form[action$='cancel_wu'] input[name=confirm]")
    browser.click_and_load("form[action$='cancel_wu'] button")
    assert browser.title == "Workunit %s - test ops" % wu["name"]
    assert "Job cancelled; 1 unsent results will not be sent." in browser.text(".note")
    assert db.scalar("SELECT error_mask FROM workunit WHERE id=%s", (wu["id"],)) & \
        states.WU_ERROR_CANCELLED
    assert [(r["server_state"], r["outcome"]) for r in db.query(
        "SELECT server_state, outcome FROM result WHERE workunitid=%s", (wu["id"],))] == [
        (states.RESULT_SERVER_STATE_OVER, states.RESULT_OUTCOME_DIDNT_NEED)]
    assert "CANCELLED" in browser.text("main")
    assert not browser.find_all("form[action$='cancel_wu']")      # nothing left to cancel
    shot(browser, "workunit_cancelled")


def test_screenshots_of_the_other_pages(site, browser):
    pages = {"browse_workunits": "db?table=workunit", "browse_results": "db?table=result",
             "result": "result?id=1", "batches": "batches", "cancel": "cancel",
             "server_status_xml": "server_status?xml=1", "metrics": "metrics"}
    for name, page in pages.items():
        browser.get(site.login + page)
        assert "Internal Server Error" not in browser.source(), page
        assert os.path.getsize(shot(browser, name)) > 5000
