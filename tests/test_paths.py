import os

import pytest

from sched import paths
from sched.errors import ProjectDirError


@pytest.mark.parametrize("name,fanout,expected", [
    ("example_input", 1024, "1d5"),   # examples from BOINC's documentation
    ("in.txt", 1024, "21b"),
])
def test_filename_hash_matches_boinc(name, fanout, expected):
    assert paths.filename_hash(name, fanout) == expected


def test_dir_hier_path_creates_subdir(tmp_path):
    p = paths.dir_hier_path("in.txt", str(tmp_path), 1024, create=True)
    assert p == os.path.join(str(tmp_path), "21b", "in.txt")
    assert os.path.isdir(os.path.dirname(p))


def test_dir_hier_flat_when_fanout_zero(tmp_path):
    assert paths.dir_hier_path("x", str(tmp_path), 0) == os.path.join(str(tmp_path), "x")
    assert paths.dir_hier_url("x", "http://h/p/download/", 0) == "http://h/p/download/x"
    assert paths.dir_hier_url("in.txt", "http://h/p/download", 1024) == \
        "http://h/p/download/21b/in.txt"


def _project(tmp_path):
    (tmp_path / "cgi-bin").mkdir()
    (tmp_path / "config.xml").write_text("<boinc><config/></boinc>")
    return tmp_path


def test_find_project_dir_here_and_parent(tmp_path, monkeypatch):
    proj = _project(tmp_path)
    monkeypatch.delenv("BOINC_PROJECT_DIR", raising=False)
    assert paths.find_project_dir(str(proj)) == str(proj)
    assert paths.find_project_dir(str(proj / "cgi-bin")) == str(proj)
    monkeypatch.chdir(proj / "cgi-bin")
    assert paths.find_project_dir() == str(proj)


def test_config_without_cgi_bin_is_not_a_project(tmp_path, monkeypatch):
    monkeypatch.delenv("BOINC_PROJECT_DIR", raising=False)
    (tmp_path / "config.xml").write_text("<boinc><config/></boinc>")
    with pytest.raises(ProjectDirError):
        paths.find_project_dir(str(tmp_path))


def test_env_var_wins_and_must_be_a_project(tmp_path, monkeypatch):
    (tmp_path / "p").mkdir()
    proj = _project(tmp_path / "p")
    monkeypatch.setenv("BOINC_PROJECT_DIR", str(proj))
    monkeypatch.chdir("/")
    assert paths.find_project_dir() == str(proj)
    monkeypatch.setenv("BOINC_PROJECT_DIR", str(tmp_path))
    with pytest.raises(ProjectDirError, match="BOINC_PROJECT_DIR"):
        paths.find_project_dir()


def test_the_source_checkout_is_not_a_project(tmp_path, monkeypatch):
    from testenv import ROOT
    monkeypatch.delenv("BOINC_PROJECT_DIR", raising=False)
    assert os.path.isfile(os.path.join(ROOT, "config.xml"))
    with pytest.raises(ProjectDirError):
        paths.find_project_dir(ROOT)
    with pytest.raises(ProjectDirError):
        paths.find_project_dir(os.path.join(ROOT, "cgi-bin"))
