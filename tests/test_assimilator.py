"""The assimilator framework and its programs against a real project and MariaDB.

Jobs are set up with SQL, output files put in the real upload hierarchy,
and the project's installed programs run in tmp_HOST as bin/start runs
them.  script_assimilator's scripts record their argv (as JSON) so the
tests see exactly what each run got.
"""

import json
import os
import signal
import sys
import time

import pytest

from backend_helpers import (add_app, add_result, add_wu, connect, program, spawn,
                             tmp_dir, upload_path, write_script)
from sched import states as S
from sched.script_assimilator import parse_script
from sched.errors import BoincError

RECORDER = '''#!%s
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "argv.log"), "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\\n")
if any("bad" in a for a in sys.argv[1:]):
    sys.exit(3)
''' % sys.executable


@pytest.fixture
def proj(project):
    project.db = connect(project)
    project.appid = add_app(project.db)
    write_script(project, "record.py", RECORDER)
    yield project
    project.db.close()


def calls(project):
    path = os.path.join(project.dir, "argv.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def finished_job(project, name, outputs=("out_a", "out_b"), elapsed=12.5, batch=0):
    """A WU ready to assimilate with a canonical result whose files are uploaded."""
    db = project.db
    wuid = add_wu(db, project.appid, name, assimilate_state=S.ASSIMILATE_READY, batch=batch)
    files = ["%s_%s" % (name, o) for o in outputs]
    rid = add_result(db, wuid, project.appid, name + "_0", outputs=files,
                     validate_state=S.VALIDATE_STATE_VALID, elapsed_time=elapsed, batch=batch)
    add_result(db, wuid, project.appid, name + "_1", outcome=S.RESULT_OUTCOME_CLIENT_ERROR)
    db.execute("UPDATE workunit SET canonical_resultid=%s WHERE id=%s", (rid, wuid))
    paths = [upload_path(project, f, ("%s\n" % f).encode()) for f in files]
    return wuid, rid, paths


def failed_job(project, name, error_mask, batch=0):
    return add_wu(project.db, project.appid, name, assimilate_state=S.ASSIMILATE_READY,
                  error_mask=error_mask, batch=batch)


def wu(project, wuid):
    return project.db.query_one("SELECT * FROM workunit WHERE id=%s", (wuid,))


def assimilate(project, *args, prog="script_assimilator"):
    return program(project, prog, "--app", "worker", *args)


# ----------------------------------------------------------- script_assimilator

def test_default_tokens_are_wu_id_and_files(proj):
    wuid, rid, paths = finished_job(proj, "job1")
    before = int(time.time())
    r = assimilate(proj, "--one_pass", "--script", "record.py")
    assert r.returncode == 0, r.stderr
    assert calls(proj) == [{"argv": [str(wuid)] + paths, "cwd": tmp_dir(proj)}]
    row = wu(proj, wuid)
    assert row["assimilate_state"] == S.ASSIMILATE_DONE
    assert before <= row["transition_time"] <= int(time.time())
    assert row["error_mask"] == 0
    assert "Assimilated 1 workunits." in r.stderr


def test_custom_token_list_passes_each_token(proj):
    # The list BOINC's current build runs with no arguments at all.
    wuid, rid, paths = finished_job(proj, "job2", elapsed=12.5, batch=7)
    r = assimilate(proj, "--one_pass", "-d", "4", "--script",
                   "record.py  wu_name files2 result_id runtime batch_id wu_id files")
    assert r.returncode == 0, r.stderr
    assert "[debug] [job2] assimilating WU %d; state=1" % wuid in r.stderr
    assert "[debug] invoking script: " in r.stderr
    assert calls(proj)[0]["argv"] == [
        "job2", paths[0], "out0", paths[1], "out1", str(rid), "12.500000", "7", str(wuid),
        paths[0], paths[1]]


def test_failed_job_gets_the_error_call(proj):
    wuid = failed_job(proj, "job3", S.WU_ERROR_TOO_MANY_ERROR_RESULTS | 1, batch=4)
    r = assimilate(proj, "--one_pass", "--script", "record.py files wu_id")
    assert r.returncode == 0, r.stderr
    assert calls(proj)[0]["argv"] == ["--error", "3", "job3", str(wuid), "4"]
    assert wu(proj, wuid)["assimilate_state"] == S.ASSIMILATE_DONE


def test_missing_canonical_result_is_an_error_32_job(proj):
    # canonical_resultid names a result row that no longer exists
    wuid = add_wu(proj.db, proj.appid, "job4", assimilate_state=S.ASSIMILATE_READY,
                  canonical_resultid=999999)
    r = assimilate(proj, "--one_pass", "--script", "record.py")
    assert r.returncode == 0, r.stderr
    assert "[job4] no canonical result" in r.stderr
    assert calls(proj)[0]["argv"] == ["--error", "32", "job4", str(wuid), "0"]
    row = wu(proj, wuid)
    assert (row["error_mask"], row["assimilate_state"]) == (32, S.ASSIMILATE_DONE)


def test_failing_script_stops_the_daemon_and_leaves_the_job_ready(proj):
    good, _, _ = finished_job(proj, "a_good")
    bad, _, _ = finished_job(proj, "b_bad")
    later, _, _ = finished_job(proj, "c_later")
    r = assimilate(proj, "--script", "record.py wu_name")      # not one_pass: it must exit
    assert r.returncode != 0
    assert "handler error" in r.stderr and "exiting" in r.stderr
    assert [c["argv"] for c in calls(proj)] == [["a_good"], ["b_bad"]]
    assert wu(proj, good)["assimilate_state"] == S.ASSIMILATE_DONE
    assert wu(proj, bad)["assimilate_state"] == S.ASSIMILATE_READY
    assert wu(proj, later)["assimilate_state"] == S.ASSIMILATE_READY


def test_script_is_run_from_the_project_bin(proj):
    finished_job(proj, "job5")
    r = assimilate(proj, "--one_pass", "--script", "nonesuch.sh")
    assert r.returncode == 1
    assert "nonesuch.sh" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("spec, message", [
    ("", "script name missing"),
    ("record.py wu_id file", "unknown token 'file'"),
])
def test_bad_script_option(proj, spec, message):
    finished_job(proj, "job6")
    r = assimilate(proj, "--one_pass", "--script", spec)
    assert r.returncode == 1 and message in r.stderr
    assert calls(proj) == []


def test_parse_script():
    assert parse_script("x") == ("x", ["wu_id", "files"])
    assert parse_script(" x \t files2  batch_id ") == ("x", ["files2", "batch_id"])
    with pytest.raises(BoincError):
        parse_script("x wu_id,files")


# ------------------------------------------------------------ the framework

def test_needs_an_existing_app(proj):
    r = program(proj, "script_assimilator", "--one_pass", "--script", "record.py")
    assert r.returncode == 1 and "--app" in r.stderr
    r = program(proj, "script_assimilator", "--app", "nope", "--one_pass",
                "--script", "record.py")
    assert r.returncode == 1 and "Can't find app: nope" in r.stderr


def test_only_ready_jobs_of_the_app_in_our_mod_slice(proj):
    other = add_app(proj.db, "other")
    ids = [finished_job(proj, "m%d" % i)[0] for i in range(6)]
    not_ready = add_wu(proj.db, proj.appid, "idle", assimilate_state=S.ASSIMILATE_INIT)
    elsewhere = add_wu(proj.db, other, "elsewhere", assimilate_state=S.ASSIMILATE_READY,
                       error_mask=16)
    r = assimilate(proj, "--one_pass", "--mod", "2", "1", "--script", "record.py wu_id")
    assert r.returncode == 0, r.stderr
    odd = [i for i in ids if i % 2 == 1]
    assert sorted(int(c["argv"][0]) for c in calls(proj)) == odd
    for i in ids:
        want = S.ASSIMILATE_DONE if i % 2 else S.ASSIMILATE_READY
        assert wu(proj, i)["assimilate_state"] == want
    assert wu(proj, not_ready)["assimilate_state"] == S.ASSIMILATE_INIT
    assert wu(proj, elsewhere)["assimilate_state"] == S.ASSIMILATE_READY


def test_one_pass_N_WU_and_dont_update_db(proj):
    ids = [finished_job(proj, "n%d" % i)[0] for i in range(3)]
    r = assimilate(proj, "--one_pass_N_WU", "2", "--script", "record.py wu_id")
    assert r.returncode == 0, r.stderr
    assert [int(c["argv"][0]) for c in calls(proj)] == ids[:2]
    assert [wu(proj, i)["assimilate_state"] for i in ids] == [2, 2, 1]
    r = assimilate(proj, "--one_pass", "--dont_update_db", "--script", "record.py wu_id")
    assert r.returncode == 0, r.stderr
    assert [int(c["argv"][0]) for c in calls(proj)] == ids[:2] + ids[2:]
    assert wu(proj, ids[2])["assimilate_state"] == S.ASSIMILATE_READY


PLUGIN = '''#!%s
"""A project's own assimilator: defers jobs named defer*, fails on boom*."""
import os, sys; sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sched.assimilator import Assimilator, DEFER_ASSIMILATION


class Mine(Assimilator):
    def assimilate(self, wu, results, canonical):
        with open(os.path.join(self.config.project_dir, "seen.log"), "a") as f:
            f.write("%%s %%d %%s\\n" %% (wu.name, len(results),
                                        canonical.name if canonical else "-"))
        if wu.name.startswith("boom"):
            raise ValueError("no good")
        return DEFER_ASSIMILATION if wu.name.startswith("defer") else 0


Mine.run()
''' % sys.executable


def test_python_plugin_done_and_deferred(proj):
    write_script(proj, "my_assimilator", PLUGIN)
    done, _, _ = finished_job(proj, "done1")
    deferred, _, _ = finished_job(proj, "defer1")
    r = program(proj, "my_assimilator", "--app", "worker", "--one_pass")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(proj.dir, "seen.log")) as f:
        assert f.read() == "done1 2 done1_0\ndefer1 2 defer1_0\n"
    assert wu(proj, done)["assimilate_state"] == S.ASSIMILATE_DONE
    row = wu(proj, deferred)
    assert row["assimilate_state"] == S.ASSIMILATE_INIT
    assert row["transition_time"] <= int(time.time())


