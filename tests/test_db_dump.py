"""db_dump (sched/db_dump.py): the statistics files of a real project, read
back (gzip, zip, XML) and compared with BOINC's record formats and CPIDs."""

import glob
import gzip
import hashlib
import io
import os
import time
import zipfile

import pytest

from backend_helpers import program
from testenv import ROOT
from stats_helpers import sp as stats_project  # noqa: F401 (fixture)

from sched import db_dump as dd
from sched import log as logmod
from sched.errors import BoincError
from sched.xmlutil import parse_bytes

NOW = int(time.time())


@pytest.fixture
def sp(stats_project):
    stats_project.stats = os.path.join(stats_project.dir, "html", "stats")
    return stats_project


def read_gz(path):
    with gzip.open(path, "rb") as f:
        return f.read()


def records(data):
    return {int(e.findtext("id")): e for e in parse_bytes(data)}


def md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def fill(sp):
    """Users, hosts, teams, deleted ids, an app and a badge; returns the ids."""
    ids = {}
    sp.add_app()
    ids["founder"] = sp.add_user(name="Zoë <&> ]]> x", total_credit=50.0, expavg_credit=5.5,
                                 expavg_time=NOW, country="Germany", url="example.org/z",
                                 cross_project_id="c" * 32, email_addr="zoe@example.org",
                                 has_profile=1, create_time=1_700_000_000)
    ids["team"] = sp.add_team(userid=ids["founder"], name="Team \u00e9", total_credit=60.0,
                              expavg_credit=6.0, expavg_time=NOW, country="France",
                              url="t.example", description="a & b", type=4, nusers=2)
    sp.db.execute("UPDATE user SET teamid = %s WHERE id = %s", (ids["team"], ids["founder"]))
    ids["member"] = sp.add_user(teamid=ids["team"], total_credit=10.0, show_hosts=0,
                                cross_project_id="d" * 32, email_addr="m@example.org")
    ids["idle"] = sp.add_user(total_credit=0.0)
    ids["gone"] = sp.add_user(total_credit=5.0, authenticator="deleted_1700000000_x")
    ids["host"] = sp.add_host(ids["founder"], hav=False, total_credit=20.0, expavg_credit=2.0,
                              expavg_time=NOW, p_vendor="GenuineIntel", p_model="Xeon ® 2",
                              os_name="Linux", os_version="6.1", host_cpid="h" * 32,
                              p_ncpus=8, p_fpops=3.5e9, create_time=1_700_000_001,
                              misc='{"docker": 1}')
    ids["hidden_host"] = sp.add_host(ids["member"], hav=False, total_credit=1.0,
                                     host_cpid="k" * 32)
    ids["merged_host"] = sp.add_host(0, hav=False, total_credit=3.0)
    ids["deleted_host"] = sp.add_host(ids["member"], hav=False, total_credit=3.0,
                                      domain_name="deleted")
    ids["no_credit_host"] = sp.add_host(ids["member"], hav=False)
    sp.db.execute("INSERT INTO user_deleted (userid, public_cross_project_id, create_time) "
                  "VALUES (900, %s, %s)", ("e" * 32, NOW))
    sp.db.execute("INSERT INTO host_deleted (hostid, public_cross_project_id, create_time) "
                  "VALUES (901, %s, %s)", ("f" * 32, NOW))
    ids["badge"] = sp.insert("badge", create_time=NOW, name="user_pct_0",
                             title="Top 1% in average credit", image_url="img/pct_1.png")
    sp.db.execute("INSERT INTO badge_user (badge_id, user_id, create_time, reassign_time) "
                  "VALUES (%s, %s, 1700000000.4, 0)", (ids["badge"], ids["founder"]))
    return ids


