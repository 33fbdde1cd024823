"""The periodic tasks of a new project's config.xml (docs/tasks.md): our
html/ops programs (sched/ops), where they get installed, what each does to
the database, and bin/start --cron running the default tasks."""

import os
import re
import subprocess
import time

import pytest

from testenv import ROOT
from stats_helpers import NOW, row, sp  # noqa: F401 (fixture)

from sched import install, paths
from sched.ops import badge_assign as ba
from sched.start.runstate import RunState

DAY = 86400
PROVIDED = ("badge_assign", "delete_expired_tokens", "delete_expired_users_and_hosts",
            "update_uotd")
NOT_PROVIDED = ("notify", "team_import", "update_forum_activities", "update_profile_pages")


def ops(project, name, *args):
    """Run a task as bin/start does: ``run_in_ops ./NAME.php`` from tmp_HOST."""
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    return subprocess.run([os.path.join(project.dir, "bin", "run_in_ops"), "./%s.php" % name]
                          + list(args), cwd=project.config.dir("tmp"), env=env,
                          capture_output=True, text=True, timeout=120)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.match(r"(Starting: \d+ \w+ \d{4}, \d+:\d\d:\d\d UTC|\w+ \d\d \d{4} UTC: Starting)",
                    result.stdout), result.stdout
    return result.stdout


# ------------------------------------------------------------ installing

def test_make_project_installs_the_provided_tasks_only(project):
    ops_dir = os.path.join(project.dir, "html", "ops")
    for name in PROVIDED:
        path = os.path.join(ops_dir, name + ".php")
        assert os.access(path, os.X_OK) and install.is_our_ops_program(path)
    for name in NOT_PROVIDED:
        assert not os.path.exists(os.path.join(ops_dir, name + ".php"))


def test_a_php_site_keeps_its_files_and_gets_none_of_ours(project):
    ops_dir = os.path.join(project.dir, "html", "ops")
    for name in PROVIDED:
        os.unlink(os.path.join(ops_dir, name + ".php"))
    os.makedirs(os.path.join(project.dir, "html", "inc"), exist_ok=True)
    with open(os.path.join(project.dir, "html", "inc", "util.inc"), "w") as f:
        f.write("<?php\n")
    php = "#!/usr/bin/env php\n<?php echo 'BOINC';\n"
    with open(os.path.join(ops_dir, "badge_assign.php"), "w") as f:
        f.write(php)
    installed = install.install_programs(project.dir)             # as bin/upgrade
    assert not [n for n in installed if n.startswith("html/ops/") and n.endswith(".php")]
    with open(os.path.join(ops_dir, "badge_assign.php")) as f:
        assert f.read() == php
    assert not os.path.exists(os.path.join(ops_dir, "delete_expired_tokens.php"))


def test_an_upgrade_replaces_our_copies_and_adds_missing_ones(project):
    ops_dir = os.path.join(project.dir, "html", "ops")
    os.unlink(os.path.join(ops_dir, "update_uotd.php"))
    mine = os.path.join(ops_dir, "badge_assign.php")
    with open(mine, "a") as f:
        f.write("# old copy\n")
    installed = install.install_programs(project.dir)
    assert {"html/ops/%s.php" % n for n in PROVIDED} <= set(installed)
    with open(mine) as f, open(os.path.join(ROOT, "html", "ops", "badge_assign.php")) as g:
        assert f.read().split("\n", 1)[1] == g.read().split("\n", 1)[1]    # all but #!


# ------------------------------------------------------------ each task

def test_delete_expired_tokens(sp):
    u = sp.add_user()
    for token, expires in (("old", NOW - 10), ("new", NOW + 3600), ("never", None)):
        sp.db.execute("INSERT INTO token (token, userid, type, create_time, expire_time) "
                      "VALUES (%s, %s, 'D', %s, %s)", (token, u, NOW - DAY, expires))
    out = ok(ops(sp.made, "delete_expired_tokens"))
    assert "1 tokens deleted\n" in out and "Finished: " in out
    assert sorted(r[0] for r in sp.db.rows("SELECT token FROM token")) == ["never", "new"]