def test_python_plugin_exception_stops_the_daemon(proj):
    write_script(proj, "my_assimilator", PLUGIN)
    boom, _, _ = finished_job(proj, "boom1")
    r = program(proj, "my_assimilator", "--app", "worker")
    assert r.returncode == 1
    assert "ValueError: no good" in r.stderr and "[boom1] handler failed; exiting" in r.stderr
    assert wu(proj, boom)["assimilate_state"] == S.ASSIMILATE_READY


# ------------------------------------------------------------ the samples

def test_sample_assimilator_copies_outputs(proj):
    one, _, (p1,) = finished_job(proj, "single", outputs=("x",))
    two, _, (pa, pb) = finished_job(proj, "double")
    gone, _, (pg,) = finished_job(proj, "vanished", outputs=("x",))
    os.unlink(pg)
    err = failed_job(proj, "broken", 6)
    r = assimilate(proj, "--one_pass", prog="sample_assimilator")
    assert r.returncode == 0, r.stderr
    out = os.path.join(proj.dir, "sample_results")
    assert sorted(os.listdir(out)) == ["double_0", "double_1", "errors", "single",
                                       "vanished_no_output_files"]
    for name, src in (("single", p1), ("double_0", pa), ("double_1", pb)):
        with open(os.path.join(out, name), "rb") as f, open(src, "rb") as g:
            assert f.read() == g.read()
    with open(os.path.join(out, "errors")) as f:
        assert f.read() == "broken: 0x6\n"
    assert os.path.exists(p1)          # copied, not moved: the file deleter's job
    for i in (one, two, gone, err):
        assert wu(proj, i)["assimilate_state"] == S.ASSIMILATE_DONE


