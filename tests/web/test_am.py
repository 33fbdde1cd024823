"""am_get_info.php, am_set_info.php, am_set_host_info.php in-process."""

from accounts import create_user
from webrpc import children, error_of, web_project  # noqa: F401 (fixture)
from sched import passwd

GLOBAL_PREFS = ("<global_preferences>\n<run_on_batteries>0</run_on_batteries>\n"
                "</global_preferences>")


def test_am_get_info(web_project):
    p = web_project()
    key = create_user(p.db, "am@example.org", "Jo Doe & Co", country="Germany",
                      url="https://jo.example.org/~me", global_prefs=GLOBAL_PREFS,
                      venue="work", has_profile=1, send_email=0)
    user = p.db.query_one("SELECT * FROM user WHERE authenticator = %s", (key,))
    root = p.rpc("am_get_info.php", account_key=key)
    assert root.tag == "am_get_info_reply"
    assert children(root) == ["success", "id", "name", "country", "weak_auth", "cpid",
                              "has_profile", "create_time", "global_prefs", "project_prefs",
                              "url", "send_email", "show_hosts", "teamid", "venue"]
    value = root.findtext
    assert value("id") == str(user["id"])
    # URL-encoded as PHP's urlencode.
    assert value("name") == "Jo+Doe+%26+Co"
    assert value("country") == "Germany"
    assert value("url") == "https%3A%2F%2Fjo.example.org%2F%7Eme"
    assert value("weak_auth") == "%d_%s" % (user["id"], passwd.md5_hex(key + user["passwd_hash"]))
    assert value("cpid") == passwd.md5_hex(user["cross_project_id"] + "am@example.org")
    assert (value("has_profile"), value("send_email"), value("show_hosts")) == ("1", "0", "1")
    assert value("create_time") == str(user["create_time"])
    assert value("global_prefs/global_preferences/run_on_batteries") == "0"
    assert value("project_prefs").strip() == ""
    assert value("teamid") == "0" and value("venue") == "work"


def test_team_founder(web_project):
    p = web_project()
    key = create_user(p.db, "f@example.org", "Founder")
    uid = p.db.scalar("SELECT id FROM user WHERE authenticator = %s", (key,))
    team = p.add_team("Mine", userid=uid)
    p.db.execute("UPDATE user SET teamid = %s", (team,))
    root = p.rpc("am_get_info.php", account_key=key)
    assert root.findtext("teamid") == str(team)
    assert children(root)[-1] == "teamfounder"
    p.db.execute("UPDATE team SET userid = 0")
    assert "teamfounder" not in children(p.rpc("am_get_info.php", account_key=key))


def test_am_get_info_errors(web_project):
    p = web_project()
    assert error_of(p.rpc("am_get_info.php", account_key="f" * 32)) == (-136, "Not found")
    assert error_of(p.rpc("am_get_info.php")) == (-1, "missing or bad parameter: account_key")
    p.touch("stop_web")
    assert error_of(p.rpc("am_get_info.php", account_key="f" * 32))[0] == -183


def test_am_set_info_is_not_supported(web_project):
    p = web_project()
    key = create_user(p.db, "s@example.org", "Setter")
    assert error_of(p.rpc("am_set_info.php", account_key=key, name="New")) == (
        -1, "not supported")
    assert p.db.scalar("SELECT name FROM user") == "Setter"


def test_am_set_host_info(web_project):
    p = web_project()
    key = create_user(p.db, "h@example.org", "Hoster")
    other = create_user(p.db, "o@example.org", "Other")
    uid = p.db.scalar("SELECT id FROM user WHERE authenticator = %s", (key,))
    oid = p.db.scalar("SELECT id FROM user WHERE authenticator = %s", (other,))
    mine, theirs = p.add_host(uid), p.add_host(oid)
    root = p.rpc("am_set_host_info.php", account_key=key, hostid=mine, venue="school")
    assert root.tag == "am_set_host_info_reply" and children(root) == ["success"]
    assert p.db.scalar("SELECT venue FROM host WHERE id = %s", (mine,)) == "school"
    assert error_of(p.rpc("am_set_host_info.php", account_key=key, hostid=theirs,
                          venue="x")) == (-136, "Not found")
    assert error_of(p.rpc("am_set_host_info.php", account_key="0" * 32, hostid=mine,
                          venue="x")) == (-136, "Not found")
    assert error_of(p.rpc("am_set_host_info.php", account_key=key, hostid="x",
                          venue="x")) == (-1, "missing or bad parameter: hostid")
    assert p.db.scalar("SELECT venue FROM host WHERE id = %s", (theirs,)) == "home"
