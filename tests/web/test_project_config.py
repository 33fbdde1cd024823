"""get_project_config.php in-process: BOINC's elements, order and sources."""

import base64
import os

from webrpc import children, error_of, web_project  # noqa: F401 (fixture)

PLATFORMS = [("windows_x86_64", "Windows on x86_64", None),
             ("x86_64-pc-linux-gnu", "Linux on x86_64", None),
             ("x86_64-pc-linux-gnu", "Linux on x86_64", "mt")]


def platforms(root):
    return [(p.findtext("platform_name"), p.findtext("user_friendly_name"),
             p.findtext("plan_class")) for p in root.find("platforms")]


def test_a_new_project(web_project):
    p = web_project()
    p.set_config(long_name="Test Project")
    root = p.rpc("get_project_config.php")
    assert root.tag == "project_config"
    assert children(root) == ["name", "master_url", "web_rpc_url_base", "server_version",
                              "web_stopped", "min_passwd_length", "sched_stopped", "platforms"]
    assert root.findtext("name") == "Test Project"
    assert root.findtext("master_url") == p.config.master_url == p.made.url("test/")
    assert root.findtext("web_rpc_url_base") == p.config.master_url
    assert root.findtext("server_version") == "1.1.0"
    assert root.findtext("web_stopped") == "0"
    assert root.findtext("min_passwd_length") == "6"
    assert root.findtext("sched_stopped") == "0"
    # Live versions of live apps; one entry per platform and plan class.
    assert platforms(root) == PLATFORMS


def test_options_and_files(web_project):
    p = web_project()
    p.set_config(account_manager="1", disable_account_creation="1", min_passwd_length="10",
                 min_core_client_version="700", disable_account_creation_rpc="1")
    p.touch("stop_sched")
    with open(p.path("local.revision"), "w") as f:
        f.write("  4711\n")
    with open(p.path("terms_of_use.txt"), "w") as f:
        f.write("\nBe nice.\n\n")
    with open(p.path("project_keywords.xml"), "w") as f:
        f.write("<project_keywords><keyword><id>1</id></keyword></project_keywords>\n")
    key = b"-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n"
    with open(p.config.key_path("account_ownership_public.pem"), "wb") as f:
        f.write(key)
    root = p.rpc("get_project_config.php")
    assert children(root) == [
        "name", "master_url", "web_rpc_url_base", "server_version", "account_manager",
        "local_revision", "web_stopped", "account_creation_disabled",
        "client_account_creation_disabled", "min_passwd_length", "sched_stopped",
        "min_client_version", "platforms", "terms_of_use", "project_keywords",
        "account_ownership_public_key"]
    assert root.findtext("local_revision") == "4711"
    assert root.findtext("min_passwd_length") == "10"
    assert root.findtext("sched_stopped") == "1"
    assert root.findtext("min_client_version") == "700"      # as written in config.xml
    assert root.findtext("terms_of_use") == "\nBe nice.\n"
    assert root.findtext("project_keywords/keyword/id") == "1"
    assert base64.b64decode(root.findtext("account_ownership_public_key")) == key
    assert platforms(root) == PLATFORMS


def test_zero_means_off(web_project):
    p = web_project()
    p.set_config(account_manager="0", disable_account_creation="0",
                 disable_account_creation_rpc="0", min_passwd_length="0",
                 min_core_client_version="0")
    root = p.rpc("get_project_config.php")
    assert "account_manager" not in children(root)
    assert "account_creation_disabled" not in children(root)
    assert "min_client_version" not in children(root)
    assert root.findtext("min_passwd_length") == "6"


def test_stop_web_answers_without_the_database(web_project):
    p = web_project()
    p.touch("stop_web")
    p.set_config(db_passwd="wrong")            # the DB is not even asked
    root = p.rpc("get_project_config.php")
    assert root.findtext("error_num") == "-183"
    assert root.findtext("web_stopped") == "1"
    assert children(root).index("error_num") == children(root).index("web_stopped") - 1
    assert platforms(root) == []
    os.unlink(p.path("stop_web"))
    # Without stop_web, a database it can't reach is BOINC's -138.
    assert error_of(p.rpc("get_project_config.php")) == (-138, "Can't connect to database")


def test_special_characters_stay_well_formed(web_project):
    p = web_project()
    p.set_config(long_name="Tom & Jerry <at> home")
    root = p.rpc("get_project_config.php")
    assert root.findtext("name") == "Tom & Jerry <at> home"
