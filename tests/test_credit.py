"""sched/credit.py: BOINC's averages and credit formulas, and granting credit
to hosts, users and teams in a real database."""

import math
import statistics
import time
from types import SimpleNamespace

import pytest

from validation_helpers import NOW, vp, vproject_module  # noqa: F401 (fixtures)

from sched import credit as C
from sched import log as logmod
from sched import states as S
from sched.validators.trivial import TrivialValidator

DAY = 86400
WEEK = 7 * DAY


# ------------------------------------------------------------ update_average

def test_first_average_is_work_per_day_since_the_work_started():
    avg, t = C.update_average(NOW, NOW - 2 * DAY, 10.0, WEEK, 0.0, 0.0)
    assert (avg, t) == (pytest.approx(5.0), NOW)
    assert C.update_average(NOW, NOW - DAY, 0.0, WEEK, 0.0, 0.0) == (0.0, NOW)


def test_average_halves_in_a_week_without_work():
    avg, t = C.update_average(NOW + WEEK, 0, 0.0, WEEK, 100.0, NOW)
    assert (avg, t) == (pytest.approx(50.0), NOW + WEEK)
    avg, _ = C.update_average(NOW + 2 * WEEK, 0, 0.0, WEEK, 100.0, NOW)
    assert avg == pytest.approx(25.0)


def test_new_work_counts_as_spread_since_the_last_update():
    # one day later, 7 credits: old rate decays by 2^(-1/7), the new rate is
    # 7 credits/day, weighted by what the old one lost
    w = 2 ** (-1 / 7)
    avg, _ = C.update_average(NOW + DAY, NOW - 5 * DAY, 7.0, WEEK, 20.0, NOW)
    assert avg == pytest.approx(20.0 * w + (1 - w) * 7.0)


def test_update_at_the_same_instant_uses_the_limit():
    avg, _ = C.update_average(NOW, 0, 7.0, WEEK, 20.0, NOW)
    assert avg == pytest.approx(20.0 + math.log(2) * 7.0 * DAY / WEEK)
    # a clock going backwards counts as no time at all
    assert C.update_average(NOW - 10, 0, 7.0, WEEK, 20.0, NOW)[0] == pytest.approx(avg)


# ------------------------------------------------------------------- averages

def test_average_is_a_mean_then_exponential():
    a = C.Average()
    samples = [1.0, 2.0, 3.0, 6.0]
    for x in samples:
        assert a.update(x, 20, 0.01, 10) is False
    assert (a.n, a.get_avg()) == (4, pytest.approx(3.0))
    b = C.Average(25, 10.0)                 # past the threshold: weight 0.01
    b.update(20.0, 20, 0.01, 10)
    assert (b.n, b.avg) == (26, pytest.approx(10.1))


def test_average_caps_big_samples_and_ignores_negative_ones():
    a = C.Average(3, 2.0)
    assert a.update(100.0, 20, 0.01, 10) is True        # counted as 20
    assert a.avg == pytest.approx(2.0 + (20.0 - 2.0) / 4)
    assert a.update(-1.0, 20, 0.01, 10) is True
    assert a.n == 4


def test_average_var_tracks_the_variance():
    a = C.AverageVar()
    samples = [3.0, 5.0, 4.0, 10.0, 7.0]
    for x in samples:
        a.update_var(x, 20, 0.01, 10)
    assert a.avg == pytest.approx(statistics.mean(samples))
    assert a.var == pytest.approx(statistics.pvariance(samples))


def test_low_and_pegged_averages():
    assert C.low_average([4.0]) == 4.0
    # each value weighted by the sum of the others
    assert C.low_average([1.0, 3.0]) == pytest.approx((1 * 3 + 3 * 1) / (1 * 4))
    assert C.low_average([1.0, 1.0, 100.0]) < statistics.mean([1.0, 1.0, 100.0]) / 2
    assert C.pegged_average([5.0], 1.0) == 5.0
    w1, w2 = 1 / (0.1 * 10 + 0), 1 / (0.1 * 10 + 10)
    assert C.pegged_average([10.0, 20.0], 10.0) == pytest.approx((w1 * 10 + w2 * 20) / (w1 + w2))


# ------------------------------------------------------------ claimed credit

def _wu(**kw):
    values = dict(id=1, name="wu", rsc_fpops_est=1e10, rsc_fpops_bound=1e13)
    values.update(kw)
    return SimpleNamespace(**values)


