"""BOINC's sample validators (sched/validators/): trivial, bitwise, substr,
run in this process and as the programs bin/start runs."""

import gzip
import hashlib
import io
import os
import subprocess

import pytest

from testenv import ROOT
from validation_helpers import vp, vproject_module  # noqa: F401 (fixtures)

from sched import states as S
from sched.validator import InvalidResult
from sched.validators.bitwise import BitwiseValidator, md5_file
from sched.validators.substr import SubstrValidator
from sched.validators.trivial import TrivialValidator


def states_of(vp, *rids):
    return [vp.result(r)["validate_state"] for r in rids]


def host(vp):
    return vp.add_host(vp.add_user())


def test_trivial_accepts_anything_even_without_files(vp):
    h = host(vp)
    wu = vp.add_wu("t", min_quorum=2, target_nresults=2)
    a = vp.add_result(wu, "t_0", hostid=h, files={"out": b"1"})
    b = vp.add_result(wu, "t_1", hostid=h, files={"out": None})
    vp.db.execute("UPDATE result SET xml_doc_in='garbage <' WHERE id=%s", (b,))
    out = vp.program("sample_trivial_validator")
    assert out.returncode == 0, out.stderr
    assert states_of(vp, a, b) == [S.VALIDATE_STATE_VALID] * 2


def test_bitwise_compares_every_file(vp):
    h = host(vp)
    wu = vp.add_wu("bw", min_quorum=2, target_nresults=2)
    a = vp.add_result(wu, "bw_0", hostid=h, files={"out": b"same", "log": b"x"})
    b = vp.add_result(wu, "bw_1", hostid=h, files={"out": b"same", "log": b"y"})
    out = vp.program("sample_bitwise_validator")
    assert out.returncode == 0, out.stderr
    assert states_of(vp, a, b) == [S.VALIDATE_STATE_INCONCLUSIVE] * 2
    # a third result agreeing with the first settles it
    vp.db.execute("UPDATE workunit SET need_validate=1, target_nresults=3, min_quorum=2")
    c = vp.add_result(wu, "bw_2", hostid=h, files={"out": b"same", "log": b"x"})
    assert vp.program("sample_bitwise_validator").returncode == 0
    # BOINC's check_set only takes INIT and INCONCLUSIVE results: all three
    assert states_of(vp, a, b, c) == [S.VALIDATE_STATE_VALID, S.VALIDATE_STATE_INVALID,
                                      S.VALIDATE_STATE_VALID]


def test_bitwise_optional_and_no_validate_files(vp):
    h = host(vp)
    wu = vp.add_wu("bo", min_quorum=2, target_nresults=2)
    a = vp.add_result(wu, "bo_0", hostid=h, files={"out": b"same", "log": b"a", "opt": None})
    b = vp.add_result(wu, "bo_1", hostid=h, files={"out": b"same", "log": b"b", "opt": None})
    for rid in (a, b):
        doc = vp.result(rid)["xml_doc_in"].decode()
        doc = doc.replace("<open_name>log</open_name>", "<open_name>log</open_name><no_validate/>")
        doc = doc.replace("<open_name>opt</open_name>", "<open_name>opt</open_name><optional/>")
        vp.db.execute("UPDATE result SET xml_doc_in=%s WHERE id=%s", (doc, rid))
    status, log = vp.validate(BitwiseValidator)
    assert status == 0, log
    assert states_of(vp, a, b) == [S.VALIDATE_STATE_VALID] * 2


def test_bitwise_missing_optional_file_differs_from_empty_file(vp):
    h = host(vp)
    wu = vp.add_wu("be", min_quorum=2, target_nresults=2)
    a = vp.add_result(wu, "be_0", hostid=h, files={"opt": None})
    b = vp.add_result(wu, "be_1", hostid=h, files={"opt": b""})
    for rid in (a, b):
        doc = vp.result(rid)["xml_doc_in"].decode().replace(
            "<open_name>opt</open_name>", "<open_name>opt</open_name><optional/>")
        vp.db.execute("UPDATE result SET xml_doc_in=%s WHERE id=%s", (doc, rid))
    assert vp.validate(BitwiseValidator)[0] == 0
    assert states_of(vp, a, b) == [S.VALIDATE_STATE_INCONCLUSIVE] * 2
    assert vp.result(a)["outcome"] == S.RESULT_OUTCOME_SUCCESS


def _gz(data, mtime):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=mtime) as f:
        f.write(data)
    return buf.getvalue()


