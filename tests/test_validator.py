"""The validator framework (sched/validator.py) against a real MariaDB: BOINC's
verdicts, the rows they change, and that nothing is half-done or done twice."""

import os
import subprocess
import time

import pytest

from testenv import ROOT
from validation_helpers import NOW, python_script, vp, vproject_module  # noqa: F401 (fixtures)

from sched import credit as C
from sched import states as S
from sched.validator import TransientError, Validator
from sched.validators.bitwise import BitwiseValidator
from sched.validators.trivial import TrivialValidator

# What BOINC's trivial validator granted the real client's job (db_rows.txt):
# 7.028467 s x 4.3 GFLOPS (the client sent the 1e9 of failed benchmarks)
REFERENCE_CREDIT = 0.06995927800925926


def host_with_owner(vp, teamid=0, **hav):
    user = vp.add_user(teamid=teamid)
    host = vp.add_host(user, hav=False)
    vp.add_hav(host, vp.av_id, **hav)
    return host, user


class Explodes(Validator):
    def init_result(self, result, files):
        raise KeyError("a bug in project code")


class Flaky(Validator):
    def init_result(self, result, files):
        raise TransientError("NFS is down")


class ContentValidator(Validator):
    """Results match when their first output files hold the same text."""

    def init_result(self, result, files):
        with open(files[0].path) as f:
            return f.read()

    def compare_results(self, r1, files1, r2, files2):
        return r1.data == r2.data


def test_reference_job_quorum_one(vp):
    """The real client's job as BOINC's trivial validator left it."""
    host, user = host_with_owner(vp, max_jobs_per_day=500)
    wu = vp.add_wu("refjob_2")
    rid = vp.add_result(wu, "refjob_2_0", hostid=host)
    before = time.time()
    status, log = vp.validate(TrivialValidator)
    assert status == 0, log
    r = vp.result(rid)
    assert (r["validate_state"], r["server_state"], r["outcome"], r["runtime_outlier"]) == (
        S.VALIDATE_STATE_VALID, S.RESULT_SERVER_STATE_OVER, S.RESULT_OUTCOME_SUCCESS, 1)
    assert r["granted_credit"] == pytest.approx(REFERENCE_CREDIT, rel=1e-12)
    w = vp.wu(wu)
    assert (w["need_validate"], w["canonical_resultid"], w["assimilate_state"],
            w["transition_time"], w["error_mask"]) == (0, rid, S.ASSIMILATE_READY, S.INT_MAX, 0)
    assert w["canonical_credit"] == pytest.approx(REFERENCE_CREDIT, rel=1e-12)
    # BOINC's log lines for this job
    assert "[WU#%d refjob_2] handle_wu(): No canonical result yet" % wu in log
    assert "[warning] [RESULT#%d] result has 1e9 flops_estimate" % rid in log
    assert "[RESULT#%d refjob_2_0] Valid; granted 0.069959 credit [HOST#%d]" % (rid, host) in log
    assert ("[HOST#%d AV#%d] [outlier=1] Updating HAV in DB.  pfc.n=0.000000->0.000000"
            % (host, vp.av_id)) in log
    # first credit ever: the average is the credit per day since the job was sent
    h = vp.row("host", host)
    assert h["total_credit"] == pytest.approx(REFERENCE_CREDIT)
    days = (h["expavg_time"] - (NOW - 3600)) / 86400
    assert h["expavg_credit"] == pytest.approx(REFERENCE_CREDIT / days)
    assert before <= h["expavg_time"] <= time.time()
    assert h["avg_turnaround"] == 3540           # received - sent
    u = vp.row("user", user)
    assert (u["total_credit"], u["expavg_credit"]) == pytest.approx(
        (REFERENCE_CREDIT, h["expavg_credit"]))
    # an outlier's run doesn't enter the statistics; reliability and quota do grow
    hav = vp.hav(host)
    assert (hav["pfc_n"], hav["et_n"], hav["turnaround_n"]) == (0, 0, 0)
    assert (hav["consecutive_valid"], hav["max_jobs_per_day"]) == (1, 501)
    av = vp.row("app_version", vp.av_id)
    assert av["pfc_n"] == 0 and av["expavg_credit"] > 0