def _result(rid=1, **kw):
    values = dict(id=rid, elapsed_time=100.0, cpu_time=90.0, flops_estimate=2e9,
                  runtime_outlier=False, app_version_id=1, received_time=NOW,
                  sent_time=NOW - 1000, validate_state=S.VALIDATE_STATE_VALID)
    values.update(kw)
    return SimpleNamespace(**values)


APP = SimpleNamespace(name="worker", min_avg_pfc=1.0, host_scale_check=0)
LOG = logmod.Log(level=0)


def _av(n=0, avg=0.0, scale=0.0):
    return C.AppVersionStats(dict(id=1, appid=1, pfc_n=n, pfc_avg=avg, pfc_scale=scale,
                                  expavg_credit=0, expavg_time=0))


def test_pfc_without_host_record_is_the_estimate():
    pfc, mode = C.get_pfc(_result(), _wu(), APP, {}.get, None, LOG)
    assert (pfc, mode) == (1e10, C.PFC_MODE_WU_EST)


def test_pfc_scaled_by_version_and_host():
    av = _av(n=200, avg=30.0, scale=0.5)
    hav = C.HostAppVersion.blank(7, 1)
    hav.pfc = C.Average(50, 20.0)
    r = _result()
    pfc, mode = C.get_pfc(r, _wu(), APP, {1: av}.get, hav, LOG)
    assert mode == C.PFC_MODE_NORMAL
    assert pfc == pytest.approx(100 * 2e9 * 0.5 * (30.0 / 20.0))
    # the sample entered both averages (PFC / estimate = 20)
    assert av.pfc_samples == [pytest.approx(20.0)] and hav.pfc.n == 51
    assert av.credit_samples == [(pytest.approx(pfc * C.COBBLESTONE_SCALE), NOW - 1000)]
    # the host scale is capped at 10
    hav.pfc = C.Average(50, 1.0)
    pfc, _ = C.get_pfc(_result(), _wu(), APP, {1: av}.get, hav, LOG)
    assert pfc == pytest.approx(100 * 2e9 * 0.5 * 10)


def test_pfc_of_untrusted_speed_or_time():
    hav = C.HostAppVersion.blank(7, 1)
    r = _result(flops_estimate=0, elapsed_time=0)
    pfc, mode = C.get_pfc(r, _wu(), APP, {1: _av()}.get, hav, LOG)
    assert (r.elapsed_time, r.flops_estimate, r.runtime_outlier) == (90.0, C.AVG_CPU_FPOPS, True)
    assert (pfc, mode) == (90.0 * C.AVG_CPU_FPOPS, C.PFC_MODE_APPROX)
    assert hav.pfc.n == hav.et.n == 0              # outliers stay out of the statistics


def test_pfc_of_anonymous_platform():
    hav = C.HostAppVersion.blank(7, 1000002)
    r = _result(app_version_id=S.ANON_PLATFORM_CPU)
    assert C.get_pfc(r, _wu(), APP, {}.get, hav, LOG) == (1e10, C.PFC_MODE_APPROX)
    hav.pfc = C.Average(20, 40.0)
    app = SimpleNamespace(name="w", min_avg_pfc=10.0, host_scale_check=0)
    pfc, _ = C.get_pfc(_result(app_version_id=-2), _wu(), app, {}.get, hav, LOG)
    assert pfc == pytest.approx(100 * 2e9 * 10.0 / 40.0)


def test_assign_credit_set_weights_a_lone_normal_claim_double():
    av = _av(n=200, avg=20.0, scale=1.0)
    normal_hav = C.HostAppVersion.blank(1, 1)
    normal_hav.pfc = C.Average(50, 20.0)
    plain_hav = C.HostAppVersion.blank(2, 1)
    results = [_result(1, elapsed_time=100.0), _result(2, elapsed_time=300.0),
               _result(3, validate_state=S.VALIDATE_STATE_INVALID, elapsed_time=9999.0)]
    credit = C.assign_credit_set(_wu(), results, APP, {1: av}.get,
                                 [normal_hav, plain_hav, None], 1e9, LOG)
    normal, approx = 100 * 2e9, 300 * 2e9
    expect = C.pegged_average([approx, normal, normal], 1e10) * C.COBBLESTONE_SCALE
    assert credit == pytest.approx(expect)
    # two or more normal claims: only they count
    h2 = C.HostAppVersion.blank(2, 1)
    h2.pfc = C.Average(50, 20.0)
    credit = C.assign_credit_set(_wu(), results[:2], APP, {1: _av(200, 20.0, 1.0)}.get,
                                 [normal_hav, h2], 1e9, LOG)
    assert credit == pytest.approx(C.pegged_average([normal, approx], 1e10)
                                   * C.COBBLESTONE_SCALE)


