"""update_stats (sched/update_stats.py) on a real project's database: the
decay BOINC computes, which rows it touches, team member counts, and the
installed program with BOINC's options."""

import io
import math
import time

import pytest

from backend_helpers import program
from stats_helpers import row, sp  # noqa: F401 (fixture)

from sched import log as logmod
from sched import update_stats as us

DAY = 86400
NOW = 1_800_000_000.25          # the "now" the in-process tests pass
CUTOFF = NOW - DAY


def test_decay_is_boincs_update_average_written_with_six_decimals(sp):
    u = sp.add_user(expavg_credit=100.0, expavg_time=NOW - 3 * DAY)
    assert us.decay(sp.db, "user", CUTOFF, NOW) == 1
    r = row(sp, "user", u)
    # three days of a seven-day half-life: 100 * 2^(-3/7), stored as "%f"
    assert r["expavg_credit"] == 74.299714
    assert r["expavg_credit"] == float("%f" % (100 * 2 ** (-3 / 7)))
    assert r["expavg_time"] == NOW


def test_only_idle_rows_above_the_floor_are_decayed(sp):
    idle = sp.add_user(expavg_credit=50.0, expavg_time=NOW - 7 * DAY)
    recent = sp.add_user(expavg_credit=50.0, expavg_time=NOW - DAY / 2)
    small = sp.add_user(expavg_credit=0.1, expavg_time=NOW - 7 * DAY)
    never = sp.add_user(expavg_credit=5.0, expavg_time=0)
    assert us.decay(sp.db, "user", CUTOFF, NOW) == 2
    assert row(sp, "user", idle)["expavg_credit"] == 25.0        # one half-life
    assert row(sp, "user", recent)["expavg_credit"] == 50.0
    assert row(sp, "user", recent)["expavg_time"] == NOW - DAY / 2
    assert row(sp, "user", small)["expavg_credit"] == 0.1
    # no time of the last update: BOINC's update_average keeps the value
    assert (row(sp, "user", never)["expavg_credit"], row(sp, "user", never)["expavg_time"]) \
        == (5.0, NOW)


def test_app_versions_decay_down_to_zero_hosts_and_teams_above_a_tenth(sp):
    sp.add_app()
    av = sp.add_app_version(200, expavg_credit=0.05, expavg_time=NOW - 14 * DAY)
    host = sp.add_host(sp.add_user(), hav=False, expavg_credit=0.05,
                       expavg_time=NOW - 14 * DAY)
    team = sp.add_team(expavg_credit=8.0, expavg_time=NOW - 14 * DAY)
    assert us.decay(sp.db, "app_version", CUTOFF, NOW) == 1
    assert us.decay(sp.db, "host", CUTOFF, NOW) == 0
    assert us.decay(sp.db, "team", CUTOFF, NOW) == 1
    assert row(sp, "app_version", av)["expavg_credit"] == 0.0125
    assert row(sp, "host", host)["expavg_credit"] == 0.05
    assert row(sp, "team", team)["expavg_credit"] == 2.0


def test_many_rows_in_batches(sp):
    owner = sp.add_user()
    hosts = [sp.add_host(owner, hav=False, expavg_credit=10.0 + i, expavg_time=NOW - 7 * DAY)
             for i in range(7)]
    assert us.decay(sp.db, "host", CUTOFF, NOW, batch=3) == 7
    assert [row(sp, "host", h)["expavg_credit"] for h in hosts] == [
        (10.0 + i) / 2 for i in range(7)]


def test_a_row_credited_meanwhile_keeps_its_new_average(sp):
    u = sp.add_user(expavg_credit=40.0, expavg_time=NOW - 7 * DAY)
    stale = sp.db.query("SELECT id, expavg_credit, expavg_time FROM user WHERE id = %s", (u,))
    # the validator grants credit between our read and our write
    sp.db.execute("UPDATE user SET expavg_credit = 41.5, expavg_time = %s WHERE id = %s",
                  (NOW - 10, u))
    stale[0]["expavg_credit"], stale[0]["expavg_time"] = us.decayed(stale[0], NOW)
    assert us._write(sp.db, "user", stale, CUTOFF) == 0
    assert (row(sp, "user", u)["expavg_credit"], row(sp, "user", u)["expavg_time"]) \
        == (41.5, NOW - 10)


def test_team_member_counts_are_recounted_for_every_team(sp):
    busy = sp.add_team(nusers=0, expavg_credit=20.0, expavg_time=NOW)
    idle = sp.add_team(nusers=5, expavg_credit=0.0)     # BOINC would not look at it
    right = sp.add_team(nusers=1)
    for _ in range(3):
        sp.add_user(teamid=busy)
    sp.add_user(teamid=right)
    out = io.StringIO()
    assert us.recount_team_members(sp.db, logmod.Log(stream=out)) == 2
    assert [row(sp, "team", t)["nusers"] for t in (busy, idle, right)] == [3, 0, 1]
    text = out.getvalue()
    assert ("[CRITICAL] updating member count for [TEAM#%d]: database has 0 users, "
            "count shows 3" % busy) in text
    assert "[TEAM#%d]: database has 5 users, count shows 0" % idle in text
    assert "[TEAM#%d]" % right not in text


def test_program_with_boincs_options(sp):
    old = time.time() - 2 * DAY
    u = sp.add_user(expavg_credit=64.0, expavg_time=old)
    h = sp.add_host(u, hav=False, expavg_credit=64.0, expavg_time=old)
    t = sp.add_team(expavg_credit=64.0, expavg_time=old, nusers=7)
    before = time.time()
    result = program(sp.made, "update_stats", "--update_users", "-d", "3")
    assert result.returncode == 0, result.stderr
    assert "Updated users" in result.stderr and "Finished" in result.stderr
    assert "Updated hosts" not in result.stderr
    r = row(sp, "user", u)
    assert r["expavg_time"] >= math.floor(before)
    expected = 64.0 * math.exp(-(r["expavg_time"] - old) * math.log(2) / (7 * DAY))
    assert r["expavg_credit"] == pytest.approx(expected, abs=1e-6)
    assert row(sp, "host", h)["expavg_credit"] == 64.0          # not asked for
    assert row(sp, "team", t)["nusers"] == 7

    # --min_age: rows updated less than that long ago stay as they are
    result = program(sp.made, "update_stats", "--min_age", str(3 * DAY))
    assert result.returncode == 0, result.stderr
    assert row(sp, "host", h)["expavg_credit"] == 64.0
    for what in ("users", "hosts", "teams", "app versions"):     # no option: all four
        assert "Updated %s" % what in result.stderr
    assert row(sp, "team", t)["nusers"] == 0

    result = program(sp.made, "update_stats")
    assert result.returncode == 0
    assert row(sp, "host", h)["expavg_credit"] < 64.0


def test_bad_option_and_version(sp):
    result = program(sp.made, "update_stats", "--update_everything")
    assert result.returncode == 1
    assert "unrecognized arguments: --update_everything" in result.stderr
    assert "Traceback" not in result.stderr
    result = program(sp.made, "update_stats", "--version")
    assert result.returncode == 0 and result.stdout.startswith("update_stats ")


def test_stop_daemons_means_no_run(sp):
    u = sp.add_user(expavg_credit=64.0, expavg_time=time.time() - 2 * DAY)
    open(sp.made.config.project_path("stop_daemons"), "w").close()
    result = program(sp.made, "update_stats")
    assert result.returncode == 0
    assert "stop_daemons" in result.stderr
    assert row(sp, "user", u)["expavg_credit"] == 64.0