def test_bitwise_is_gzip_skips_the_header(vp, tmp_path):
    one, two = _gz(b"payload" * 100, 1000), _gz(b"payload" * 100, 2000)
    assert one != two
    h = host(vp)
    wu = vp.add_wu("gz", min_quorum=2, target_nresults=2)
    a = vp.add_result(wu, "gz_0", hostid=h, files={"out": one})
    b = vp.add_result(wu, "gz_1", hostid=h, files={"out": two})
    assert vp.validate(BitwiseValidator)[0] == 0
    assert states_of(vp, a, b) == [S.VALIDATE_STATE_INCONCLUSIVE] * 2
    vp.db.execute("UPDATE workunit SET need_validate=1")
    vp.db.execute("UPDATE result SET validate_state=0")
    assert vp.validate(BitwiseValidator, "--is_gzip")[0] == 0
    assert states_of(vp, a, b) == [S.VALIDATE_STATE_VALID] * 2
    # a file that isn't gzip is a bad result
    p = tmp_path / "plain"
    p.write_bytes(b"not gzip at all")
    assert md5_file(str(p)) == hashlib.md5(b"not gzip at all").hexdigest()
    with pytest.raises(InvalidResult):
        md5_file(str(p), is_gzip=True)
    wu = vp.add_wu("gz2")
    c = vp.add_result(wu, "gz2_0", hostid=h, files={"out": b"not gzip at all"})
    assert vp.validate(BitwiseValidator, "--is_gzip")[0] == 0
    assert vp.result(c)["outcome"] == S.RESULT_OUTCOME_VALIDATE_ERROR


def test_substr_accepts_or_rejects_on_stderr(vp):
    h = host(vp)
    wu1, wu2 = vp.add_wu("s1"), vp.add_wu("s2")
    good = vp.add_result(wu1, "s1_0", hostid=h, stderr_out="...called boinc_finish(0)\n")
    bad = vp.add_result(wu2, "s2_0", hostid=h, stderr_out="segmentation fault\n")
    out = vp.program("sample_substr_validator", "--stderr_string", "boinc_finish(0)")
    assert out.returncode == 0, out.stderr
    assert states_of(vp, good, bad) == [S.VALIDATE_STATE_VALID, S.VALIDATE_STATE_INVALID]
    assert vp.result(bad)["outcome"] == S.RESULT_OUTCOME_VALIDATE_ERROR
    # --reject_if_present turns it round
    wu3 = vp.add_wu("s3")
    crash = vp.add_result(wu3, "s3_0", hostid=h, stderr_out="segmentation fault\n")
    wu4 = vp.add_wu("s4")
    fine = vp.add_result(wu4, "s4_0", hostid=h, stderr_out="all good\n")
    status, log = vp.validate(SubstrValidator, "--stderr_string", "segmentation",
                              "--reject_if_present")
    assert status == 0, log
    assert states_of(vp, crash, fine) == [S.VALIDATE_STATE_INVALID, S.VALIDATE_STATE_VALID]


def test_substr_needs_a_string(vp):
    out = vp.program("sample_substr_validator")
    assert out.returncode == 1
    assert "--stderr_string missing from command line" in out.stderr


def test_trivial_client_error_is_a_long_term_failure(vp):
    h = host(vp)
    vp.db.execute("UPDATE host_app_version SET max_jobs_per_day=100")
    wu = vp.add_wu("ce", target_nresults=2)
    vp.add_result(wu, "ce_0", hostid=h, outcome=S.RESULT_OUTCOME_CLIENT_ERROR)
    status, log = vp.validate(TrivialValidator, "--check_punitive")
    assert status == 0, log
    assert vp.hav(h)["max_jobs_per_day"] == 1


def test_programs_say_what_they_are(vp):
    for prog in ("sample_trivial_validator", "sample_bitwise_validator",
                 "sample_substr_validator", "script_validator"):
        out = vp.program(prog, "--help", one_pass=False)
        assert out.returncode == 0 and "--app" in out.stdout and "--mod" in out.stdout
    assert "--is_gzip" in vp.program("sample_bitwise_validator", "--help").stdout
    out = subprocess.run([os.path.join(ROOT, "bin", "sample_trivial_validator"), "--one_pass"],
                         cwd=vp.tmp_dir, capture_output=True, text=True)
    assert out.returncode == 1
    assert "must use '--app' to specify an application" in out.stderr