def test_assign_credit_set_caps_at_the_bound():
    hav = C.HostAppVersion.blank(1, 1)
    credit = C.assign_credit_set(_wu(rsc_fpops_bound=5e10), [_result()], APP, {1: _av()}.get,
                                 [hav], 0, LOG)
    assert credit == pytest.approx(5e10 * C.COBBLESTONE_SCALE)


def test_credit_from_runtime_is_a_low_average():
    results = [_result(1, elapsed_time=100.0), _result(2, elapsed_time=200.0, flops_estimate=1e9)]
    c = C.credit_from_runtime(_wu(), results, 1e6, LOG)
    claims = [100 * 2e9 * C.COBBLESTONE_SCALE, 200 * C.AVG_CPU_FPOPS * C.COBBLESTONE_SCALE]
    assert c == pytest.approx(C.low_average(claims))
    assert C.credit_from_runtime(_wu(), results, 1e-9, LOG) == 0.0


# ------------------------------------------------------------ in the database

def test_grants_reach_host_user_and_team_with_boincs_decay(vp):
    team = vp.add_team(total_credit=1000, expavg_credit=10, expavg_time=NOW - WEEK)
    user = vp.add_user(teamid=team, total_credit=500, expavg_credit=40,
                       expavg_time=NOW - 2 * WEEK)
    host = vp.add_host(user, total_credit=100, expavg_credit=20, expavg_time=NOW - DAY)
    other = vp.add_host(user)                   # a first grant
    now = time.time()
    with vp.db.transaction():
        ledger = C.Ledger(vp.db, now=now)
        ledger.load_hosts([host, other])
        ledger.load_owners()
        assert ledger.grant(host, NOW - 3600, 3.0)
        assert ledger.grant(host, NOW - 1800, 2.0)
        assert ledger.grant(other, NOW - 7200, 1.0)
        assert not ledger.grant(12345, NOW, 1.0)
        ledger.write()

    def expect(avg, t, grants):
        for start, c in grants:
            avg, t = C.update_average(now, start, c, WEEK, avg, t)
        return avg

    h = vp.row("host", host)
    assert h["total_credit"] == pytest.approx(105.0)
    assert h["expavg_credit"] == pytest.approx(
        expect(20, NOW - DAY, [(NOW - 3600, 3.0), (NOW - 1800, 2.0)]))
    assert h["expavg_time"] == pytest.approx(now)
    # a week without credit halves the old average (and the new credit adds on)
    assert h["expavg_credit"] == pytest.approx(20 * 2 ** (-(now - (NOW - DAY)) / WEEK)
                                               + (1 - 2 ** (-(now - (NOW - DAY)) / WEEK))
                                               * 3.0 / ((now - (NOW - DAY)) / DAY)
                                               + math.log(2) * 2.0 * DAY / WEEK, rel=1e-6)
    o = vp.row("host", other)
    assert o["total_credit"] == 1.0
    assert o["expavg_credit"] == pytest.approx(1.0 / ((now - (NOW - 7200)) / DAY))
    u = vp.row("user", user)
    assert u["total_credit"] == pytest.approx(506.0)
    assert u["expavg_credit"] == pytest.approx(
        expect(40, NOW - 2 * WEEK, [(NOW - 3600, 3.0), (NOW - 1800, 2.0), (NOW - 7200, 1.0)]))
    t = vp.row("team", team)
    assert t["total_credit"] == pytest.approx(1006.0)
    assert t["expavg_credit"] == pytest.approx(
        expect(10, NOW - WEEK, [(NOW - 3600, 3.0), (NOW - 1800, 2.0), (NOW - 7200, 1.0)]))


def test_grant_credit_for_other_programs(vp):
    user = vp.add_user()
    host = vp.add_host(user)
    start = time.time() - DAY
    assert C.grant_credit(vp.db, host, start, 2.0)
    assert vp.row("host", host)["total_credit"] == 2.0
    u = vp.row("user", user)
    assert u["expavg_credit"] == pytest.approx(2.0 / ((u["expavg_time"] - start) / DAY))
    assert not C.grant_credit(vp.db, 999, NOW, 1.0)