def test_the_default_task_writes_boincs_files(sp):
    ids = fill(sp)
    # as config.xml runs it (cwd tmp_HOST, the spec make_project installed)
    result = program(sp.made, "db_dump", "-d", "2", "--dump_spec", "../db_dump_spec.xml")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(sp.stats)) == [
        "badge_team.gz", "badge_user.gz", "db_dump.xml", "host.gz", "host_deleted.gz",
        "tables.xml", "team.gz", "user.gz", "user_deleted.gz"]
    assert not os.path.exists(os.path.join(sp.made.dir, "html", "stats_tmp"))
    # make_project's empty html/stats was replaced, not archived
    assert not glob.glob(sp.stats + "_*")

    data = read_gz(os.path.join(sp.stats, "user.gz"))
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<users>\n')
    users = records(data)
    assert sorted(users) == sorted([ids["founder"], ids["member"]])   # credit, not deleted
    z = users[ids["founder"]]
    assert z.findtext("cpid") == md5("c" * 32 + "zoe@example.org")
    # BOINC's escaping: every byte of the UTF-8 name above 127 as &#N;
    assert b"<name>Zo&#195;&#171; &lt;&amp;> ]]&gt; x</name>" in data
    assert z.findtext("teamid") == str(ids["team"]) and z.find("has_profile") is not None
    assert users[ids["member"]].findtext("cpid") == md5("d" * 32 + "m@example.org")

    hosts = records(read_gz(os.path.join(sp.stats, "host.gz")))
    assert sorted(hosts) == sorted([ids["host"], ids["hidden_host"]])
    h = hosts[ids["host"]]
    assert h.findtext("userid") == str(ids["founder"])          # its owner shows hosts
    assert hosts[ids["hidden_host"]].find("userid") is None      # show_hosts=0
    assert h.findtext("host_cpid") == "h" * 32
    assert h.findtext("ncpus") == "8" and h.findtext("p_fpops") == "3500000000.000000"
    assert h.findtext("misc") == '{"docker": 1}'

    teams = records(read_gz(os.path.join(sp.stats, "team.gz")))
    t = teams[ids["team"]]
    assert t.findtext("founder_name") == "Zo\u00c3\u00ab <&> ]]> x"   # the bytes, as BOINC
    assert (t.findtext("type"), t.findtext("country"), t.findtext("description")) == \
        ("4", "France", "a & b")

    deleted = records(read_gz(os.path.join(sp.stats, "user_deleted.gz")))
    assert deleted[900].findtext("cpid") == "e" * 32
    deleted = records(read_gz(os.path.join(sp.stats, "host_deleted.gz")))
    assert deleted[901].findtext("host_cpid") == "f" * 32

    with open(os.path.join(sp.stats, "tables.xml"), "rb") as f:
        tables = parse_bytes(f.read())
    assert abs(int(tables.findtext("update_time")) - time.time()) < 3600
    assert tables.findtext("nusers_total") == "2"
    assert tables.findtext("nhosts_total") == "2"
    assert tables.findtext("nteams_total") == "1"
    assert tables.findtext("nusers_deleted_total") == "1"
    assert tables.findtext("total_credit") == "60.000000"
    assert [a.findtext("name") for a in tables.iter("application")] == ["worker"]
    assert tables.find("badges/badge/title").text == "Top 1% in average credit"
    badge_users = parse_bytes(read_gz(os.path.join(sp.stats, "badge_user.gz")))
    assert badge_users.tag == "badge_users"
    assert [(b.findtext("user_id"), b.findtext("badge_id"), b.findtext("create_time"))
            for b in badge_users] == [(str(ids["founder"]), str(ids["badge"]), "1700000000")]
    with open(os.path.join(sp.stats, "db_dump.xml"), "rb") as f, \
            open(os.path.join(sp.made.dir, "db_dump_spec.xml"), "rb") as g:
        assert f.read() == g.read()


def test_a_second_dump_replaces_the_first_which_is_archived(sp):
    sp.add_user(total_credit=1.0)
    assert program(sp.made, "db_dump").returncode == 0
    first = read_gz(os.path.join(sp.stats, "user.gz"))
    second_user = sp.add_user(total_credit=2.0)
    result = program(sp.made, "db_dump")
    assert result.returncode == 0, result.stderr
    assert second_user in records(read_gz(os.path.join(sp.stats, "user.gz")))
    archived = glob.glob(sp.stats + "_*_*_*_*_*_*")
    assert len(archived) == 1
    assert read_gz(os.path.join(archived[0], "user.gz")) == first
    assert "previous dump moved to %s" % archived[0] in result.stderr


