"""Input templates -> workunit xml_doc, as BOINC's process_input_template."""

import hashlib
import os
from types import SimpleNamespace

import pytest

from testenv import SHARED
from sched.input_template import (InputFile, InputTemplate, TemplateError,
                                  boinc_xml_escape, sub_appname_xml)
from sched.stage import InputFiles, StageError
from sched.work import Workunit

WORKER_IN = os.path.join(SHARED, "fixtures", "boinc-made-project", "templates", "worker_in")
URL = "http://127.0.0.1:8081/refproj/download"


@pytest.fixture
def files(tmp_path):
    """The download hierarchy of a project with BOINC's make_project defaults."""
    cfg = SimpleNamespace(path="config.xml", download_dir=str(tmp_path / "download"),
                          download_url=URL, uldl_dir_fanout=1024, cache_md5_info=True)
    os.mkdir(cfg.download_dir)
    return InputFiles(cfg)


def stage(files, name, data):
    path = files.path(name)
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.md5(data).hexdigest()


def body(name, md5, nbytes, hashdir):
    return ("    <name>%s</name>\n    <url>%s/%s/%s</url>\n    <md5_cksum>%s</md5_cksum>\n"
            "    <nbytes>%d</nbytes>\n" % (name, URL, hashdir, name, md5, nbytes))


def test_refproj_worker_template(files):
    # refproj.sql workunit 1 (made by BOINC's create_work): its name, size and md5
    stage(files, "refjob_in_1.txt", b"y" * 77)
    with open(files.path("refjob_in_1.txt") + ".md5", "w") as f:
        f.write("8097306e473a290b8613bf27ac3ed899 77\n")
    tmpl = InputTemplate.from_file(WORKER_IN)
    doc = tmpl.expand([InputFile("refjob_in_1.txt")], files)
    assert doc == (
        "<file_info>\n    <name>refjob_in_1.txt</name>\n"
        "    <url>http://127.0.0.1:8081/refproj/download/3e3/refjob_in_1.txt</url>\n"
        "    <md5_cksum>8097306e473a290b8613bf27ac3ed899</md5_cksum>\n"
        "    <nbytes>77</nbytes>\n</file_info>\n<workunit>\n<command_line>\n\n"
        "</command_line>\n<file_ref>\n    <file_name>refjob_in_1.txt</file_name>\n"
        "    <open_name>in</open_name>\n</file_ref>\n</workunit>")


def test_example_app_template_with_command_line_and_copied_elements(files):
    # BOINC's example_app_in shape, plus elements that are copied verbatim
    md5 = stage(files, "in.txt", b"hello\n")
    tmpl = InputTemplate("""<?xml version="1.0"?>
<input_template>
    <file_info>
        <number>0</number>
        <sticky/>
        <no_delete/>
    </file_info>
    <workunit>
        <file_ref>
            <file_number>0</file_number>
            <open_name>in</open_name>
            <optional/>
        </file_ref>
        <command_line>-cpu_time 30</command_line>
        <credit>12</credit>
        <rsc_fpops_est>1e12</rsc_fpops_est>
    </workunit>
</input_template>""")
    doc = tmpl.expand([InputFile("in.txt")], files)
    assert doc == (
        "<file_info>\n<sticky/>\n<no_delete/>\n" + body("in.txt", md5, 6, "21b")
        + "</file_info>\n<workunit>\n<command_line>\n\n</command_line>\n"
        "<file_ref>\n    <file_name>in.txt</file_name>\n    <open_name>in</open_name>\n"
        "<optional/>\n</file_ref>\n<command_line>\n-cpu_time 30\n</command_line>\n"
        "<credit>12</credit>\n</workunit>")


def test_template_without_wrapper_and_several_files(files):
    md5a = stage(files, "a", b"aa")
    md5b = stage(files, "b", b"bbb")
    tmpl = InputTemplate("""<file_info></file_info><file_info/>
<workunit>
  <file_ref><copy_file/></file_ref>
  <file_ref><open_name>second</open_name><copy_file/></file_ref>
</workunit>""")
    assert tmpl.n_var == 2
    doc = tmpl.expand([InputFile("a"), InputFile("b")], files, command_line="-v")
    ha = os.path.basename(os.path.dirname(files.path("a")))
    hb = os.path.basename(os.path.dirname(files.path("b")))
    assert doc == (
        "<file_info>\n" + body("a", md5a, 2, ha) + "</file_info>\n"
        "<file_info>\n" + body("b", md5b, 3, hb) + "</file_info>\n"
        "<workunit>\n<command_line>\n-v\n</command_line>\n"
        "<file_ref>\n    <file_name>a</file_name>\n    <copy_file/>\n"
        "    <open_name>a</open_name>\n</file_ref>\n"
        "<file_ref>\n    <file_name>b</file_name>\n    <open_name>second</open_name>\n"
        "    <copy_file/>\n</file_ref>\n</workunit>")


