"""bin/script_validator with real scripts in the project's bin/, run from
tmp_HOST as bin/start runs it; and a validator killed in the middle of a pass.

The kill test waits (with generous limits) for things to happen; nothing
asserts on how long anything takes.
"""

import json
import os
import signal
import time

import pytest

from validation_helpers import python_script, vp, vproject_module  # noqa: F401 (fixtures)

from sched import states as S
from sched.validator import FLUSH_SECONDS

# Records its arguments, then judges: valid if every file holds "ok";
# "transient" in a file exits 3; "die" kills itself with a signal.
INIT = python_script('''import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "vtest_calls.jsonl"), "a") as f:
    f.write(json.dumps({"script": "init", "argv": sys.argv[1:], "cwd": os.getcwd()}) + "\\n")
texts = []
for a in sys.argv[1:]:
    if os.path.isfile(a):
        texts.append(open(a).read())
if any("transient" in t for t in texts):
    sys.exit(3)
if any("die" in t for t in texts):
    os.kill(os.getpid(), 9)
sys.exit(0 if texts and all(t.startswith("ok") for t in texts) else 1)
''')

# Compares the first file of each result (tokens: files files2 ...).
COMPARE = python_script('''import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "vtest_calls.jsonl"), "a") as f:
    f.write(json.dumps({"script": "compare", "argv": sys.argv[1:]}) + "\\n")
a, b = open(sys.argv[1]).read(), open(sys.argv[2]).read()
if "hang" in a + b and os.path.exists(os.path.join(here, "vtest_hang")):
    open(os.path.join(here, "vtest_hanging"), "w").close()
    time.sleep(600)
if "lag" in a + b:
    time.sleep(float(open(os.path.join(here, "vtest_lag")).read()))
if "transient" in a + b:
    sys.exit(3)
sys.exit(0 if a.split()[-1:] == b.split()[-1:] else 1)
''')


def calls(vp):
    path = os.path.join(vp.dir, "bin", "vtest_calls.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture
def scripts(vp):
    vp.install_script("vtest_init", INIT)
    vp.install_script("vtest_compare", COMPARE)
    for name in ("vtest_calls.jsonl", "vtest_hang", "vtest_hanging", "vtest_lag"):
        path = os.path.join(vp.dir, "bin", name)
        if os.path.exists(path):
            os.unlink(path)
    return vp


def host(vp):
    return vp.add_host(vp.add_user())


def test_init_script_gets_the_tokens_and_decides(scripts):
    vp = scripts
    h = host(vp)
    wu_ok, wu_bad = vp.add_wu("ok"), vp.add_wu("bad")
    good = vp.add_result(wu_ok, "ok_0", hostid=h, files={"out": b"ok 1\n", "log": b"ok\n"},
                         elapsed_time=12.5)
    bad = vp.add_result(wu_bad, "bad_0", hostid=h, files={"out": b"wrong\n"})
    out = vp.program("script_validator", "--init_script",
                     "vtest_init files result_id runtime bogus")
    assert out.returncode == 0, out.stderr
    assert "unknown token 'bogus' ignored" in out.stderr
    assert vp.result(good)["validate_state"] == S.VALIDATE_STATE_VALID
    r = vp.result(bad)
    assert (r["outcome"], r["validate_state"]) == (S.RESULT_OUTCOME_VALIDATE_ERROR,
                                                   S.VALIDATE_STATE_INVALID)
    first = calls(vp)[0]
    paths = [vp.upload_path("ok_0_r1000_0"), vp.upload_path("ok_0_r1001_1")]
    assert first["argv"] == paths + [str(good), "12.500000"]
    assert first["cwd"] == vp.tmp_dir
    assert "init script ../bin/vtest_init" in out.stderr and "returned: 1" in out.stderr


def test_init_script_default_tokens_transient_and_signals(scripts):
    vp = scripts
    h = host(vp)
    wu_t, wu_d = vp.add_wu("tr"), vp.add_wu("die")
    t = vp.add_result(wu_t, "tr_0", hostid=h, files={"out": b"transient\n"})
    d = vp.add_result(wu_d, "die_0", hostid=h, files={"out": b"die\n"})
    before = int(time.time())
    out = vp.program("script_validator", "--init_script", "vtest_init")
    assert out.returncode == 0, out.stderr
    assert calls(vp)[0]["argv"] == [vp.upload_path("tr_0_r1000_0")]
    assert vp.result(t)["validate_state"] == S.VALIDATE_STATE_INIT
    assert vp.wu(wu_t)["transition_time"] >= before + 6 * 3600
    assert vp.result(d)["outcome"] == S.RESULT_OUTCOME_VALIDATE_ERROR
    assert "didn't exit" in out.stderr


def test_compare_script_gets_both_results(scripts):
    vp = scripts
    hosts = [host(vp) for _ in range(3)]
    wu = vp.add_wu("cmp", min_quorum=2, target_nresults=3)
    rids = [vp.add_result(wu, "cmp_%d" % i, hostid=h, files={"out": text},
                          elapsed_time=10.0 + i)
            for i, (h, text) in enumerate(zip(hosts, (b"x 1\n", b"y 2\n", b"z 1\n")))]
    out = vp.program("script_validator", "--compare_script",
                     "vtest_compare files files2 runtime2 result_id result_id2 runtime")
    assert out.returncode == 0, out.stderr
    assert [vp.result(r)["validate_state"] for r in rids] == [
        S.VALIDATE_STATE_VALID, S.VALIDATE_STATE_INVALID, S.VALIDATE_STATE_VALID]
    first = calls(vp)[0]["argv"]
    assert first == [vp.upload_path("cmp_0_r1000_0"), vp.upload_path("cmp_1_r1000_0"),
                     "11.000000", str(rids[0]), str(rids[1]), "10.000000"]
    # default tokens: files files2
    vp.db.execute("UPDATE workunit SET need_validate=1")
    late = vp.add_result(wu, "cmp_3", hostid=hosts[0], files={"out": b"w 1\n"})
    out = vp.program("script_validator", "--compare_script", "vtest_compare")
    assert out.returncode == 0, out.stderr
    assert calls(vp)[-1]["argv"] == [vp.upload_path("cmp_3_r1000_0"),
                                     vp.upload_path("cmp_0_r1000_0")]
    assert vp.result(late)["validate_state"] == S.VALIDATE_STATE_VALID


def test_compare_script_transient(scripts):
    vp = scripts
    hosts = [host(vp) for _ in range(2)]
    wu = vp.add_wu("ct", min_quorum=2, target_nresults=2)
    rids = [vp.add_result(wu, "ct_%d" % i, hostid=h, files={"out": b"transient\n"})
            for i, h in enumerate(hosts)]
    out = vp.program("script_validator", "--compare_script", "vtest_compare files files2")
    assert out.returncode == 0, out.stderr
    assert [vp.result(r)["validate_state"] for r in rids] == [S.VALIDATE_STATE_INIT] * 2
    w = vp.wu(wu)
    assert (w["need_validate"], w["target_nresults"]) == (0, 2)
    assert w["transition_time"] > time.time() + 5 * 3600


def test_script_validator_refuses_to_start_without_its_program(scripts):
    out = scripts.program("script_validator", "--init_script", "vtest_nothere files")
    assert out.returncode == 1
    assert "../bin/vtest_nothere is not an executable file" in out.stderr
    out = scripts.program("script_validator")
    assert out.returncode == 1
    assert "command line must specify init_script or compare_script" in out.stderr


def wait_for(predicate, what, limit=60.0):
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.05)


