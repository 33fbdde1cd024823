import os
import subprocess
import sys
import time

import pytest

from testenv import ROOT, SHARED
from sched import config, paths
from sched.errors import ConfigError

REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")


def write(tmp_path, body, name="config.xml"):
    (tmp_path / "cgi-bin").mkdir(exist_ok=True)
    p = tmp_path / name
    p.write_text(body)
    return str(p)


def test_reads_boinc_made_config():
    cfg = config.parse_config(os.path.join(REFPROJ, "config.xml"))
    assert cfg.shmem_key == 0x1111552B
    assert cfg.uldl_dir_fanout == 1024
    assert cfg.db_name == "refproj" and cfg.db_user == "boincadm"
    assert cfg.dont_generate_upload_certificates is True
    assert cfg.max_wus_to_send == 50 and cfg.daily_result_quota == 500
    assert cfg.master_url == "http://127.0.0.1:8081/refproj/"
    assert cfg.httpd_user == "www-data"
    # options only the web site reads stay reachable by name
    assert cfg.get("show_results") == "1"
    assert cfg.get("no_such_tag") is None
    assert [d.cmd for d in cfg.daemons][:3] == ["feeder -d 3", "transitioner -d 3",
                                                "file_deleter -d 3"]
    dump = [t for t in cfg.tasks if t.cmd.startswith("db_dump")][0]
    assert dump.disabled and dump.period == "24 hours" and dump.output == "db_dump.out"
    assert cfg.this_host == "vm"
    assert cfg.replica == dict(host="localhost", name="refproj", user="boincadm",
                               passwd="boincpw")


def test_boinc_defaults_when_absent(tmp_path):
    cfg = config.parse_config(write(tmp_path, "<boinc><config></config></boinc>"))
    assert cfg.max_wus_to_send == 10
    assert cfg.sched_debug_level == 3 and cfg.fuh_debug_level == 3
    assert cfg.default_disk_min_free_gb == 1.0
    assert cfg.maintenance_delay == 3600.0
    assert cfg.max_ncpus == 64
    assert cfg.httpd_user == "apache"
    assert cfg.user_url is True
    assert cfg.work_items == 1000 and cfg.query_size == 2000      # BOINC: 100, 200
    assert cfg.fuh_set_initial_permission == -1
    assert cfg.ban_os == []


def test_value_forms(tmp_path):
    body = """<boinc><config>
      <shmem_key>0x1111abcd</shmem_key>
      <shmem_work_items>010</shmem_work_items>
      <resend_lost_results/>
      <send_result_abort>0</send_result_abort>
      <msg_to_host>1</msg_to_host>
      <max_wus_in_progress></max_wus_in_progress>
      <grace_period_hours>1.5</grace_period_hours>
      <delete_delay_hours>2</delete_delay_hours>
      <fuh_set_completed_permission>0644</fuh_set_completed_permission>
      <ban_os>Windows 95</ban_os><ban_os>Darwin</ban_os>
      <min_core_client_version>700</min_core_client_version>
      <dont_search_host_for_user>7</dont_search_host_for_user>
    </config></boinc>"""
    cfg = config.parse_config(write(tmp_path, body))
    assert cfg.shmem_key == 0x1111ABCD
    assert cfg.shmem_work_items == 8          # strtol base 0: leading 0 is octal
    assert cfg.resend_lost_results is True and cfg.send_result_abort is False
    assert cfg.msg_to_host is True
    assert cfg.max_wus_in_progress == 0
    assert cfg.report_grace_period == 5400
    assert cfg.delete_delay == 7200
    assert cfg.fuh_set_completed_permission == 0o644
    assert cfg.ban_os == ["Windows 95", "Darwin"]
    assert cfg.min_core_client_version == 70000
    assert cfg.dont_search_host_for_user == [7]


def test_dirs_and_entries(tmp_path):
    body = """<boinc><config><host>alpha</host><log_dir>/var/log/x</log_dir></config>
      <daemons><daemon><cmd>feeder -d 3</cmd></daemon>
               <daemon><cmd>transitioner</cmd><host>beta</host><disabled/></daemon>
               <daemon><host>beta</host></daemon></daemons>
      <tasks><task><cmd>update_stats</cmd><period>1 days</period><always_run>1</always_run>
      </task></tasks></boinc>"""
    cfg = config.parse_config(write(tmp_path, body))
    assert len(cfg.daemons) == 2              # an entry without <cmd> is dropped
    assert cfg.daemons[1].disabled and cfg.daemons[1].host == "beta"
    assert cfg.tasks[0].always_run and cfg.tasks[0].period == "1 days"
    assert [d.cmd for d in cfg.local_entries(cfg.daemons, "alpha")] == ["feeder -d 3"]
    assert [d.cmd for d in cfg.local_entries(cfg.daemons, "beta")] == ["transitioner"]
    host = paths.short_hostname()
    assert cfg.dir("log") == str(tmp_path / ("log_" + host))     # <log_dir> is not read
    assert cfg.dir("pid") == str(tmp_path / ("pid_" + host))
    text = open(cfg.path).read().replace("<host>alpha</host>",
                                         "<tmp_%s_dir>/var/tmp/t</tmp_%s_dir>" % (host, host))
    open(cfg.path, "w").write(text)
    assert config.parse_config(cfg.path).dir("tmp") == "/var/tmp/t"
    assert cfg.dir("bin") == str(tmp_path / "bin")
    assert cfg.key_path("upload_private") == str(tmp_path / "keys" / "upload_private")


