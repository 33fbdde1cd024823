"""The real BOINC client's account RPCs against our web RPCs.

``boinccmd --get_project_config / --create_account / --lookup_account`` ask
a running client (GUI RPC), which fetches the project URL itself: so a
real client (tests/boinc_client.py) runs, and the project is served by a
private Apache.
"""

import re

import pytest

from webrpc import web_project  # noqa: F401 (fixture)
from sched import passwd


def poll_result(out):
    """boinccmd's last line: the answer after its 'poll status: ...in progress' lines."""
    lines = [line for line in out.splitlines() if line.strip()]
    return lines[-1]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cgi", "fcgi"])
def test_boinccmd_account_rpcs(web_project, private_apache, boinc_client, mode):
    p = web_project()
    p.set_config(long_name="Web Test Project", min_passwd_length="8")
    private_apache(p.made, mode)
    url = p.made.url("test/")
    client = boinc_client()

    out = client.boinccmd("--get_project_config", url).stdout
    assert "name: Web Test Project" in out and "min_passwd_length: 8" in out, out

    out = client.boinccmd("--create_account", url, "Real.Client@Example.org", "pass word1",
                          "Real Client").stdout
    m = re.search(r"account key: ([0-9a-f]{32})$", poll_result(out))
    assert m, out
    key = m.group(1)
    user = p.db.query_one("SELECT * FROM user WHERE authenticator = %s", (key,))
    assert user["email_addr"] == "real.client@example.org" and user["name"] == "Real Client"
    # The client sent md5(password + lower-cased e-mail); the row holds its bcrypt.
    assert passwd.verify(passwd.client_hash("pass word1", "real.client@example.org"),
                         user["passwd_hash"])[0]

    out = client.boinccmd("--lookup_account", url, "real.client@example.org",
                          "pass word1").stdout
    assert poll_result(out) == "account key: %s" % key, out
    # Refusals reach the client as BOINC's error numbers.
    out = client.boinccmd("--lookup_account", url, "real.client@example.org", "wrong",
                          check=False).stdout
    assert poll_result(out) == "poll status: bad password", out            # -206
    out = client.boinccmd("--create_account", url, "real.client@example.org", "other pw",
                          "Real Client", check=False).stdout
    assert poll_result(out) == "poll status: database lookup not unique", out    # -137
    assert p.db.scalar("SELECT COUNT(*) FROM user") == 1
