"""antique_file_deleter against a real project: old and young files in upload/."""

import os
import pwd
import time

import pytest

from backend_helpers import add_app, add_wu, connect, program, upload_path
from sched.antique_file_deleter import cutoff_time

DAY = 86400


@pytest.fixture
def proj(project):
    """The project, with our own user as the web server's (uploads are ours)."""
    cfg = os.path.join(project.dir, "config.xml")
    with open(cfg) as f:
        text = f.read()
    me = pwd.getpwuid(os.getuid()).pw_name
    with open(cfg, "w") as f:
        f.write(text.replace("<httpd_user>www-data</httpd_user>",
                             "<httpd_user>%s</httpd_user>" % me))
    project.db = connect(project)
    project.appid = add_app(project.db)
    yield project
    project.db.close()


def aged(path, days, data=b"x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    t = time.time() - days * DAY
    os.utime(path, (t, t))
    return path


def test_cutoff_time():
    now = 1000 * DAY
    assert cutoff_time(now - 10 * DAY, now) == now - 32 * DAY        # recent WUs: a month
    assert cutoff_time(now - 100 * DAY, now) == now - 101 * DAY      # else a day before


def test_deletes_only_old_uploaded_regular_files(proj):
    now = int(time.time())
    # The oldest WU by id is a nodelete one: ignored.  The next says 100 days.
    add_wu(proj.db, proj.appid, "ancient_nodelete", create_time=now - 400 * DAY)
    add_wu(proj.db, proj.appid, "oldest", create_time=now - 100 * DAY)
    add_wu(proj.db, proj.appid, "recent", create_time=now)
    antique = aged(upload_path(proj, "antique"), 102)
    antique2 = aged(upload_path(proj, "antique2"), 300)
    young = aged(upload_path(proj, "young"), 99)
    dot = aged(os.path.join(os.path.dirname(antique), ".hidden"), 300)
    subdir = os.path.join(os.path.dirname(antique), "subdir")
    os.makedirs(subdir)
    os.utime(subdir, (now - 300 * DAY, now - 300 * DAY))
    link = upload_path(proj, "link")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(young, link)
    os.utime(link, (now - 300 * DAY, now - 300 * DAY), follow_symlinks=False)
    top = aged(os.path.join(proj.config.upload_dir, "not_in_a_fanout_dir"), 300)
    kept = [young, dot, subdir, link, top]
    if os.geteuid() == 0:
        foreign = aged(upload_path(proj, "foreign"), 300)
        os.chown(foreign, 4242, 4242)
        kept.append(foreign)

    r = program(proj, "antique_file_deleter", "--dry_run", "--usleep", "0")
    assert r.returncode == 0, r.stderr
    assert "Would delete '%s'" % antique in r.stderr
    assert all(os.path.lexists(p) for p in kept + [antique, antique2])

    r = program(proj, "antique_file_deleter", "-d", "4", "--usleep", "0")
    assert r.returncode == 0, r.stderr
    assert not os.path.lexists(antique) and not os.path.lexists(antique2)
    for p in kept:
        assert os.path.lexists(p), p
    assert "Deleting file '%s'" % antique in r.stderr
    assert "too young" in r.stderr


def test_no_workunits_no_deletion(proj):
    antique = aged(upload_path(proj, "antique"), 400)
    r = program(proj, "antique_file_deleter", "--usleep", "0")
    assert r.returncode == 1 and "No workunits" in r.stderr
    assert os.path.exists(antique)


def test_unknown_web_user(proj):
    cfg = os.path.join(proj.dir, "config.xml")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("<httpd_user>", "<httpd_user>nosuchuser_x", 1))
    add_wu(proj.db, proj.appid, "w")
    r = program(proj, "antique_file_deleter")
    assert r.returncode == 1 and "Couldn't find http_user 'nosuchuser_x" in r.stderr
