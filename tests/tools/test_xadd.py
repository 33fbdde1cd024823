"""bin/xadd against a real MariaDB: rows and lines as BOINC's xadd makes them."""

import os
import re
import subprocess
import time

import pytest

from testenv import ROOT, SHARED
from sched import db as dbmod
from sched import schema
from sched.tools import xadd

REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")

PROJECT_XML = """<boinc>
    <platform>
        <name>x86_64-pc-linux-gnu</name>
        <user_friendly_name>Linux running on an AMD x86_64 or Intel EM64T CPU</user_friendly_name>
    </platform>
    <platform>
        <name>windows_x86_64</name>
        <user_friendly_name>Microsoft Windows running on an AMD x86_64 or Intel EM64T CPU</user_friendly_name>
    </platform>
    <app>
        <name>worker</name>
        <user_friendly_name>Worker</user_friendly_name>
    </app>
    <app>
        <name>tuned</name>
        <user_friendly_name>Tuned app</user_friendly_name>
        <min_version>700</min_version>
        <homogeneous_redundancy>2</homogeneous_redundancy>
        <weight>2.5</weight>
        <beta/>
        <target_nresults>3</target_nresults>
        <non_cpu_intensive>1</non_cpu_intensive>
        <n_size_classes>4</n_size_classes>
        <fraction_done_exact>0</fraction_done_exact>
    </app>
</boinc>
"""


@pytest.fixture
def mini(tmp_path, admin_db, db_account, db_name):
    """A minimal project dir (config.xml, cgi-bin/) with a schema-loaded DB."""
    proj = tmp_path / "proj"
    (proj / "cgi-bin").mkdir(parents=True)
    (proj / "config.xml").write_text(
        "<boinc>\n<config>\n"
        "  <db_name>%s</db_name>\n  <db_user>%s</db_user>\n  <db_passwd>%s</db_passwd>\n"
        "  <db_host>%s</db_host>\n</config>\n</boinc>\n"
        % (db_name, db_account["user"], db_account["passwd"], db_account["host"]))
    schema.create_database(admin_db, db_name)
    database = dbmod.Database(db_name, db_account["user"], db_account["passwd"],
                              db_account["host"]).connect()
    schema.load_schema(database)
    yield proj, database
    database.close()


def run_xadd(proj, project_xml=None):
    if project_xml is not None:
        (proj / "project.xml").write_text(project_xml)
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    return subprocess.run([os.path.join(ROOT, "bin", "xadd")], cwd=str(proj), env=env,
                          capture_output=True, text=True)


def test_adds_platforms_and_apps_with_boincs_lines(mini):
    proj, database = mini
    before = int(time.time())
    res = run_xadd(proj, PROJECT_XML)
    after = int(time.time())
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 4
    m = re.fullmatch(r"added platform: \(create_time, name, user_friendly_name\) values "
                     r"\((\d+), 'x86_64-pc-linux-gnu', 'Linux running on an AMD x86_64 "
                     r"or Intel EM64T CPU'\)", lines[0])
    assert m and before <= int(m.group(1)) <= after
    assert lines[1].startswith("added platform: ") and "'windows_x86_64'" in lines[1]
    assert re.fullmatch(r"added app: \(create_time, name, user_friendly_name\) values "
                        r"\(\d+, 'worker', 'Worker'\)", lines[2])
    assert lines[3].startswith("added app: (create_time, name, user_friendly_name, "
                               "min_version, homogeneous_redundancy, weight, beta, ")

    plats = database.query("SELECT * FROM platform ORDER BY id")
    assert [(p["name"], p["deprecated"]) for p in plats] == [
        ("x86_64-pc-linux-gnu", 0), ("windows_x86_64", 0)]
    assert all(before <= p["create_time"] <= after for p in plats)
    worker = database.query_one("SELECT * FROM app WHERE name='worker'")
    # Columns not in project.xml keep the schema's defaults, as BOINC's rows.
    assert (worker["user_friendly_name"], worker["min_version"], worker["weight"],
            worker["beta"], worker["min_avg_pfc"]) == ("Worker", 0, 1.0, 0, 1.0)
    tuned = database.query_one("SELECT * FROM app WHERE name='tuned'")
    assert (tuned["min_version"], tuned["homogeneous_redundancy"], tuned["weight"],
            tuned["beta"], tuned["target_nresults"], tuned["non_cpu_intensive"],
            tuned["n_size_classes"], tuned["fraction_done_exact"]) == (
        700, 2, 2.5, 1, 3, 1, 4, 0)


def test_second_run_changes_nothing(mini):
    proj, database = mini
    assert run_xadd(proj, PROJECT_XML).returncode == 0
    rows = database.query("SELECT * FROM platform ORDER BY id"), \
        database.query("SELECT * FROM app ORDER BY id")
    res = run_xadd(proj)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "platform x86_64-pc-linux-gnu already in DB",
        "platform windows_x86_64 already in DB",
        "app worker already in DB",
        "app tuned already in DB"]
    assert (database.query("SELECT * FROM platform ORDER BY id"),
            database.query("SELECT * FROM app ORDER BY id")) == rows