def test_trusted_speed_feeds_the_statistics(vp):
    host, _ = host_with_owner(vp)
    wu = vp.add_wu("job")
    rid = vp.add_result(wu, "job_0", hostid=host, elapsed_time=100.0, flops_estimate=2e9)
    assert vp.validate(TrivialValidator)[0] == 0
    r = vp.result(rid)
    assert r["runtime_outlier"] == 0
    assert r["granted_credit"] == pytest.approx(100 * 2e9 * C.COBBLESTONE_SCALE)
    hav = vp.hav(host)
    assert (hav["pfc_n"], hav["pfc_avg"]) == (1, pytest.approx(100 * 2e9 / 1e10))
    assert (hav["et_n"], hav["et_avg"]) == (1, pytest.approx(100 / 1e10))
    assert (hav["turnaround_n"], hav["turnaround_avg"]) == (1, 3540)
    av = vp.row("app_version", vp.av_id)
    assert (av["pfc_n"], av["pfc_avg"]) == (1, pytest.approx(20.0))


def test_quorum_of_two_that_agree(vp):
    hosts = [host_with_owner(vp)[0] for _ in range(3)]
    wu = vp.add_wu("pair", min_quorum=2, target_nresults=3)
    r1 = vp.add_result(wu, "pair_0", hostid=hosts[0], files={"out": b"42\n"},
                       flops_estimate=3e9, elapsed_time=50)
    r2 = vp.add_result(wu, "pair_1", hostid=hosts[1], files={"out": b"42\n"},
                       flops_estimate=2e9, elapsed_time=80)
    r3 = vp.add_result(wu, "pair_2", server_state=S.RESULT_SERVER_STATE_UNSENT,
                       outcome=S.RESULT_OUTCOME_INIT, write=False)
    status, log = vp.validate(BitwiseValidator)
    assert status == 0, log
    a, b, c = vp.result(r1), vp.result(r2), vp.result(r3)
    assert a["validate_state"] == b["validate_state"] == S.VALIDATE_STATE_VALID
    # one credit for the quorum: the average of the claims, pegged to the estimate
    claims = [50 * 3e9, 80 * 2e9]
    credit = C.pegged_average(claims, 1e10) * C.COBBLESTONE_SCALE
    assert a["granted_credit"] == b["granted_credit"] == pytest.approx(credit)
    # the first result matched by a majority is canonical; the unsent one isn't needed
    w = vp.wu(wu)
    assert (w["canonical_resultid"], w["assimilate_state"], w["need_validate"]) == (
        r1, S.ASSIMILATE_READY, 0)
    assert w["canonical_credit"] == pytest.approx(credit)
    assert (c["server_state"], c["outcome"]) == (S.RESULT_SERVER_STATE_OVER,
                                                 S.RESULT_OUTCOME_DIDNT_NEED)
    for h in hosts[:2]:
        assert vp.hav(h)["consecutive_valid"] == 1
        assert vp.row("host", h)["total_credit"] == pytest.approx(credit)
    assert vp.row("host", hosts[2])["total_credit"] == 0


def test_two_of_three_the_odd_one_is_invalid(vp):
    odd_host = host_with_owner(vp, consecutive_valid=7, max_jobs_per_day=600)[0]
    good = [host_with_owner(vp)[0] for _ in range(2)]
    wu = vp.add_wu("maj", min_quorum=3, target_nresults=3)
    r_odd = vp.add_result(wu, "maj_0", hostid=odd_host, files={"out": b"41\n"})
    r_a = vp.add_result(wu, "maj_1", hostid=good[0], files={"out": b"42\n"})
    r_b = vp.add_result(wu, "maj_2", hostid=good[1], files={"out": b"42\n"})
    status, log = vp.validate(BitwiseValidator)
    assert status == 0, log
    assert vp.result(r_odd)["validate_state"] == S.VALIDATE_STATE_INVALID
    assert vp.result(r_odd)["granted_credit"] == 0
    assert vp.result(r_odd)["outcome"] == S.RESULT_OUTCOME_SUCCESS
    assert [vp.result(r)["validate_state"] for r in (r_a, r_b)] == [S.VALIDATE_STATE_VALID] * 2
    assert vp.wu(wu)["canonical_resultid"] == r_a
    assert "[RESULT#%d maj_0] Invalid [HOST#%d]" % (r_odd, odd_host) in log
    # the odd host loses its run of valid results and a job of its quota
    hav = vp.hav(odd_host)
    assert (hav["consecutive_valid"], hav["max_jobs_per_day"]) == (0, 599)
    assert vp.row("host", odd_host)["total_credit"] == 0


