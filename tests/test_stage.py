"""md5 cache files and staging (sched/stage.py): BOINC's rules."""

import gzip
import hashlib
import os
from types import SimpleNamespace

import pytest

from sched import paths
from sched.stage import (InputFiles, StageError, md5_file, parse_md5_info, plan_staging,
                         read_md5_info, stage)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_md5_file(tmp_path):
    p = write(str(tmp_path / "f"), b"abc" * 1000000)
    assert md5_file(p) == (hashlib.md5(b"abc" * 1000000).hexdigest(), 3000000)


@pytest.mark.parametrize("text, expected", [
    ("0123456789abcdef0123456789abcdef 77\n", ("0123456789abcdef0123456789abcdef", 77.0)),
    ("0123456789ABCDEF0123456789abcdef 7.700000000000000e+01\n",    # BOINC's C++ form
     ("0123456789abcdef0123456789abcdef", 77.0)),
    ("0123456789abcdef0123456789abcdef 77", None),          # no newline
    ("0123456789abcdef0123456789abcdef 77 \n", None),       # BOINC wants '\n' right after
    ("0123456789abcdef0123456789abcdef 77\nx", None),       # more stuff
    ("0123456789abcdef0123456789abcdef\n", None),
    ("nothex 77\n", None),
    ("0123456789abcdef0123456789abcdef -1\n", None),
])
def test_parse_md5_info(text, expected):
    assert parse_md5_info(text) == expected


def test_read_md5_info_rules(tmp_path):
    p = write(str(tmp_path / "f"), b"data")
    assert read_md5_info(p) is None                         # no cache file
    with open(p + ".md5", "w") as f:
        f.write("%s 4\n" % ("a" * 32))
    os.utime(p, (2000, 2000))
    os.utime(p + ".md5", (2000, 2000))                      # same second: fresh
    assert read_md5_info(p) == ("a" * 32, 4.0)
    os.utime(p + ".md5", (1999, 1999))                      # older: deleted
    assert read_md5_info(p) is None
    assert not os.path.exists(p + ".md5")
    with open(p + ".md5", "w") as f:
        f.write("garbage\n")
    warnings = []
    assert read_md5_info(p, warn=warnings.append) is None
    assert warnings == ["bad MD5 cache file %s.md5; remove it and stage file again" % p]


def test_plan_and_stage(tmp_path):
    dl = str(tmp_path / "download")
    src = write(str(tmp_path / "in" / "job.txt"), b"one\n")
    (plan,) = plan_staging([src], dl, 1024)
    lines = []
    stage(plan, say=lines.append)
    target = paths.dir_hier_path("job.txt", dl, 1024)
    assert not os.path.exists(src)                          # moved
    assert open(target, "rb").read() == b"one\n"
    assert open(target + ".md5").read() == "%s 4\n" % hashlib.md5(b"one\n").hexdigest()
    assert lines == ["staging job.txt to %s" % target, "    moved file"]
    assert os.stat(target + ".md5").st_mtime >= os.stat(target).st_mtime

    # the same contents again: nothing to do (and the source stays, as BOINC's)
    src = write(str(tmp_path / "in" / "job.txt"), b"one\n")
    (plan,) = plan_staging([src], dl, 1024)
    lines = []
    stage(plan, copy=True, make_gzip=True, say=lines.append)
    assert lines == ["staging job.txt to %s" % target,
                     "    file already exists as %s" % target,
                     "    created .gzip file %s.gz" % target]
    assert gzip.open(target + ".gz").read() == b"one\n"

    # different contents under the same name: refused
    src = write(str(tmp_path / "in" / "job.txt"), b"two\n")
    with pytest.raises(StageError, match="same name but different contents"):
        plan_staging([src], dl, 1024)


def test_staged_file_without_md5_is_compared(tmp_path):
    dl = str(tmp_path / "download")
    target = write(paths.dir_hier_path("f", dl, 1024, create=True), b"x")
    (plan,) = plan_staging([write(str(tmp_path / "f"), b"x")], dl, 1024)
    stage(plan)
    assert open(target + ".md5").read() == "%s 1\n" % hashlib.md5(b"x").hexdigest()
    with pytest.raises(StageError, match="different contents"):
        plan_staging([write(str(tmp_path / "f"), b"y")], dl, 1024)


def test_two_sources_with_one_name(tmp_path):
    a = write(str(tmp_path / "a" / "f"), b"1")
    b = write(str(tmp_path / "b" / "f"), b"2")
    with pytest.raises(StageError, match="same name but different contents"):
        plan_staging([a, b], str(tmp_path / "dl"), 16)
    c = write(str(tmp_path / "c" / "f"), b"1")
    plans = plan_staging([a, c], str(tmp_path / "dl"), 16)
    assert [p.action for p in plans] == ["new", "same"]


def test_input_files_copy_from_top_and_discard(tmp_path):
    cfg = SimpleNamespace(path="config.xml", download_dir=str(tmp_path),
                          download_url="http://h/p/download", uldl_dir_fanout=1024,
                          cache_md5_info=False)
    notes = []
    files = InputFiles(cfg, notify=notes.append)
    write(str(tmp_path / "top"), b"t")
    assert files.info("top") == (hashlib.md5(b"t").hexdigest(), 1)
    target = files.path("top")
    assert notes == ["copy %s to %s" % (tmp_path / "top", target)]
    assert not os.path.exists(target + ".md5")              # cache_md5_info off
    files.discard()
    assert not os.path.exists(target) and os.path.exists(str(tmp_path / "top"))
    with pytest.raises(StageError, match="input file nothere is not staged"):
        files.info("nothere")
    with pytest.raises(StageError, match="bad input file name"):
        files.info("../etc/passwd")