def test_updates_changed_columns_only(mini):
    proj, database = mini
    assert run_xadd(proj, PROJECT_XML).returncode == 0
    # Set on the admin web pages: a project.xml without <min_version> keeps it.
    database.execute("UPDATE app SET min_version=800 WHERE name='worker'")
    changed = (PROJECT_XML
               .replace("Microsoft Windows running", "Windows running")
               .replace("<min_version>700</min_version>", "<min_version>710</min_version>")
               .replace("<weight>2.5</weight>", "<weight>3</weight>"))
    res = run_xadd(proj, changed)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "platform x86_64-pc-linux-gnu already in DB",
        "updated user friendly name of platform windows_x86_64",
        "app worker already in DB",
        "updated min_version of app tuned",
        "updated weight of app tuned"]
    assert database.scalar("SELECT user_friendly_name FROM platform WHERE name="
                           "'windows_x86_64'") == "Windows running on an AMD x86_64 or " \
                                                 "Intel EM64T CPU"
    assert database.scalar("SELECT min_version FROM app WHERE name='worker'") == 800
    assert database.query_one("SELECT min_version, weight FROM app WHERE name='tuned'") == \
        {"min_version": 710, "weight": 3.0}


def test_deprecated_platform(mini):
    proj, database = mini
    xml = ("<boinc><platform><name>old</name><user_friendly_name>Old</user_friendly_name>"
           "<deprecated/></platform></boinc>")
    assert run_xadd(proj, xml).returncode == 0
    assert database.scalar("SELECT deprecated FROM platform WHERE name='old'") == 1
    res = run_xadd(proj, xml.replace("<deprecated/>", "<deprecated>0</deprecated>"))
    assert res.stdout.splitlines() == ["updated deprecated of platform old"]
    assert database.scalar("SELECT deprecated FROM platform WHERE name='old'") == 0


def test_bad_value_changes_nothing(mini):
    proj, database = mini
    res = run_xadd(proj, PROJECT_XML.replace("<weight>2.5</weight>", "<weight>heavy</weight>"))
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        "xadd: %s: app tuned: <weight> has a bad value 'heavy'" % (proj / "project.xml")]
    assert database.scalar("SELECT COUNT(*) FROM platform") == 0
    assert database.scalar("SELECT COUNT(*) FROM app") == 0


def test_malformed_or_missing_project_xml(mini):
    proj, database = mini
    res = run_xadd(proj)
    assert res.returncode == 1
    assert len(res.stderr.splitlines()) == 1 and "no project.xml" in res.stderr
    res = run_xadd(proj, "<boinc><app><name>x</name></boinc>")
    assert res.returncode == 1
    assert len(res.stderr.splitlines()) == 1 and "not well-formed" in res.stderr
    res = run_xadd(proj, "<boinc><app><user_friendly_name>X</user_friendly_name></app></boinc>")
    assert res.returncode == 1 and "without <name>" in res.stderr
    assert database.scalar("SELECT COUNT(*) FROM app") == 0


def _refproj_rows(table):
    """The VALUES of ``INSERT INTO `table``` in BOINC's dump, as tuples."""
    with open(os.path.join(REFPROJ, "refproj.sql")) as f:
        sql = f.read()
    m = re.search(r"INSERT INTO `%s` VALUES\n(.*?);\n" % table, sql, re.S)
    rows = []
    for tup in re.findall(r"\((.*?)\)(?:,\n|$)", m.group(1)):
        rows.append(tuple(v[1:-1] if v.startswith("'") else float(v)
                          for v in re.findall(r"'[^']*'|[-\d.]+", tup)))
    return rows


def test_refproj_project_xml_gives_boincs_rows(mini):
    """BOINC's own make_project + xadd: same platform and app rows (but times)."""
    proj, database = mini
    with open(os.path.join(REFPROJ, "project.xml")) as f:
        assert run_xadd(proj, f.read()).returncode == 0
    ours = [tuple(float(v) if isinstance(v, (int, float)) else v for v in r.values())
            for r in database.query("SELECT * FROM platform ORDER BY id")]
    theirs = _refproj_rows("platform")
    assert len(ours) == len(theirs) == 20
    for a, b in zip(ours, theirs):
        assert a[:1] + a[2:] == b[:1] + b[2:]        # all but create_time
    ours = [tuple(float(v) if isinstance(v, (int, float)) else v for v in r.values())
            for r in database.query("SELECT * FROM app ORDER BY id")]
    theirs = _refproj_rows("app")
    assert [a[:1] + a[2:] for a in ours] == [b[:1] + b[2:] for b in theirs]


def test_read_project_xml_types(tmp_path):
    path = tmp_path / "project.xml"
    path.write_text(PROJECT_XML)
    platforms, apps = xadd.read_project_xml(str(path))
    assert platforms[0] == {"name": "x86_64-pc-linux-gnu", "user_friendly_name":
                            "Linux running on an AMD x86_64 or Intel EM64T CPU"}
    assert apps[1]["beta"] == 1 and apps[1]["fraction_done_exact"] == 0
    assert apps[1]["weight"] == 2.5 and apps[1]["min_version"] == 700


def test_in_a_project_made_by_make_project(make_project):
    """The operator's path: make_project, then the project's own bin/xadd."""
    made = make_project("xaddtest", "--test_app")
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    res = subprocess.run([os.path.join(made.dir, "bin", "xadd")], cwd=made.dir, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    platforms, apps = xadd.read_project_xml(os.path.join(made.dir, "project.xml"))
    assert res.stdout.count("added platform: ") == len(platforms) > 0
    assert res.stdout.splitlines()[-1].startswith(
        "added app: (create_time, name, user_friendly_name) values (")
    with dbmod.connect(made.config) as database:
        assert [r["name"] for r in database.query("SELECT name FROM platform ORDER BY id")] == \
            [p["name"] for p in platforms]
        assert [r["name"] for r in database.query("SELECT name FROM app")] == ["example_app"]