def test_invalid_result_keeps_quota_at_the_configured_floor(vp):
    # daily_result_quota is 500 in make_project's config.xml
    odd_host = host_with_owner(vp, consecutive_valid=3, max_jobs_per_day=500)[0]
    good = [host_with_owner(vp)[0] for _ in range(2)]
    wu = vp.add_wu("floor", min_quorum=2, target_nresults=3)
    r_odd = vp.add_result(wu, "floor_0", hostid=odd_host, files={"out": b"x"})
    vp.add_result(wu, "floor_1", hostid=good[0], files={"out": b"y"})
    vp.add_result(wu, "floor_2", hostid=good[1], files={"out": b"y"})
    assert vp.validate(BitwiseValidator)[0] == 0
    assert vp.result(r_odd)["validate_state"] == S.VALIDATE_STATE_INVALID
    hav = vp.hav(odd_host)
    assert (hav["consecutive_valid"], hav["max_jobs_per_day"]) == (0, 500)


def test_no_consensus_asks_for_one_more_result(vp):
    hosts = [host_with_owner(vp)[0] for _ in range(2)]
    wu = vp.add_wu("split", min_quorum=2, target_nresults=2)
    rids = [vp.add_result(wu, "split_%d" % i, hostid=h, files={"out": b"%d" % i})
            for i, h in enumerate(hosts)]
    before = int(time.time())
    status, log = vp.validate(BitwiseValidator)
    assert status == 0, log
    for rid in rids:
        r = vp.result(rid)
        assert (r["validate_state"], r["granted_credit"]) == (S.VALIDATE_STATE_INCONCLUSIVE, 0)
    w = vp.wu(wu)
    assert (w["canonical_resultid"], w["target_nresults"], w["need_validate"],
            w["assimilate_state"], w["error_mask"]) == (0, 3, 0, S.ASSIMILATE_INIT, 0)
    assert before <= w["transition_time"] <= time.time()      # the transitioner's turn
    assert vp.row("host", hosts[0])["total_credit"] == 0
    assert "Inconclusive [HOST#%d]" % hosts[0] in log


def test_too_many_successes_fail_the_job(vp):
    hosts = [host_with_owner(vp)[0] for _ in range(3)]
    wu = vp.add_wu("many", min_quorum=2, target_nresults=3, max_success_results=2)
    for i, h in enumerate(hosts):
        vp.add_result(wu, "many_%d" % i, hostid=h, files={"out": b"%d" % i})
    assert vp.validate(BitwiseValidator)[0] == 0
    w = vp.wu(wu)
    assert w["error_mask"] == S.WU_ERROR_TOO_MANY_SUCCESS_RESULTS
    assert w["target_nresults"] == 4 and w["canonical_resultid"] == 0


