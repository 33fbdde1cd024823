"""The web RPCs through a real private Apache, as CGI and as FastCGI programs.

The project is made by make_project (which installs the html/user programs),
served by the Apache configuration sched.apache writes, and called over
HTTP with urllib, as a client would.
"""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from testenv import program_pids
from webrpc import children, error_of, web_project  # noqa: F401 (fixture)
from sched import passwd
from sched.web import RPCS

EMAIL = "http.user@example.org"
PW = passwd.client_hash("password", EMAIL)


@pytest.mark.parametrize("mode", ["cgi", "fcgi"])
def test_rpcs_over_http(web_project, private_apache, mode):
    p = web_project()
    web = private_apache(p.made, mode)

    # The master page is still the page, with the scheduler in both forms.
    status, ctype, body = p.http("")
    sched_url = p.made.url("test_cgi/cgi")
    assert status == 200 and ctype.startswith("text/html")
    assert '<link rel="boinc_scheduler" href="%s">' % sched_url in body.decode()
    assert "<scheduler>%s</scheduler>" % sched_url in body.decode()

    root = p.http_rpc("get_project_config.php")
    assert root.tag == "project_config"
    assert root.findtext("master_url") == p.made.url("test/")
    assert [x.findtext("platform_name") for x in root.find("platforms")] == [
        "windows_x86_64", "x86_64-pc-linux-gnu", "x86_64-pc-linux-gnu"]

    root = p.http_rpc("create_account.php", email_addr=EMAIL, passwd_hash=PW, user_name="Web")
    assert root.tag == "account_out"
    key = root.findtext("authenticator")
    assert re.fullmatch("[0-9a-f]{32}", key)
    assert p.db.scalar("SELECT passwd_hash FROM user").startswith("$2y$10$")
    assert error_of(p.http_rpc("create_account.php", email_addr=EMAIL, user_name="Web",
                               passwd_hash=passwd.client_hash("other", EMAIL))) == (
        -137, "Name or email address is not unique")
    assert error_of(p.http_rpc("create_account.php", email_addr="bad", passwd_hash=PW,
                               user_name="Web2"))[0] == -205

    assert p.http_rpc("lookup_account.php", email_addr=EMAIL,
                      passwd_hash=PW).findtext("authenticator") == key
    # The failed logins (BOINC waits 5 s before each answer) run side by side.
    with ThreadPoolExecutor(2) as pool:
        wrong = pool.submit(p.http_rpc, "lookup_account.php", email_addr=EMAIL,
                            passwd_hash="0" * 32)
        unknown = pool.submit(p.http_rpc, "lookup_account.php", email_addr="no@example.org",
                              passwd_hash=PW)
        assert error_of(wrong.result()) == (-206, "Invalid password")
        assert error_of(unknown.result()) == (-136, "Not found")

    root = p.http_rpc("am_get_info.php", account_key=key)
    assert root.tag == "am_get_info_reply" and root.findtext("name") == "Web"
    uid = int(root.findtext("id"))
    p.add_host(uid)
    team = p.add_team("Web Team", userid=uid)
    root = p.http_rpc("show_user.php", auth=key, format="xml")
    assert root.tag == "user" and len(root.findall("host")) == 1
    root = p.http_rpc("show_user.php", userid=uid, format="xml")
    assert "host" not in children(root)
    assert p.http_rpc("team_lookup.php", team_id=team).findtext("name") == "Web Team"
    root = p.http_rpc("team_lookup.php", team_name="web", format="xml")
    assert [t.findtext("id") for t in root] == [str(team)]

    # config.xml and trigger files take effect at once (also in a lasting process).
    p.set_config(disable_account_creation="1")
    assert error_of(p.http_rpc("create_account.php", email_addr="n@example.org",
                               passwd_hash=PW, user_name="N")) == (
        -1, "The project is not accepting new accounts.")
    assert "account_creation_disabled" in children(p.http_rpc("get_project_config.php"))
    p.touch("stop_web")
    assert error_of(p.http_rpc("lookup_account.php", email_addr=EMAIL, passwd_hash=PW)) == (
        -183, "Project is temporarily offline")
    assert p.http_rpc("get_project_config.php").findtext("web_stopped") == "1"

    # Every RPC name runs our program (never served as a file).
    for name in RPCS:
        status, ctype, body = p.http(name)
        if name == "team_lookup.php":            # its HTML search page is not ours
            assert status == 404 and b"format=xml" in body
        else:
            assert status == 200 and ctype.startswith("text/xml"), name
        assert b"sched.entry" not in body

    if mode == "fcgi":
        # One lasting FastCGI process per program answered every call.
        prog = p.path("html", "user", "get_project_config.php")
        pids = program_pids(prog)
        assert len(pids) == 1
        p.http_rpc("get_project_config.php")
        assert program_pids(prog) == pids
    with open(web.error_log) as f:
        assert "Traceback" not in f.read()