def test_credit_by_app(vp):
    path = vp.cfg.path
    with open(path) as f:
        original = f.read()
    try:
        with open(path, "w") as f:
            f.write(original.replace("<config>", "<config>\n        <credit_by_app/>", 1))
        team = vp.add_team()
        user = vp.add_user(teamid=team)
        loner = vp.add_user()
        hosts = [vp.add_host(user), vp.add_host(user), vp.add_host(loner)]
        for i, h in enumerate(hosts):
            wu = vp.add_wu("cba%d" % i)
            vp.add_result(wu, "cba%d_0" % i, hostid=h, elapsed_time=100, flops_estimate=2e9)
        status, log = vp.validate(TrivialValidator)
        assert status == 0, log
    finally:
        with open(path, "w") as f:
            f.write(original)
    c = 100 * 2e9 * C.COBBLESTONE_SCALE
    cu = {r["userid"]: r for r in vp.db.query("SELECT * FROM credit_user")}
    assert set(cu) == {user, loner}
    assert (cu[user]["njobs"], cu[user]["total"], cu[user]["appid"]) == (2, pytest.approx(2 * c),
                                                                         vp.app_id)
    # a new row's average starts at its creation: the limit formula
    assert cu[loner]["expavg"] == pytest.approx(math.log(2) * c * DAY / WEEK)
    ct = {r["teamid"]: r for r in vp.db.query("SELECT * FROM credit_team")}
    assert set(ct) == {team, 0}                 # "no team" is kept too
    assert (ct[team]["njobs"], ct[0]["njobs"]) == (2, 1)
    # and again: the rows are updated, not duplicated
    wu = vp.add_wu("cba_more")
    vp.add_result(wu, "cba_more_0", hostid=hosts[0], elapsed_time=100, flops_estimate=2e9)
    with open(path, "w") as f:
        f.write(original.replace("<config>", "<config>\n        <credit_by_app/>", 1))
    try:
        assert vp.validate(TrivialValidator)[0] == 0
    finally:
        with open(path, "w") as f:
            f.write(original)
    row = vp.db.query_one("SELECT * FROM credit_user WHERE userid=%s", (user,))
    assert (row["njobs"], row["total"]) == (3, pytest.approx(3 * c))
    assert vp.db.scalar("SELECT COUNT(*) FROM credit_user") == 2


def test_app_version_statistics_survive_a_concurrent_writer(vp):
    avs = C.load_app_versions(vp.db, appid=vp.app_id)
    av = avs[vp.av_id]
    av.pfc_samples += [10.0, 30.0]
    av.credit_samples += [(1.0, NOW - 100)]
    # someone else (another validator) folds in a sample meanwhile
    vp.db.execute("UPDATE app_version SET pfc_n=1, pfc_avg=50, expavg_credit=3, "
                  "expavg_time=%s WHERE id=%s", (NOW, vp.av_id))
    C.write_modified_app_versions(vp.db, avs.values(), now=NOW + 10)
    row = vp.row("app_version", vp.av_id)
    assert (row["pfc_n"], row["pfc_avg"]) == (3, pytest.approx((50 + 10 + 30) / 3))
    assert row["expavg_credit"] == pytest.approx(
        C.update_average(NOW + 10, NOW - 100, 1.0, WEEK, 3.0, NOW)[0])
    assert not av.dirty


def test_bulk_update_keeps_doubles_exact(vp):
    user = vp.add_user()
    hosts = [vp.add_host(user, total_credit=1.5) for _ in range(4)]
    values = [0.06995927800925926, 1e15 + 0.5, 1.2345678901234567e-05, 7.028467e-300]
    rows = [dict(id=h, expavg_credit=x, total_credit=x) for h, x in zip(hosts, values)]
    C.bulk_update(vp.db, "host", ("id",), rows, set_cols=("expavg_credit",),
                  add_cols=("total_credit",), chunk=3)
    got = vp.db.query("SELECT id, expavg_credit, total_credit FROM host ORDER BY id")
    assert [g["expavg_credit"] for g in got] == values
    assert [g["total_credit"] for g in got] == [1.5 + x for x in values]
    # composite keys
    vp.add_hav(hosts[0], 77)
    C.bulk_update(vp.db, "host_app_version", ("host_id", "app_version_id"),
                  [dict(host_id=hosts[0], app_version_id=77, pfc_avg=2.25)],
                  set_cols=("pfc_avg",))
    assert vp.hav(hosts[0], 77)["pfc_avg"] == 2.25
    assert vp.hav(hosts[0])["pfc_avg"] == 0
