"""bin/dir_hier_path and bin/dir_hier_move."""

import os
import subprocess

from testenv import ROOT
from sched import paths


def run(tool, *args, cwd=None):
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    return subprocess.run([os.path.join(ROOT, "bin", tool)] + [str(a) for a in args],
                          cwd=cwd, env=env, capture_output=True, text=True)


def test_dir_hier_path(make_project):
    proj = make_project("hier", db=False)
    res = run("dir_hier_path", "example_input", cwd=proj.dir)
    assert res.returncode == 0, res.stderr
    # BOINC's own example: example_input lands in 1d5/ with fanout 1024
    expected = os.path.join(proj.config.download_dir, "1d5", "example_input")
    assert res.stdout == expected + "\n"
    assert os.path.isdir(os.path.dirname(expected))
    res = run("dir_hier_path", cwd=proj.dir)
    assert res.returncode == 1 and "Usage: dir_hier_path <filename>" in res.stderr


def test_dir_hier_move(tmp_path):
    src, dst = tmp_path / "flat", tmp_path / "hier"
    src.mkdir()
    names = ["in.txt", "example_input", "other", "other.md5", "other.gz", ".hidden"]
    for name in names:
        (src / name).write_text(name)
    (src / "sub").mkdir()
    res = run("dir_hier_move", src, dst, 1024)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(src)) == [".hidden", "sub"]
    assert (dst / "21b" / "in.txt").read_text() == "in.txt"
    assert (dst / "1d5" / "example_input").read_text() == "example_input"
    home = os.path.dirname(paths.dir_hier_path("other", str(dst), 1024))
    assert sorted(os.listdir(home)) == ["other", "other.gz", "other.md5"]


def test_dir_hier_move_in_place(tmp_path):
    flat = tmp_path / "download"
    flat.mkdir()
    for i in range(50):
        (flat / ("f%d" % i)).write_text(str(i))
    res = run("dir_hier_move", flat, flat, 16)
    assert res.returncode == 0, res.stderr
    for i in range(50):
        assert open(paths.dir_hier_path("f%d" % i, str(flat), 16)).read() == str(i)
    assert all(os.path.isdir(flat / d) for d in os.listdir(flat))


def test_dir_hier_move_usage(tmp_path):
    for args in ((), (tmp_path, tmp_path), (tmp_path, tmp_path, 0), (tmp_path, tmp_path, "x")):
        res = run("dir_hier_move", *args)
        assert res.returncode == 1 and "Usage: dir_hier_move" in res.stderr