def test_delete_expired_users_and_hosts(sp):
    for table, key in (("user_deleted", "userid"), ("host_deleted", "hostid")):
        for i, age in ((1, 61), (2, 59)):
            sp.db.execute("INSERT INTO %s (%s, public_cross_project_id, create_time) "
                          "VALUES (%%s, 'x', %%s)" % (table, key), (i, NOW - age * DAY))
    out = ok(ops(sp.made, "delete_expired_users_and_hosts"))
    assert "1 users deleted from user_deleted\n1 hosts deleted from host_deleted\n" in out
    assert sp.db.rows("SELECT userid FROM user_deleted") == ((2,),)
    assert sp.db.rows("SELECT hostid FROM host_deleted") == ((2,),)


def badges_of(sp, kind):
    rows = sp.db.query("SELECT b.%s_id AS owner, g.name FROM badge_%s b JOIN badge g "
                       "ON g.id = b.badge_id ORDER BY owner" % (kind, kind))
    return {r["owner"]: r["name"] for r in rows}


def test_badge_assign(sp):
    # 100 users with average credit 2..101 and one (200) without total credit:
    # n = 101 rows above 1, so the thresholds are the values at ascending
    # rows 99, 95 and 75: 101, 97 and 77.
    users = [sp.add_user(total_credit=1.0, expavg_credit=2.0 + i) for i in range(100)]
    no_total = sp.add_user(total_credit=0.0, expavg_credit=200.0)
    low = sp.add_user(total_credit=1.0, expavg_credit=0.5)
    team = sp.add_team(total_credit=5.0, expavg_credit=3.0)
    assert [ba.percentile(sp.db, "user", 100 - p) for p in ba.PERCENTILES] == [101, 97, 77]
    out = ok(ops(sp.made, "badge_assign"))
    assert "Finished: " in out
    expected = {users[99]: "user_pct_0"}
    expected.update((u, "user_pct_1") for u in users[95:99])
    expected.update((u, "user_pct_2") for u in users[75:95])
    assert badges_of(sp, "user") == expected
    assert no_total not in expected and low not in expected
    assert badges_of(sp, "team") == {team: "team_pct_0"}   # the only team: its own top 1%
    b = sp.db.query_one("SELECT * FROM badge WHERE name = 'user_pct_1'")
    assert (b["title"], b["image_url"], b["type"]) == ("Top 5% in average credit",
                                                        "img/pct_5.png", 0)
    first = sp.db.query_one("SELECT create_time, reassign_time FROM badge_user WHERE "
                            "user_id = %s", (users[96],))

    # The next day users[99] has 98.5, users[75] 1.5: thresholds 100, 97, 76.
    sp.db.execute("UPDATE badge_user SET create_time = create_time - %s, "
                  "reassign_time = reassign_time - %s", (DAY, DAY))
    sp.db.execute("UPDATE user SET expavg_credit = 98.5 WHERE id = %s", (users[99],))
    sp.db.execute("UPDATE user SET expavg_credit = 1.5 WHERE id = %s", (users[75],))
    ok(ops(sp.made, "badge_assign"))
    expected = {users[98]: "user_pct_0"}
    expected.update((u, "user_pct_1") for u in users[95:98] + [users[99]])
    expected.update((u, "user_pct_2") for u in users[74:75] + users[76:95])
    assert badges_of(sp, "user") == expected
    kept = sp.db.query_one("SELECT create_time, reassign_time FROM badge_user WHERE "
                           "user_id = %s", (users[96],))
    assert kept["create_time"] == first["create_time"] - DAY    # held on: not re-made
    assert kept["reassign_time"] >= first["reassign_time"]
    assert sp.db.scalar("SELECT COUNT(*) FROM badge") == 6      # made once


