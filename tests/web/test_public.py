"""show_user.php?format=xml and team_lookup.php in-process."""

from accounts import create_user
from webrpc import children, error_of, web_project  # noqa: F401 (fixture)
from sched import passwd
from sched.web.public import HOST_FIELDS, TEAM_FIELDS, normalize_user_url

USER_FIELDS = ["id", "cpid", "create_time", "name", "total_credit", "expavg_credit",
               "expavg_time", "teamid", "has_profile"]


def user_row(p, key):
    return p.db.query_one("SELECT * FROM user WHERE authenticator = %s", (key,))


def test_show_user_by_id_is_public(web_project):
    p = web_project()
    key = create_user(p.db, "pub@example.org", "Pub <lic>", country="France",
                      url="www.example.org/me", total_credit=1234.5, expavg_credit=7,
                      expavg_time=1700000000.25)
    user = user_row(p, key)
    p.add_host(user["id"])
    root = p.rpc("show_user.php", userid=user["id"], format="xml")
    assert root.tag == "user"
    assert children(root) == USER_FIELDS + ["country", "url"]
    assert root.findtext("id") == str(user["id"])
    assert root.findtext("cpid") == passwd.md5_hex(user["cross_project_id"] + "pub@example.org")
    assert root.findtext("name") == "Pub <lic>"
    assert root.findtext("total_credit") == "1234.5"
    assert root.findtext("expavg_credit") == "7"
    assert root.findtext("expavg_time") == "1700000000.25"
    assert root.findtext("country") == "France"
    assert root.findtext("url") == "http://www.example.org/me"


def test_show_user_by_account_key_lists_hosts(web_project):
    p = web_project()
    key = create_user(p.db, "me@example.org", "Me", venue="home")
    user = user_row(p, key)
    h1 = p.add_host(user["id"])
    h2 = p.add_host(user["id"], domain_name="other", p_fpops=1.5e9)
    p.add_host(0)
    root = p.rpc("show_user.php", auth=key, format="xml")
    assert children(root) == USER_FIELDS + ["venue", "host", "host", "country"]
    assert root.findtext("venue") == "home"
    hosts = root.findall("host")
    assert [h.findtext("id") for h in hosts] == [str(h1), str(h2)]
    assert children(hosts[0]) == list(HOST_FIELDS)
    assert hosts[1].findtext("domain_name") == "other"
    assert hosts[1].findtext("p_fpops") == "1500000000"
    assert hosts[0].findtext("total_credit") == "12.5"
    assert hosts[0].findtext("host_cpid") == "c" * 32


def test_show_user_options_and_errors(web_project):
    p = web_project()
    key = create_user(p.db, "x@example.org", "X", url="ftp://bad")
    uid = user_row(p, key)["id"]
    p.set_config(user_country="0")
    # A URL BOINC won't show is an empty element.
    root = p.rpc("show_user.php", userid=uid, format="xml")
    assert children(root) == USER_FIELDS + ["url"] and root.findtext("url") == ""
    p.set_config(user_url="0")
    assert children(p.rpc("show_user.php", userid=uid, format="xml")) == USER_FIELDS
    assert error_of(p.rpc("show_user.php", userid=uid + 1, format="xml")) == (-136, "Not found")
    assert error_of(p.rpc("show_user.php", auth="0" * 32, format="xml"))[0] == -136
    assert error_of(p.rpc("show_user.php", format="xml")) == (
        -1, "missing or bad parameter: userid")
    status, headers, body = p.call("show_user.php", userid=uid)
    assert status.startswith("404") and b"format=xml" in body
    p.touch("stop_web")
    assert error_of(p.rpc("show_user.php", userid=uid, format="xml"))[0] == -183


def test_normalize_user_url():
    assert normalize_user_url("HTTPS://a.org/x?y=1&z=2#f") == "https://a.org/x?y=1&z=2#f"
    assert normalize_user_url("a.org") == "http://a.org"
    assert normalize_user_url("javascript://x") == ""
    assert normalize_user_url("a.org/<script>") == ""
    assert normalize_user_url("") == ""


def test_team_lookup(web_project):
    p = web_project()
    key = create_user(p.db, "t@example.org", "Captain")
    uid = user_row(p, key)["id"]
    a = p.add_team("Alpha Team", userid=uid, url="a.org/?x=1&y=2", country="Spain",
                   expavg_credit=5, total_credit=99.5)
    b = p.add_team("Beta_Team", expavg_credit=50)
    p.add_team("BetaXTeam", expavg_credit=1)

    root = p.rpc("team_lookup.php", team_id=a)
    assert root.tag == "team" and children(root) == list(TEAM_FIELDS)
    assert root.findtext("name") == "Alpha Team"
    assert root.findtext("userid") == str(uid)
    assert root.findtext("url") == "a.org/?x=1&y=2"
    assert root.findtext("country") == "Spain"
    assert root.findtext("total_credit") == "99.5"

    root = p.rpc("team_lookup.php", team_ids="%d,x,%d,99999" % (b, a))
    assert root.tag == "teams"
    assert [t.findtext("id") for t in root] == [str(b), str(a)]

    # Name search: a substring, any case, '_' and '%' literal; best teams first.
    root = p.rpc("team_lookup.php", team_name="team", format="xml")
    assert [t.findtext("name") for t in root] == ["Beta_Team", "Alpha Team", "BetaXTeam"]
    root = p.rpc("team_lookup.php", team_name="a_t", format="xml")
    assert [t.findtext("name") for t in root] == ["Beta_Team"]
    assert list(p.rpc("team_lookup.php", team_name="%", format="xml")) == []

    assert error_of(p.rpc("team_lookup.php", team_id=99999)) == (-136, "Not found")
    assert error_of(p.rpc("team_lookup.php", format="xml")) == (
        -1, "missing or bad parameter: team_name")
    status, headers, body = p.call("team_lookup.php", team_name="x")
    assert status.startswith("404")
    p.touch("stop_web")
    assert error_of(p.rpc("team_lookup.php", team_id=a))[0] == -183
