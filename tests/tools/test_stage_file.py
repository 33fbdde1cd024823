"""bin/stage_file in a project made by make_project."""

import gzip
import hashlib
import os
import subprocess

import pytest

from testenv import ROOT
from sched import paths


@pytest.fixture
def proj(make_project):
    return make_project("stg", db=False)


def run(proj, *args, cwd=None):
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    return subprocess.run([os.path.join(ROOT, "bin", "stage_file")] + list(args),
                          cwd=cwd or proj.dir, env=env, capture_output=True, text=True)


def make(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def target(proj, name):
    return paths.dir_hier_path(name, proj.config.download_dir, proj.config.uldl_dir_fanout)


def test_stages_files_and_a_directory(proj, tmp_path):
    one = make(str(tmp_path), "one", b"1\n")
    d = str(tmp_path / "many")
    for i in range(30):
        make(d, "f%02d" % i, b"%d\n" % i)
    os.mkdir(os.path.join(d, "subdir"))                  # only files are staged
    res = run(proj, "--verbose", one, d)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""                              # no progress bar off a terminal
    lines = res.stdout.splitlines()
    assert lines[:2] == ["staging one to %s" % target(proj, "one"), "    moved file"]
    assert len(lines) == 62
    for i in range(30):
        t = target(proj, "f%02d" % i)
        assert open(t, "rb").read() == b"%d\n" % i
        assert open(t + ".md5").read() == "%s %d\n" % (hashlib.md5(b"%d\n" % i).hexdigest(),
                                                       len(b"%d\n" % i))
    assert os.listdir(d) == ["subdir"] and not os.path.exists(one)


def test_copy_and_gzip(proj, tmp_path):
    src = make(str(tmp_path), "data", b"z" * 1000)
    res = run(proj, "--copy", "--gzip", src)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert os.path.exists(src)
    assert gzip.open(target(proj, "data") + ".gz").read() == b"z" * 1000
    res = run(proj, "--copy", "--verbose", src)                 # again: already there
    assert res.stdout.splitlines()[1] == "    file already exists as %s" % target(proj, "data")


def test_refuses_different_contents_and_stages_nothing(proj, tmp_path):
    assert run(proj, make(str(tmp_path), "taken", b"old")).returncode == 0
    fresh = make(str(tmp_path / "new"), "fresh", b"f")
    clash = make(str(tmp_path / "new"), "taken", b"new")
    res = run(proj, str(tmp_path / "new"))
    assert res.returncode == 1
    assert res.stderr == (
        "stage_file: can't stage input file %s: there is a file in your project's download "
        "hierarchy, %s, with the same name but different contents. This is not allowed by "
        "BOINC.\n" % (clash, target(proj, "taken")))
    assert open(target(proj, "taken"), "rb").read() == b"old"
    assert not os.path.exists(target(proj, "fresh")) and os.path.exists(fresh)


def test_errors(proj, tmp_path):
    res = run(proj)
    assert res.returncode == 1 and res.stderr.startswith("usage: stage_file")
    res = run(proj, str(tmp_path / "absent"))
    assert (res.returncode, res.stderr) == (1, "stage_file: no such file: %s\n"
                                            % (tmp_path / "absent"))
    res = run(proj, make(str(tmp_path), "x", b"x"), cwd=str(tmp_path))
    assert res.returncode == 1 and "Not in a project directory" in res.stderr
