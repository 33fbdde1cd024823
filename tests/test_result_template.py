"""Output templates -> result.xml_doc_in (sched/result_template.py).

The reference is what BOINC's own transitioner stored in a project BOINC's
make_project made (fixtures/boinc-made-project): our text must be the same,
byte for byte, given the same random number.
"""

import os
import re
import shutil
import subprocess

import pytest

from testenv import SHARED
from sched import crypt, states
from sched import result_template as rt
from sched.config import parse_config

REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")
WORKER_OUT = os.path.join(REFPROJ, "templates", "worker_out")
REF_UPLOAD_URL = "http://127.0.0.1:8081/refproj_cgi/file_upload_handler"


def load_dump(admin_db, database, sql_path):
    """Load a mysqldump file with the MariaDB command-line client."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    assert client, "the MariaDB command-line client is needed (scripts/setup installs it)"
    cmd = [client, "--user=" + admin_db.user]
    if admin_db.host != "localhost":
        cmd.append("--host=" + admin_db.host)
    env = dict(os.environ, MYSQL_PWD=admin_db.passwd or "")
    with open(sql_path, "rb") as f:
        subprocess.run(cmd + [database], stdin=f, env=env, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def keys():
    return crypt.generate_key_pair()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_same_text_as_boincs_transitioner(admin_db, fresh_db, db_name):
    load_dump(admin_db, db_name, os.path.join(REFPROJ, "refproj.sql"))
    rows = fresh_db.query("SELECT name, xml_doc_in FROM result ORDER BY id")
    assert len(rows) == 20
    template = read(WORKER_OUT)
    for row in rows:
        stored = row["xml_doc_in"].decode("utf-8")
        rand = re.search(r"<name>%s_r(\d+)_0</name>" % re.escape(row["name"]), stored)
        assert rand, stored
        ours = rt.process_result_template(
            template, "%s_r%s_" % (row["name"], rand.group(1)), REF_UPLOAD_URL)
        assert ours == stored


def test_certificates_off_layout():
    xml = rt.process_result_template(read(WORKER_OUT), "job1_0_r1804289383_", "http://x/fuh")
    assert xml == (
        "<file_info>\n"
        "        <name>job1_0_r1804289383_0</name>\n"
        "        <generated_locally/>\n"
        "        <upload_when_present/>\n"
        "        <max_nbytes>1000000</max_nbytes>\n"
        "        <url>http://x/fuh</url>\n"
        "    </file_info>\n"
        "    <result>\n"
        "        <file_ref>\n"
        "            <file_name>job1_0_r1804289383_0</file_name>\n"
        "            <open_name>out</open_name>\n"
        "        </file_ref>\n"
        "    </result>")


def test_signature_inserted_before_end_of_file_info_and_verifies(keys):
    private, public = keys
    xml = rt.process_result_template(read(WORKER_OUT), "w_0_r7_", "http://x/fuh",
                                     private, sign=True)
    m = re.fullmatch(
        r"<file_info>\n        <name>w_0_r7_0</name>\n.*"
        r"        <url>http://x/fuh</url>\n"
        r"    <xml_signature>\n((?:[0-9a-f]{64}\n){4}\.\n)</xml_signature>\n</file_info>\n"
        r"    <result>\n.*</result>", xml, re.S)
    assert m, xml
    signature = m.group(1)
    signed = "<name>w_0_r7_0</name><max_nbytes>1000000</max_nbytes>"
    assert rt.signed_text("w_0_r7_0", 1e6) == signed
    assert crypt.verify_string(signed, signature, public)
    assert not crypt.verify_string(signed.replace("1000000", "1000001"), signature, public)
    # deterministic padding: the same text as crypt_prog -sign_string would give
    assert signature == crypt.sign_string(signed, private)


def test_every_file_info_signed_with_its_own_name_and_limit(keys):
    private, public = keys
    template = ("<output_template>\n"
                "<file_info>\n  <name><OUTFILE_0/></name>\n  <max_nbytes> 1e6 </max_nbytes>\n"
                "</file_info>\n"
                "<file_info>\n  <name> <OUTFILE_log/> </name>\n"
                "  <max_nbytes>2500.5</max_nbytes>\n</file_info>\n"
                "<result/>\n</output_template>\n")
    xml = rt.process_result_template(template, "a_1_r5_", "u", private, sign=True)
    sigs = re.findall(r"<xml_signature>\n(.*?)</xml_signature>\n</file_info>", xml, re.S)
    assert len(sigs) == 2
    # %.0f of the parsed number; names stripped as BOINC's parse_str strips them
    assert crypt.verify_string("<name>a_1_r5_0</name><max_nbytes>1000000</max_nbytes>",
                               sigs[0], public)
    assert crypt.verify_string("<name>a_1_r5_log</name><max_nbytes>2500</max_nbytes>",
                               sigs[1], public)


def test_only_file_info_followed_by_newline_is_signed(keys):
    private, _ = keys
    xml = rt.process_result_template("<file_info><name>x</name></file_info>", "b_", "u",
                                     private, sign=True)
    assert xml == "<file_info><name>x</name></file_info>"


@pytest.mark.parametrize("body, what", [
    ("<max_nbytes>10</max_nbytes>\n", "no <name>"),
    ("<name>x</name>\n", "no <max_nbytes>"),
    ("<name>x</name><max_nbytes>inf</max_nbytes>\n", "no <max_nbytes>"),
])
def test_unsignable_file_info_is_an_error(keys, body, what):
    with pytest.raises(rt.TemplateError, match=what):
        rt.process_result_template("<file_info>\n%s</file_info>" % body, "b_", "u",
                                   keys[0], sign=True)


def test_max_nbytes_read_as_strtod_reads_it():
    assert rt._strtod("  5000000.7xyz") == 5000000.7
    assert rt._strtod("0x10") == 16.0
    assert rt._strtod("junk") == 0.0
    assert rt._strtod("1e999") is None
    assert rt._strtod("nan") is None
    assert "%.0f" % rt._strtod("2.5") == "2"          # C rounds half to even too


def test_name_entities_unescaped_before_signing():
    assert rt._element_text("<name> a&amp;b&#65;&lt; </name>", "name") == "a&bA<"
    assert rt._element_text("<name>x&#300;</name>", "name") == "x&#300;"


def test_macros_repeat_until_none_left():
    xml = rt.process_result_template(
        "<a><OUTFILE_0/> <OUTFILE_1/> <OUTFILE_0/></a><b><UPLOAD_URL/><UPLOAD_URL/></b>",
        "W_3_r9_", "http://h/u")
    assert xml == "<a>W_3_r9_0 W_3_r9_1 W_3_r9_0</a><b>http://h/uhttp://h/u</b>"


@pytest.mark.parametrize("template", ["<OUTFILE_0>", "<OUTFILE_0 x>/>"])
def test_unterminated_macro_is_an_error(template):
    with pytest.raises(rt.TemplateError, match="unterminated"):
        rt.process_result_template(template, "b_", "u")


@pytest.mark.parametrize("upload_url", ["x<UPLOAD_URL/>", "<UPLOAD_URL/>"])
def test_self_reproducing_macro_does_not_hang(upload_url):
    with pytest.raises(rt.TemplateError, match="without end"):
        rt.process_result_template("<UPLOAD_URL/>", "b_", upload_url)


def test_wrapper_and_what_surrounds_it_removed():
    xml = rt.process_result_template("junk <output_template>\n\t <x/> \n"
                                     "</output_template> trailing", "b_", "u")
    assert xml == "<x/>"


def test_surrounding_c_whitespace_only_stripped():
    assert rt.process_result_template("\v\f <x/>\r\n", "b_", "u") == "<x/>"
    assert rt.process_result_template("\u00a0<x/>", "b_", "u") == "\u00a0<x/>"


# -- ResultMaker and reading templates

def make_cfg(tmp_path, extra=""):
    (tmp_path / "cgi-bin").mkdir(exist_ok=True)
    (tmp_path / "templates").mkdir(exist_ok=True)
    shutil.copy(WORKER_OUT, tmp_path / "templates" / "worker_out")
    (tmp_path / "config.xml").write_text(
        "<boinc><config><upload_url>%s</upload_url>%s</config></boinc>\n"
        % (REF_UPLOAD_URL, extra))
    return parse_config(str(tmp_path / "config.xml"))


WU = dict(id=7, name="refjob_7", appid=3, priority=5, batch=11, size_class=-1,
          result_template_file="templates/worker_out")


def test_result_row_as_boincs_create_result(tmp_path, keys):
    cfg = make_cfg(tmp_path, "<dont_generate_upload_certificates/>")
    row = dict(zip(rt.RESULT_COLUMNS, rt.ResultMaker(cfg, keys[0]).row(WU, 4, 2, now=1000)))
    xml = row.pop("xml_doc_in")
    assert re.fullmatch(r"<file_info>\n        <name>refjob_7_4_r\d+_0</name>\n.*</result>",
                        xml, re.S)
    assert "<xml_signature>" not in xml
    assert 0 <= row.pop("random") < 2 ** 31
    assert row == dict(
        create_time=1000, workunitid=7, server_state=states.RESULT_SERVER_STATE_UNSENT,
        outcome=0, client_state=0, hostid=0, userid=0, report_deadline=0, sent_time=0,
        received_time=0, name="refjob_7_4", cpu_time=0.0, xml_doc_out="", stderr_out="",
        batch=11, file_delete_state=0, validate_state=0, claimed_credit=0.0,
        granted_credit=0.0, opaque=0.0, app_version_num=0, appid=3, exit_status=0,
        teamid=0, priority=7, elapsed_time=0.0, flops_estimate=0.0, app_version_id=0,
        runtime_outlier=0, size_class=-1, peak_working_set_size=0.0, peak_swap_size=0.0,
        peak_disk_usage=0.0)


def test_size_class_jobs_start_inactive_and_files_get_fresh_random_names(tmp_path, keys):
    cfg = make_cfg(tmp_path)
    maker = rt.ResultMaker(cfg, keys[0])
    a = dict(zip(rt.RESULT_COLUMNS, maker.row(dict(WU, size_class=2), 0)))
    b = dict(zip(rt.RESULT_COLUMNS, maker.row(WU, 0)))
    assert a["server_state"] == states.RESULT_SERVER_STATE_INACTIVE
    assert a["size_class"] == 2
    assert "<xml_signature>" in a["xml_doc_in"]          # certificates on by default
    name = re.compile(r"<name>(refjob_7_0_r\d+_0)</name>")
    assert name.search(a["xml_doc_in"]).group(1) != name.search(b["xml_doc_in"]).group(1)


def test_too_long_xml_doc_refused(tmp_path, keys):
    cfg = make_cfg(tmp_path, "<dont_generate_upload_certificates/>")
    maker = rt.ResultMaker(cfg, keys[0])
    assert len(maker.xml_doc_in("x" * 65535, "r").encode()) == 65535
    with pytest.raises(rt.TemplateError, match="too long: 65536 bytes, max is 65535"):
        maker.xml_doc_in("\u00e9" * 32768, "r")


def test_read_template_errors_name_the_file(tmp_path):
    with pytest.raises(rt.TemplateError, match="can't read result template file '.*nope'"):
        rt.read_template(str(tmp_path / "nope"))
    bad = tmp_path / "bad"
    bad.write_bytes(b"<a>\xff</a>")
    with pytest.raises(rt.TemplateError, match="not UTF-8"):
        rt.read_template(str(bad))


def test_read_template_sees_edits(tmp_path):
    path = tmp_path / "t"
    path.write_text("one")
    assert rt.read_template(str(path)) == "one"
    path.write_text("two, longer")
    assert rt.read_template(str(path)) == "two, longer"