def test_badge_assign_in_a_new_project(sp):
    out = ok(ops(sp.made, "badge_assign"))
    assert "no user has average credit above 1" in out
    assert "no team has average credit above 1" in out
    assert sp.db.scalar("SELECT COUNT(*) FROM badge_user") == 0


def add_profile(sp, userid, **kw):
    values = dict(userid=userid, has_picture=1, verification=1)
    values.update(kw)
    sp.insert("profile", **values)


def test_update_uotd_without_profiles_says_why(sp):
    out = ok(ops(sp.made, "update_uotd"))
    assert "No profiles in the database" in out and "PHP web site" in out


def test_update_uotd_chooses_a_screened_profile(sp):
    good = sp.add_user(expavg_credit=5.0)
    add_profile(sp, good)
    add_profile(sp, sp.add_user(expavg_credit=5.0), verification=0)     # not screened
    add_profile(sp, sp.add_user(expavg_credit=0.5))                     # no recent credit
    out = ok(ops(sp.made, "update_uotd"))
    assert "Chose user %d as UOTD" % good in out
    chosen = sp.db.scalar("SELECT uotd_time FROM profile WHERE userid = %s", (good,))
    assert chosen and abs(chosen - time.time()) < DAY
    assert sp.db.scalar("SELECT COUNT(*) FROM profile WHERE uotd_time > 0") == 1

    assert "Already have UOTD for today" in ok(ops(sp.made, "update_uotd"))
    # forced, with every candidate shown already: one of those shown longest ago again
    sp.db.execute("UPDATE profile SET uotd_time = %s WHERE userid = %s", (NOW - 5 * DAY, good))
    out = ok(ops(sp.made, "update_uotd", "--force"))
    assert "Forcing new UOTD" in out and "selecting old UOTD" in out
    assert "Chose user %d as UOTD" % good in out


# ------------------------------------------------------------ bin/start

def wait_for(predicate, what, limit=120.0):
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.1)


def test_cron_runs_the_default_tasks_and_status_names_the_missing_ones(project):
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    host = paths.short_hostname()

    def start(*args):
        return subprocess.run([os.path.join(project.dir, "bin", "start")] + list(args),
                              cwd=project.dir, env=env, capture_output=True, text=True,
                              timeout=300)

    state = RunState(os.path.join(project.dir, "run_state_%s.xml" % host))
    state.enabled = True                # as after bin/start, without waiting for it
    state.write()
    try:
        result = start("--cron")
        assert result.returncode == 0, result.stderr
        log_dir = project.config.dir("log")

        def out(name):
            try:
                with open(os.path.join(log_dir, name + ".out")) as f:
                    return f.read()
            except FileNotFoundError:
                return ""

        for name in ("update_stats",) + PROVIDED:
            wait_for(lambda: "Finished" in out(name) or "Chose user" in out(name)
                     or "No profiles" in out(name), name + ".out")
        assert "Updated teams" in out("update_stats")
        assert "0 tokens deleted" in out("delete_expired_tokens")
        for name in NOT_PROVIDED:
            if name == "team_import":       # disabled in config.xml: not run at all
                assert out(name) == ""
                continue
            assert "html/ops/%s.php not found" % name in result.stderr
            assert "Can't execute command: run_in_ops ./%s.php" % name in out(name)
        assert "db_dump" not in result.stderr and out("db_dump") == ""   # disabled

        status = start("--status", "-v").stdout
        for name in NOT_PROVIDED:
            assert "run_in_ops ./%s.php  [not provided: html/ops/%s.php not found]" % (
                name, name) in status
        for name in PROVIDED:
            assert re.search(r"run_in_ops ./%s\.php\n" % name, status)
        assert re.search(r"update_stats\n", status) and re.search(r"db_dump .*\n", status)
    finally:
        start("--stop")