def test_fewer_viable_than_quorum_only_clears_need_validate(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("wait", min_quorum=2, target_nresults=2, transition_time=NOW + 999)
    rid = vp.add_result(wu, "wait_0", hostid=host)
    vp.add_result(wu, "wait_1", server_state=S.RESULT_SERVER_STATE_IN_PROGRESS,
                  outcome=S.RESULT_OUTCOME_INIT)
    assert vp.validate(BitwiseValidator)[0] == 0
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_INIT
    w = vp.wu(wu)
    assert (w["need_validate"], w["transition_time"], w["target_nresults"]) == (0, NOW + 999, 2)


def test_missing_output_file_is_a_validate_error(vp):
    host = host_with_owner(vp, consecutive_valid=4)[0]
    wu = vp.add_wu("lost")
    rid = vp.add_result(wu, "lost_0", hostid=host, files={"out": None})
    before = int(time.time())
    status, log = vp.validate(BitwiseValidator)
    assert status == 0, log
    r = vp.result(rid)
    assert (r["outcome"], r["validate_state"], r["granted_credit"]) == (
        S.RESULT_OUTCOME_VALIDATE_ERROR, S.VALIDATE_STATE_INVALID, 0)
    w = vp.wu(wu)
    assert (w["canonical_resultid"], w["need_validate"]) == (0, 0)
    assert before <= w["transition_time"] <= time.time()
    assert "check_set: init_result([RESULT#%d lost_0]) failed" % rid in log
    assert vp.hav(host)["consecutive_valid"] == 0


def test_bad_xml_doc_in_is_a_validate_error(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("bad")
    rid = vp.add_result(wu, "bad_0", hostid=host)
    vp.db.execute("UPDATE result SET xml_doc_in='<result><file_ref><open_name>o</open_name>"
                  "</file_ref></result>' WHERE id=%s", (rid,))
    assert vp.validate(BitwiseValidator)[0] == 0
    assert vp.result(rid)["outcome"] == S.RESULT_OUTCOME_VALIDATE_ERROR


def test_transient_error_retries_in_six_hours(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("nfs")
    rid = vp.add_result(wu, "nfs_0", hostid=host)
    before = int(time.time())
    status, log = vp.validate(Flaky)
    assert status == 0, log
    r = vp.result(rid)
    assert (r["validate_state"], r["outcome"]) == (S.VALIDATE_STATE_INIT, S.RESULT_OUTCOME_SUCCESS)
    w = vp.wu(wu)
    assert w["need_validate"] == 0 and w["canonical_resultid"] == 0
    assert before + 6 * 3600 <= w["transition_time"] <= time.time() + 6 * 3600
    assert "transient failure" in log
    # an earlier transition time is kept
    vp.db.execute("UPDATE workunit SET need_validate=1, transition_time=%s", (NOW + 60,))
    assert vp.validate(Flaky)[0] == 0
    assert vp.wu(wu)["transition_time"] == NOW + 60
    # when the files are back, the job validates
    vp.db.execute("UPDATE workunit SET need_validate=1")
    assert vp.validate(TrivialValidator)[0] == 0
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_VALID


def test_result_returned_after_the_canonical_one(vp):
    """check_pair: each new result is compared with the canonical result."""
    hosts = [host_with_owner(vp, consecutive_valid=2)[0] for _ in range(3)]
    wu = vp.add_wu("late", min_quorum=1, target_nresults=3, canonical_resultid=0)
    canon = vp.add_result(wu, "late_0", hostid=hosts[0], files={"out": b"ok"},
                          validate_state=S.VALIDATE_STATE_VALID, granted_credit=12.5)
    same = vp.add_result(wu, "late_1", hostid=hosts[1], files={"out": b"ok"})
    other = vp.add_result(wu, "late_2", hostid=hosts[2], files={"out": b"not ok"},
                          validate_state=S.VALIDATE_STATE_INCONCLUSIVE)
    vp.db.execute("UPDATE workunit SET canonical_resultid=%s, canonical_credit=12.5, "
                  "assimilate_state=%s", (canon, S.ASSIMILATE_DONE))
    before = int(time.time())
    status, log = vp.validate(ContentValidator)
    assert status == 0, log
    assert "Already has canonical result %d" % canon in log
    s, o = vp.result(same), vp.result(other)
    assert (s["validate_state"], s["granted_credit"]) == (S.VALIDATE_STATE_VALID, 12.5)
    assert (o["validate_state"], o["granted_credit"]) == (S.VALIDATE_STATE_INVALID, 0)
    assert "pair_check() matched: setting result to valid" in log
    assert "pair_check() didn't match: setting result to invalid" in log
    assert vp.row("host", hosts[1])["total_credit"] == 12.5
    assert vp.hav(hosts[1])["consecutive_valid"] == 3
    assert vp.hav(hosts[2])["consecutive_valid"] == 0
    w = vp.wu(wu)
    assert (w["canonical_resultid"], w["assimilate_state"], w["need_validate"]) == (
        canon, S.ASSIMILATE_DONE, 0)
    assert before <= w["transition_time"] <= time.time()
    assert vp.result(canon)["granted_credit"] == 12.5       # untouched


def test_pair_check_with_unreadable_canonical_is_a_validate_error(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("gone")
    canon = vp.add_result(wu, "gone_0", files={"out": None},
                          validate_state=S.VALIDATE_STATE_VALID)
    new = vp.add_result(wu, "gone_1", hostid=host)
    vp.db.execute("UPDATE workunit SET canonical_resultid=%s", (canon,))
    assert vp.validate(BitwiseValidator)[0] == 0
    assert vp.result(new)["outcome"] == S.RESULT_OUTCOME_VALIDATE_ERROR


def test_mod_handles_only_its_slice(vp):
    host = host_with_owner(vp)[0]
    wus = [vp.add_wu("m%d" % i) for i in range(6)]
    for wu in wus:
        vp.add_result(wu, "m%d_0" % wu, hostid=host)
    assert vp.validate(TrivialValidator, "--mod", 3, 1)[0] == 0
    done = {wu for wu in wus if vp.wu(wu)["need_validate"] == 0}
    assert done == {wu for wu in wus if wu % 3 == 1} and done
    assert vp.validate(TrivialValidator, "--min_wu_id", 2, "--max_wu_id", 3)[0] == 0
    done = {wu for wu in wus if vp.wu(wu)["need_validate"] == 0}
    assert done == {wu for wu in wus if wu % 3 == 1 or 2 <= wu <= 3}


def test_one_pass_n_wu_and_wu_id(vp):
    host = host_with_owner(vp)[0]
    wus = [vp.add_wu("n%d" % i) for i in range(4)]
    for wu in wus:
        vp.add_result(wu, "n%d_0" % wu, hostid=host)
    assert vp.validate(TrivialValidator, "--one_pass_N_WU", 2)[0] == 0
    assert [vp.wu(w)["need_validate"] for w in wus] == [0, 0, 1, 1]
    # --wu_id validates that WU even if nobody asked for it
    vp.db.execute("UPDATE workunit SET need_validate=0 WHERE id=%s", (wus[3],))
    assert vp.validate(TrivialValidator, "--wu_id", wus[3])[0] == 0
    assert vp.wu(wus[3])["canonical_resultid"] > 0
    assert vp.wu(wus[2])["need_validate"] == 1


def test_dry_run_changes_nothing(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("dry")
    rid = vp.add_result(wu, "dry_0", hostid=host)
    before = (vp.wu(wu), vp.result(rid), vp.row("host", host), vp.hav(host))
    status, log = vp.validate(TrivialValidator, "--dry_run")
    assert status == 0, log
    assert "Valid; granted 0.069959 credit" in log and "DB not updated (dry run)" in log
    assert (vp.wu(wu), vp.result(rid), vp.row("host", host), vp.hav(host)) == before
    assert vp.row("app_version", vp.av_id)["expavg_credit"] == 0


def test_a_bug_in_project_code_stops_the_daemon_and_changes_nothing(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("bug")
    rid = vp.add_result(wu, "bug_0", hostid=host)
    status, log = vp.validate(Explodes)
    assert status == 1
    assert "KeyError" in log and "a bug in project code" in log
    assert vp.wu(wu)["need_validate"] == 1
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_INIT


class Meddler(Validator):
    """Changes another result of the WU while the validator reads files, as
    the scheduler could."""

    def init_result(self, result, files):
        db = self.daemon.db
        db.execute("UPDATE result SET server_state=%s, outcome=%s WHERE workunitid=%s AND "
                   "server_state=%s", (S.RESULT_SERVER_STATE_IN_PROGRESS, S.RESULT_OUTCOME_INIT,
                                       result.workunitid, S.RESULT_SERVER_STATE_UNSENT))


def test_a_job_that_changed_meanwhile_is_left_for_the_next_pass(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("race", target_nresults=2)
    rid = vp.add_result(wu, "race_0", hostid=host)
    sent = vp.add_result(wu, "race_1", server_state=S.RESULT_SERVER_STATE_UNSENT,
                         outcome=S.RESULT_OUTCOME_INIT, write=False)
    status, log = vp.validate(Meddler)
    assert status == 0, log
    assert "changed while being validated" in log
    assert vp.wu(wu)["need_validate"] == 1
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_INIT
    assert vp.row("host", host)["total_credit"] == 0
    # next time round it is done, and the result now in progress stays so
    assert vp.validate(TrivialValidator)[0] == 0
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_VALID
    assert vp.result(sent)["server_state"] == S.RESULT_SERVER_STATE_IN_PROGRESS
    assert vp.row("host", host)["total_credit"] > 0


def test_canonical_result_missing_clears_the_request(vp):
    wu = vp.add_wu("orphan", canonical_resultid=999)
    vp.add_result(wu, "orphan_0")
    status, log = vp.validate(TrivialValidator)
    assert status == 0
    assert "Can't find canonical result 999" in log
    assert vp.wu(wu)["need_validate"] == 0


def test_options_and_operator_errors(vp):
    status, log = vp.validate(TrivialValidator, "--app", "nosuchapp")
    assert status == 1 and "can't find app nosuchapp" in log
    status, log = vp.validate(TrivialValidator, "--credit_from_runtime",
                              "--max_granted_credit", 0)
    assert status == 1 and "credit_from_runtime" in log
    assert vp.validate(TrivialValidator, "--mod", 2, 5)[0] == 1


def test_credit_options(vp):
    host, user = host_with_owner(vp)

    def job(name, **wu):
        wuid = vp.add_wu(name, **wu)
        return wuid, vp.add_result(wuid, name + "_0", hostid=host, elapsed_time=100,
                                   flops_estimate=2e9, opaque=0)

    claim = 100 * 2e9 * C.COBBLESTONE_SCALE
    wu, rid = job("nc")
    assert vp.validate(TrivialValidator, "--no_credit")[0] == 0
    assert vp.result(rid)["granted_credit"] == 0
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_VALID
    assert vp.wu(wu)["canonical_credit"] == 0
    assert vp.row("host", host)["total_credit"] == 0

    wu, rid = job("fw", canonical_credit=3.25)
    assert vp.validate(TrivialValidator, "--credit_from_wu")[0] == 0
    assert vp.result(rid)["granted_credit"] == 3.25

    # a claim above the limit is ignored (BOINC): the job's estimate is granted
    wu, rid = job("cap")
    assert vp.validate(TrivialValidator, "--max_granted_credit", 0.1)[0] == 0
    estimate = 1e10 * C.COBBLESTONE_SCALE
    assert vp.result(rid)["granted_credit"] == pytest.approx(estimate)
    assert estimate < 0.1 < claim
    # ... and whatever is granted stays below it
    wu, rid = job("cap2")
    assert vp.validate(TrivialValidator, "--max_granted_credit", 0.01)[0] == 0
    assert vp.result(rid)["granted_credit"] == pytest.approx(0.01)

    wu, rid = job("rt")
    assert vp.validate(TrivialValidator, "--credit_from_runtime")[0] == 0
    assert vp.result(rid)["granted_credit"] == pytest.approx(claim)

    total = vp.row("host", host)["total_credit"]
    assert total == pytest.approx(3.25 + estimate + 0.01 + claim)
    assert vp.row("user", user)["total_credit"] == pytest.approx(total)


class Claims(Validator):
    def init_result(self, result, files):
        result.claimed_credit = 7.0


def test_post_assigned_credit(vp):
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("pa")
    rid = vp.add_result(wu, "pa_0", hostid=host, claimed_credit=99)
    assert vp.validate(Claims, "--post_assigned_credit")[0] == 0
    assert vp.result(rid)["granted_credit"] == 7.0
    wu = vp.add_wu("pa2")
    rid = vp.add_result(wu, "pa2_0", hostid=host, claimed_credit=99)
    assert vp.validate(TrivialValidator, "--grant_claimed_credit")[0] == 0
    # BOINC never takes claimed_credit from the DB (the client could have set it)
    assert vp.result(rid)["granted_credit"] == 0


def test_update_credited_job(vp):
    host, user = host_with_owner(vp)
    wu = vp.add_wu("cj", opaque=4242)
    vp.add_result(wu, "cj_0", hostid=host)
    assert vp.validate(TrivialValidator, "--update_credited_job")[0] == 0
    assert vp.db.query("SELECT userid, workunitid FROM credited_job") == [
        {"userid": user, "workunitid": 4242}]


def test_check_punitive_limits_hosts_with_client_errors(vp):
    bad, _ = host_with_owner(vp, max_jobs_per_day=200, n_jobs_today=5)
    good, _ = host_with_owner(vp)
    wu = vp.add_wu("pun", min_quorum=1, target_nresults=2)
    vp.add_result(wu, "pun_0", hostid=bad, outcome=S.RESULT_OUTCOME_CLIENT_ERROR)
    vp.add_result(wu, "pun_1", hostid=good)
    status, log = vp.validate(TrivialValidator, "--check_punitive")
    assert status == 0, log
    assert "punishing host %d" % bad in log
    hav = vp.hav(bad)
    assert (hav["max_jobs_per_day"], hav["n_jobs_today"]) == (1, 1)
    assert vp.wu(wu)["canonical_resultid"] > 0


def test_missing_host_app_version_is_made_or_taken_over(vp):
    user = vp.add_user()
    fresh = vp.add_host(user, hav=False)
    upgraded = vp.add_host(user, hav=False)
    old_av = vp.add_app_version(90)
    vp.add_hav(upgraded, old_av, consecutive_valid=9, max_jobs_per_day=77)
    wu = vp.add_wu("hav", min_quorum=2, target_nresults=2)
    vp.add_result(wu, "hav_0", hostid=fresh)
    vp.add_result(wu, "hav_1", hostid=upgraded)
    assert vp.validate(TrivialValidator)[0] == 0
    assert vp.hav(fresh)["consecutive_valid"] == 1
    # the host's record with the older version now belongs to the new one
    assert vp.hav(upgraded, old_av) is None
    assert (vp.hav(upgraded)["consecutive_valid"], vp.hav(upgraded)["max_jobs_per_day"]) == (
        10, 78)


def test_unreplicated_job_doesnt_count_as_consecutive_valid(vp):
    vp.db.execute("UPDATE app SET target_nresults=2")
    host = host_with_owner(vp, consecutive_valid=5)[0]
    wu = vp.add_wu("adaptive", min_quorum=1, target_nresults=1)
    vp.add_result(wu, "adaptive_0", hostid=host)
    assert vp.validate(TrivialValidator)[0] == 0
    assert vp.hav(host)["consecutive_valid"] == 5


def test_many_jobs_in_batches(vp):
    """More WUs than one query and one write chunk take."""
    host = host_with_owner(vp)[0]
    rows = []
    for i in range(1200):
        rows.append(vp.add_wu("b%d" % i))
    vp.db.execute(
        "INSERT INTO result (create_time, workunitid, server_state, outcome, name, "
        "xml_doc_in, appid, app_version_id, hostid, sent_time, received_time, elapsed_time, "
        "flops_estimate, cpu_time, report_deadline, batch, file_delete_state, validate_state, "
        "claimed_credit, granted_credit, opaque, random, app_version_num, exit_status, teamid, "
        "priority, runtime_outlier, peak_working_set_size, peak_swap_size, peak_disk_usage, "
        "client_state, userid) SELECT %s, id, 5, 1, CONCAT(name, '_0'), '', appid, %s, %s, "
        "%s, %s, 100, 2e9, 90, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 5, 0 "
        "FROM workunit", (NOW, vp.av_id, host, NOW - 3600, NOW - 60))
    status, log = vp.validate(TrivialValidator)
    assert status == 0, log[-2000:]
    assert vp.db.scalar("SELECT COUNT(*) FROM workunit WHERE need_validate=0 AND "
                        "canonical_resultid > 0") == 1200
    assert vp.db.scalar("SELECT COUNT(*) FROM result WHERE validate_state=1") == 1200
    claim = 100 * 2e9 * C.COBBLESTONE_SCALE
    assert vp.row("host", host)["total_credit"] == pytest.approx(1200 * claim)
    assert vp.hav(host)["consecutive_valid"] == 1200


PROJECT_VALIDATOR = '''import os, sys; sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sched.validator import InvalidResult, Validator, run


class LastWord(Validator):
    def add_arguments(self, parser):
        parser.add("min_words", type=int, default=1)

    def init_result(self, result, files):
        with open(files[0].path) as f:
            words = f.read().split()
        if len(words) < self.daemon.args.min_words:
            raise InvalidResult("too short")
        return words[-1]

    def compare_results(self, r1, files1, r2, files2):
        return r1.data == r2.data


run(LastWord)
'''


def test_a_project_validator_in_bin(vp):
    """The documented way to write one: a class and run() in the project's bin/."""
    vp.install_script("vtest_lastword", python_script(PROJECT_VALIDATOR))
    hosts = [host_with_owner(vp)[0] for _ in range(3)]
    wu = vp.add_wu("lw", min_quorum=2, target_nresults=3)
    a = vp.add_result(wu, "lw_0", hostid=hosts[0], files={"out": b"answer: 42\n"})
    b = vp.add_result(wu, "lw_1", hostid=hosts[1], files={"out": b"42\n"})
    c = vp.add_result(wu, "lw_2", hostid=hosts[2], files={"out": b"the answer is 41\n"})
    out = subprocess.run([os.path.join(vp.dir, "bin", "vtest_lastword"), "--app", "worker",
                          "--one_pass", "--min_words", "2"], cwd=vp.tmp_dir,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # b is too short: a VALIDATE_ERROR; of a and c nobody agrees: no quorum of 2
    assert vp.result(b)["outcome"] == S.RESULT_OUTCOME_VALIDATE_ERROR
    assert [vp.result(r)["validate_state"] for r in (a, c)] == [S.VALIDATE_STATE_INCONCLUSIVE] * 2
    out = subprocess.run([os.path.join(vp.dir, "bin", "vtest_lastword"), "--help"],
                         cwd=vp.tmp_dir, capture_output=True, text=True)
    assert out.returncode == 0 and "--min_words" in out.stdout


def test_transient_retry_comes_back_through_the_transitioner(vp):
    """The results of a WU whose check met a transient error stay INIT, so the
    transitioner asks for validation again when the retry time comes."""
    host = host_with_owner(vp)[0]
    wu = vp.add_wu("again", delay_bound=3600)
    rid = vp.add_result(wu, "again_0", hostid=host)
    assert vp.validate(Flaky)[0] == 0
    assert vp.wu(wu)["need_validate"] == 0
    vp.db.execute("UPDATE workunit SET transition_time=%s WHERE id=%s", (NOW - 1, wu))  # 6 h on
    out = subprocess.run([os.path.join(ROOT, "bin", "transitioner"), "--one_pass"],
                         cwd=vp.tmp_dir, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "BOINC_PROJECT_DIR"})
    assert out.returncode == 0, out.stderr
    assert vp.wu(wu)["need_validate"] == 1
    assert vp.validate(TrivialValidator)[0] == 0
    assert vp.result(rid)["validate_state"] == S.VALIDATE_STATE_VALID
    assert vp.wu(wu)["canonical_resultid"] == rid