def test_user_record_is_byte_for_byte_boincs(sp):
    u = dict(id=7, name="ann", create_time=1700000000, total_credit=1.5, expavg_credit=0.25,
             expavg_time=1700000000.5, cross_project_id="a" * 32, email_addr="a@b.c",
             country="Japan", url="", teamid=3, has_profile=0)
    assert dd.user_record(u, sp.made.config) == (
        "<user>\n <id>7</id>\n <name>ann</name>\n <create_time>1700000000</create_time>\n"
        " <total_credit>1.500000</total_credit>\n <expavg_credit>0.250000</expavg_credit>\n"
        " <expavg_time>1700000000.500000</expavg_time>\n <cpid>%s</cpid>\n"
        " <country>Japan</country>\n <teamid>3</teamid>\n</user>\n" % md5("a" * 32 + "a@b.c"))


def test_statistics_consent_leaves_out_who_refused(sp):
    yes, no = sp.add_user(total_credit=1.0), sp.add_user(total_credit=2.0)
    sp.add_host(yes, hav=False, total_credit=1.0)
    sp.add_host(no, hav=False, total_credit=1.0)
    ct = sp.db.scalar("SELECT id FROM consent_type WHERE shortname='STATSEXPORT'")
    sp.db.execute("UPDATE consent_type SET enabled = 1 WHERE id = %s", (ct,))
    for userid, flag, when in ((yes, 0, 1), (yes, 1, 2), (no, 1, 1), (no, 0, 2)):
        sp.insert("consent", userid=userid, consent_type_id=ct, consent_time=when,
                  consent_flag=flag, source="test")
    assert program(sp.made, "db_dump").returncode == 0
    assert list(records(read_gz(os.path.join(sp.stats, "user.gz")))) == [yes]
    assert [int(h.findtext("userid")) for h in
            parse_bytes(read_gz(os.path.join(sp.stats, "host.gz")))] == [yes]
    with open(os.path.join(sp.stats, "tables.xml"), "rb") as f:
        tables = parse_bytes(f.read())
    assert tables.findtext("nusers_total") == "2"       # the totals count everyone


SPEC = """<boinc_db_dump_spec>
  <output_dir>{out}</output_dir>
  <final_output_dir>{out}_final</final_output_dir>
  <enumeration>
    <table>user</table> <filename>user_avg</filename> <sort>expavg_credit</sort>
    <output> <recs_per_file>2</recs_per_file> </output>
    <output> <compression>zip</compression> </output>
  </enumeration>
  <enumeration>
    <table>team</table> <filename>team_detail</filename> <sort>total_credit</sort>
    <output> <detail/> </output>
  </enumeration>
</boinc_db_dump_spec>
"""


def test_spec_sorts_numbered_files_zip_and_team_members(sp, tmp_path, monkeypatch):
    monkeypatch.setattr(dd, "PAGE", 2)          # several pages of keyset paging
    team = sp.add_team(total_credit=9.0)
    users = [sp.add_user(total_credit=1.0, expavg_credit=x, teamid=team)
             for x in (3.0, 7.0, 7.0, 1.0, 5.0)]
    out = str(tmp_path / "dump")
    os.makedirs(out)
    spec = dd.parse_spec(SPEC.format(out=out))
    dd.Dump(sp.db, sp.made.config, spec, out, logmod.Log(stream=io.StringIO())).run()
    by_avg = [users[i] for i in (1, 2, 4, 0, 3)]        # expavg desc, then id
    numbered = sorted(n for n in os.listdir(out) if n.startswith("user_avg_"))
    assert numbered == ["user_avg_0", "user_avg_1", "user_avg_2"]
    got = []
    for name in numbered:
        with open(os.path.join(out, name), "rb") as f:
            got += [int(u.findtext("id")) for u in parse_bytes(f.read())]
    assert got == by_avg
    with zipfile.ZipFile(os.path.join(out, "user_avg.zip")) as z:
        assert z.namelist() == ["user_avg"]
        assert [int(u.findtext("id")) for u in parse_bytes(z.read("user_avg"))] == by_avg
    with open(os.path.join(out, "team_detail"), "rb") as f:
        t = parse_bytes(f.read()).find("team")
    assert [int(u.findtext("id")) for u in t.findall("user")] == users