def test_gzip(files):
    md5 = stage(files, "g", b"g" * 100)
    with pytest.raises(StageError, match="missing gzip file"):
        InputTemplate("<file_info><gzip/></file_info><workunit><file_ref><open_name>x"
                      "</open_name></file_ref></workunit>").expand([InputFile("g")], files)
    with open(files.path("g") + ".gz", "wb") as f:
        f.write(b"z" * 21)
    doc = InputTemplate("<file_info><gzip/></file_info><workunit><file_ref><open_name>x"
                        "</open_name></file_ref></workunit>").expand([InputFile("g")], files)
    url = "%s/%s/g" % (URL, os.path.basename(os.path.dirname(files.path("g"))))
    assert doc.startswith(
        "<file_info>\n    <name>g</name>\n    <url>%s</url>\n    <gzipped_url>%s.gz"
        "</gzipped_url>\n    <gzipped_nbytes>21</gzipped_nbytes>\n    <md5_cksum>%s"
        "</md5_cksum>\n    <nbytes>100</nbytes>\n</file_info>\n" % (url, url, md5))


def test_remote_file_in_template(files):
    tmpl = InputTemplate("""<file_info>
  <url>http://mirror1/data/</url><url>http://mirror2/d/</url>
  <md5_cksum>0123456789abcdef0123456789abcdef</md5_cksum>
  <nbytes>5000</nbytes><gzip/><gzipped_nbytes>1200</gzipped_nbytes>
</file_info><workunit><file_ref><open_name>in</open_name></file_ref></workunit>""")
    doc = tmpl.expand([InputFile("big.dat")], files)
    assert doc.startswith(
        "<file_info>\n    <name>big.dat</name>\n"
        "    <url>http://mirror1/data/big.dat</url>\n"
        "    <gzipped_url>http://mirror1/data/big.dat.gz</gzipped_url>\n"
        "    <url>http://mirror2/d/big.dat</url>\n"
        "    <gzipped_url>http://mirror2/d/big.dat.gz</gzipped_url>\n"
        "    <md5_cksum>0123456789abcdef0123456789abcdef</md5_cksum>\n"
        "    <nbytes>5000</nbytes>\n    <gzipped_nbytes>1200</gzipped_nbytes>\n"
        "</file_info>\n")
    with pytest.raises(TemplateError, match="All file properties must be defined"):
        InputTemplate("<file_info><nbytes>5</nbytes><url>http://x/</url></file_info>"
                      "<workunit><file_ref><open_name>i</open_name></file_ref></workunit>")
    with pytest.raises(TemplateError, match="Must specify gzipped_nbytes"):
        InputTemplate("<file_info><nbytes>5</nbytes><url>http://x/</url><md5_cksum>ab"
                      "</md5_cksum><gzip/></file_info><workunit><file_ref><open_name>i"
                      "</open_name></file_ref></workunit>")


def test_remote_file_argument(files):
    tmpl = InputTemplate.from_file(WORKER_IN)
    md5 = "ffffffffffffffffffffffffffffffff"
    doc = tmpl.expand([InputFile(url="http://h/f?a=1&b=2", nbytes=1e6, md5=md5)], files)
    assert doc.startswith(
        "<file_info>\n    <name>jf_%s</name>\n    <url>http://h/f?a=1&amp;b=2</url>\n"
        "    <md5_cksum>%s</md5_cksum>\n    <nbytes>1000000</nbytes>\n</file_info>\n"
        % (md5, md5))
    assert "<file_name>jf_%s</file_name>" % md5 in doc


def test_constant_file_needs_md5_cache(files):
    tmpl = InputTemplate("<file_info><physical_name>const.dat</physical_name></file_info>"
                         "<workunit><file_ref><open_name>c</open_name></file_ref></workunit>")
    assert tmpl.n_var == 0
    stage(files, "const.dat", b"c")
    with pytest.raises(StageError, match="missing MD5 info file for const.dat"):
        tmpl.expand([], files)
    with open(files.path("const.dat") + ".md5", "w") as f:
        f.write("%s 1\n" % hashlib.md5(b"c").hexdigest())
    assert "<name>const.dat</name>" in tmpl.expand([], files)