@pytest.mark.parametrize("body,fragment", [
    ("<boinc><config><db_name>x</db_name>", "not well-formed"),
    ("<project><config/></project>", "root element must be <boinc>"),
    ("<boinc><daemons/></boinc>", "no <config> section"),
    ("<boinc><config><shmem_key>zzz</shmem_key></config></boinc>", "<shmem_key>"),
    ("<boinc><config><batch_accel/><size_classes/></config></boinc>", "batch_accel"),
])
def test_malformed_config_names_file_and_setting(tmp_path, body, fragment):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        config.parse_config(path)
    message = str(info.value)
    assert fragment in message and path in message and "\n" not in message


def test_entities_are_not_expanded(tmp_path):
    body = ('<?xml version="1.0"?><!DOCTYPE boinc [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<boinc><config><long_name>&x;</long_name></config></boinc>")
    try:
        cfg = config.parse_config(write(tmp_path, body))
    except ConfigError:
        return
    assert "root:" not in (cfg.long_name or "")


def test_missing_config_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="can't read"):
        config.parse_config(str(tmp_path / "config.xml"))


def test_tool_prints_one_line_not_a_traceback(tmp_path):
    write(tmp_path, "<boinc><config><db_name>x</db_name>")
    proc = subprocess.run([os.path.join(ROOT, "bin", "parse_config"), "db_name"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "config.xml" in proc.stderr


def test_parse_config_tool(tmp_path):
    write(tmp_path, "<boinc><config><db_name>proj</db_name></config></boinc>")
    proc = subprocess.run([os.path.join(ROOT, "bin", "parse_config"), "db_name"],
                          cwd=tmp_path / "cgi-bin", capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "proj\n"


def test_project_xml():
    pxml = config.parse_project_xml(os.path.join(REFPROJ, "project.xml"))
    names = [p["name"] for p in pxml.platforms]
    assert "x86_64-pc-linux-gnu" in names and "windows_x86_64" in names
    assert [a["name"] for a in pxml.apps] == ["worker"]


def test_reference_config_in_repo_parses():
    path = os.path.join(ROOT, "config.xml")
    cfg = config.parse_config(path)
    text = open(path).read()
    # every typed option we read appears in the reference file, as an element
    # with its default or (repeatable and octal ones) as a commented example
    missing = sorted(n for n in set(config.OPTIONS) - set(cfg.raw) if "<%s>" % n not in text)
    assert missing == []
    for name, value in cfg.raw.items():
        kind, default = config.OPTIONS[name]
        assert getattr(cfg, name) == default, name


def test_cache_is_used_while_config_is_unchanged(tmp_path):
    path = write(tmp_path, "<boinc><config><db_name>one</db_name><shmem_key>0x10</shmem_key>"
                           "</config><daemons><daemon><cmd>feeder</cmd></daemon></daemons>"
                           "</boinc>")
    first = config.load(str(tmp_path))
    cache = tmp_path / config.CACHE_FILE
    assert cache.exists()
    # a fresh process reading through the cache never imports lxml
    code = ("import sys; sys.path.insert(0, %r); from sched import config; "
            "c = config.load(%r); print(c.db_name, c.shmem_key, c.daemons[0].cmd, "
            "'lxml' in sys.modules)" % (ROOT, str(tmp_path)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["one", "16", "feeder", "False"], out.stderr
    again = config.load(str(tmp_path))
    assert again.options == first.options and again.daemons == first.daemons
    assert again.dir("log") == first.dir("log")
    # an edit is seen at once (new mtime and size), and the cache refreshed
    time.sleep(0.01)
    write(tmp_path, "<boinc><config><db_name>two</db_name></config></boinc>")
    assert config.load(str(tmp_path)).db_name == "two"
    assert b"two" in cache.read_bytes()


def test_unreadable_cache_is_ignored(tmp_path):
    write(tmp_path, "<boinc><config><db_name>x</db_name></config></boinc>")
    (tmp_path / config.CACHE_FILE).write_text("{not marshal")
    assert config.load(str(tmp_path)).db_name == "x"