@pytest.mark.parametrize("text, problem", [
    ("<boinc_db_dump_spec><final_output_dir>a</final_output_dir></boinc_db_dump_spec>",
     "has no <output_dir>"),
    ("<boinc_db_dump_spec><output_dir>a</output_dir><final_output_dir>b</final_output_dir>"
     "<enumeration><table>workunit</table><filename>w</filename></enumeration>"
     "</boinc_db_dump_spec>", "<table>workunit</table> is not one of"),
    ("<boinc_db_dump_spec><output_dir>a</output_dir><final_output_dir>b</final_output_dir>"
     "<enumeration><table>user</table><filename>u</filename><sort>name</sort></enumeration>"
     "</boinc_db_dump_spec>", "<sort>name</sort> is not one of"),
    ("<boinc_db_dump_spec><output_dir>a</output_dir><final_output_dir>b</final_output_dir>"
     "<enumeration><table>user</table><filename>u</filename><output><compression>bz2"
     "</compression></output></enumeration></boinc_db_dump_spec>", "is not gzip or zip"),
    ("<boinc_db_dump_spec><output_dir>a</output_dir><final_output_dir>b</final_output_dir>"
     "<enumeration><table>user</table></enumeration></boinc_db_dump_spec>",
     "needs a <filename>"),
    ("<boinc_db_dump_spec>", "not well-formed"),
])
def test_spec_errors_name_the_problem(text, problem):
    with pytest.raises(BoincError, match=problem.replace("<", ".").replace(">", ".")):
        dd.parse_spec(text, "spec.xml")


def test_template_spec_is_boincs_default():
    with open(os.path.join(ROOT, "project_template", "base", "db_dump_spec.xml"), "rb") as f:
        ours = dd.parse_spec(f.read())
    default = dd.parse_spec(dd.DEFAULT_SPEC)
    assert ours.enumerations == default.enumerations
    assert (ours.output_dir, ours.final_output_dir) == ("../html/stats_tmp", "../html/stats")
    assert [(e.table, e.outputs[0].detail) for e in ours.enumerations] == [
        ("user", False), ("user_deleted", False), ("host", True), ("host_deleted", True),
        ("team", False)]


def test_bad_spec_file_is_one_line(sp):
    result = program(sp.made, "db_dump", "--dump_spec", "nothing.xml")
    assert result.returncode == 1
    assert "can't read the dump spec nothing.xml" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("atomic", [True, False])
def test_publish_swaps_and_archives(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(dd, "exchange", lambda a, b: False)
    new, final = tmp_path / "stats_tmp", tmp_path / "stats"
    for d, text in ((new, "new"), (final, "old")):
        d.mkdir()
        (d / "user.gz").write_text(text)
    old = dd.publish(str(new), str(final), archive_dir=str(tmp_path / "arch"), now=0)
    assert (final / "user.gz").read_text() == "new"
    assert not new.exists()
    assert os.path.basename(old).startswith("stats_19")
    assert os.path.dirname(old) == str(tmp_path / "arch")
    with open(os.path.join(old, "user.gz")) as f:
        assert f.read() == "old"


def test_unwritable_output_dir_is_one_line(sp, tmp_path):
    spec = tmp_path / "spec.xml"
    spec.write_text("<boinc_db_dump_spec><output_dir>../config.xml/stats_tmp</output_dir>"
                    "<final_output_dir>../html/stats</final_output_dir></boinc_db_dump_spec>")
    result = program(sp.made, "db_dump", "--dump_spec", str(spec))
    assert result.returncode == 1
    assert "[CRITICAL] %s/config.xml/stats_tmp: Not a directory" % sp.made.dir in result.stderr
    assert "Traceback" not in result.stderr