def test_parameters_are_consumed_and_win(files):
    tmpl = InputTemplate.from_file(WORKER_IN)
    wu = Workunit(rsc_fpops_est=1.0, delay_bound=5, batch=3)
    tmpl.apply_params(wu)
    assert (wu.rsc_fpops_est, wu.rsc_fpops_bound, wu.rsc_memory_bound, wu.rsc_disk_bound,
            wu.delay_bound, wu.batch) == (1e10, 1e13, 1e8, 1e8, 86400, 3)
    stage(files, "i", b"i")
    doc = tmpl.expand([InputFile("i")], files)
    for tag in ("rsc_", "delay_bound", "min_quorum", "target_nresults"):
        assert tag not in doc
    tmpl = InputTemplate("<workunit><target_nresults>4</target_nresults>"
                         "<max_total_results>0x10</max_total_results>"
                         "<size_class></size_class><rsc_bandwidth_bound>2.5"
                         "</rsc_bandwidth_bound></workunit>")
    wu = Workunit()
    tmpl.apply_params(wu)
    assert (wu.target_nresults, wu.max_success_results, wu.max_total_results,
            wu.size_class, wu.rsc_bandwidth_bound) == (4, 4, 16, 0, 2.5)


def test_sub_appname(files):
    assert sub_appname_xml("") == ""
    assert sub_appname_xml("a<b&c") == "   <sub_appname>a&lt;b&amp;c</sub_appname>"
    assert boinc_xml_escape("é\t\x01]]>") == "&#195;&#169;&#9;]]&gt;"
    doc = InputTemplate("<workunit/>").expand([], files, additional_xml=sub_appname_xml("s"))
    assert doc == ("<workunit>\n<command_line>\n\n</command_line>\n"
                   "   <sub_appname>s</sub_appname>\n</workunit>")


@pytest.mark.parametrize("text, message", [
    ("<file_info/>", "bad WU template - no <workunit>"),
    ("<file_info/><workunit>", "not well-formed XML"),
    ("<workunit><file_ref><open_name>x</open_name></file_ref></workunit>",
     "too many <file_ref>s"),
    ("<file_info/><file_info/><workunit><file_ref><open_name>x</open_name></file_ref>"
     "</workunit>", "#file refs != #file infos"),
    ("<file_info/><workunit><file_ref><file_number>0</file_number></file_ref></workunit>",
     "No open name found and copy_file not specified"),
    ("<workunit/><workunit/>", "more than one <workunit>"),
    ("<workunit/><file_info/>", "<file_info> after <workunit>"),
    ("<workunit><rsc_fpops_est>lots</rsc_fpops_est></workunit>",
     "bad value 'lots' for <rsc_fpops_est>"),
    ("<workunit><delay_bound>1.5</delay_bound></workunit>", "bad value '1.5' for <delay_bound>"),
])
def test_malformed_templates(text, message):
    with pytest.raises(TemplateError, match="^tmpl: .*" + message.replace("(", r"\(")
                       .replace("#", r"\#")):
        InputTemplate(text, "tmpl")


def test_input_file_count_must_match(files):
    tmpl = InputTemplate.from_file(WORKER_IN, source="worker_in")
    with pytest.raises(TemplateError, match="Too few var input files given; need at least 1"):
        tmpl.expand([], files)
    stage(files, "a", b"a")
    with pytest.raises(TemplateError, match="2 input files given, but template has 1"):
        tmpl.expand([InputFile("a"), InputFile("a")], files)


def test_command_line_conflict(files):
    tmpl = InputTemplate("<workunit><command_line>-t</command_line></workunit>", "t")
    assert "<command_line>\n-t\n</command_line>" in tmpl.expand([], files)
    with pytest.raises(TemplateError,
                       match="Can't specify command line -t; already specified as -x"):
        tmpl.expand([], files, command_line="-x")


def test_command_line_is_escaped(files):
    doc = InputTemplate("<workunit/>").expand([], files, command_line="a<b && c")
    assert "<command_line>\na&lt;b &amp;&amp; c\n</command_line>" in doc


def test_size_limit(files):
    tmpl = InputTemplate("<workunit/>")
    assert tmpl.expand([], files, command_line="x" * 65000)
    with pytest.raises(TemplateError, match="WU XML field is too long"):
        tmpl.expand([], files, command_line="x" * 65535)


def test_file_name_in_file_ref_is_ignored_with_a_warning(files):
    warnings = []
    stage(files, "real", b"r")
    tmpl = InputTemplate("<file_info/><workunit><file_ref><file_name>fake</file_name>"
                         "<open_name>o</open_name></file_ref></workunit>", "t",
                         warn=warnings.append)
    assert warnings == ["t: <file_name> ignored in <file_ref> element."]
    assert "<file_name>real</file_name>" in tmpl.expand([InputFile("real")], files)