def test_sample_dummy_assimilator(proj):
    ids = [finished_job(proj, "d%d" % i, outputs=())[0] for i in range(5)]
    ids.append(failed_job(proj, "dfail", S.WU_ERROR_COULDNT_SEND_RESULT))
    r = assimilate(proj, "--one_pass", prog="sample_dummy_assimilator")
    assert r.returncode == 0, r.stderr
    assert "Assimilating d3" in r.stderr
    assert "[dfail] Warning: couldn't send a result" in r.stderr
    assert "Assimilated 6 workunits." in r.stderr
    assert {wu(proj, i)["assimilate_state"] for i in ids} == {S.ASSIMILATE_DONE}


# ------------------------------------------------------------ crash and restart

SLOW = '''#!%s
import os, sys, time
log = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slow.log")
with open(log, "a") as f:
    f.write("start %%s\\n" %% sys.argv[1]); f.flush()
time.sleep(0.3)
with open(log, "a") as f:
    f.write("end %%s\\n" %% sys.argv[1])
''' % sys.executable


def test_sigkill_mid_pass_then_restart(proj):
    write_script(proj, "slow.py", SLOW)
    ids = [finished_job(proj, "k%02d" % i, outputs=())[0] for i in range(8)]
    log = os.path.join(proj.dir, "slow.log")

    def lines():
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return f.read().split()

    daemon = spawn(proj, "script_assimilator", "--app", "worker", "--script", "slow.py wu_id",
                   start_new_session=True)
    end = time.monotonic() + 60
    while lines().count("end") < 3 or lines().count("start") < 4:
        assert daemon.poll() is None, daemon.stdout.read()
        assert time.monotonic() < end, "the daemon made no progress"
        time.sleep(0.02)
    os.killpg(daemon.pid, signal.SIGKILL)          # the daemon and its script, mid-job
    daemon.wait()
    daemon.stdout.close()
    states = [wu(proj, i)["assimilate_state"] for i in ids]
    # Each job's state is written before the next one starts: the three
    # finished before the crash are recorded as done, in order.
    assert states.count(S.ASSIMILATE_DONE) >= 3
    assert states == sorted(states, reverse=True)

    r = assimilate(proj, "--one_pass", "--script", "slow.py wu_id")
    assert r.returncode == 0, r.stderr
    assert {wu(proj, i)["assimilate_state"] for i in ids} == {S.ASSIMILATE_DONE}
    words = lines()
    started = [int(words[i + 1]) for i in range(0, len(words), 2) if words[i] == "start"]
    assert sorted(set(started)) == ids
    # Only the job in hand at the crash may run twice.
    assert len(started) - len(ids) <= 1