def test_killed_mid_pass_then_rerun_validates_each_job_once(scripts):
    """SIGKILL while a compare script hangs: the job judged and written
    before stays done, the one in hand is untouched, and a second run does
    the rest -- nothing stuck, nothing credited twice."""
    vp = scripts
    hosts = [host(vp) for _ in range(2)]
    texts = (b"lag 1\n", b"hang 2\n", b"fine 3\n")
    wus = []
    for n, text in enumerate(texts):
        wu = vp.add_wu("k%d" % n, min_quorum=2, target_nresults=2)
        for i, h in enumerate(hosts):
            vp.add_result(wu, "k%d_%d" % (n, i), hostid=h, files={"out": text},
                          elapsed_time=100, flops_estimate=2e9)
        wus.append(wu)
    open(os.path.join(vp.dir, "bin", "vtest_hang"), "w").close()
    # the first job takes longer than a write chunk may wait, so it is
    # written before the second one starts
    with open(os.path.join(vp.dir, "bin", "vtest_lag"), "w") as f:
        f.write(str(FLUSH_SECONDS + 0.5))
    command = "vtest_compare files files2"
    proc = vp.program("script_validator", "--compare_script", command, wait=False)
    try:
        wait_for(lambda: vp.wu(wus[0])["need_validate"] == 0, "the first job to be written")
        wait_for(lambda: os.path.exists(os.path.join(vp.dir, "bin", "vtest_hanging")),
                 "the compare script to hang")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert [vp.wu(w)["need_validate"] for w in wus] == [0, 1, 1]
    assert vp.db.scalar("SELECT COUNT(*) FROM result WHERE workunitid IN (%s, %s) AND "
                        "validate_state <> 0" % (wus[1], wus[2])) == 0

    os.unlink(os.path.join(vp.dir, "bin", "vtest_hang"))
    out = vp.program("script_validator", "--compare_script", command)
    assert out.returncode == 0, out.stderr
    for w in wus:
        row = vp.wu(w)
        assert (row["need_validate"], row["assimilate_state"]) == (0, S.ASSIMILATE_READY)
        assert row["canonical_resultid"] > 0
    results = vp.db.query("SELECT * FROM result")
    assert {r["validate_state"] for r in results} == {S.VALIDATE_STATE_VALID}
    credit = results[0]["granted_credit"]
    assert credit > 0 and {r["granted_credit"] for r in results} == {credit}
    for h in hosts:
        assert vp.row("host", h)["total_credit"] == pytest.approx(3 * credit)
        assert vp.hav(h)["consecutive_valid"] == 3
    # the first job was compared once only
    firsts = [c for c in calls(vp) if c["script"] == "compare"
              and vp.upload_path("k0_0_r1000_0") in c["argv"]]
    assert len(firsts) == 1
