"""sched/outputs.py: a result's output files from its xml_doc_in."""

import os
from types import SimpleNamespace

import pytest

from sched import outputs, paths

# The xml_doc_in BOINC's server stored for the real client's job (db_rows.txt).
REAL_DOC = """<file_info>
        <name>refjob_2_0_r1756608005_0</name>
        <generated_locally/>
        <upload_when_present/>
        <max_nbytes>1000000</max_nbytes>
        <url>http://127.0.0.1:8081/refproj_cgi/file_upload_handler</url>
    </file_info>
    <result>
        <file_ref>
            <file_name>refjob_2_0_r1756608005_0</file_name>
            <open_name>out</open_name>
        </file_ref>
    </result>"""


def cfg(fanout=1024, upload_dir="/p/upload"):
    return SimpleNamespace(upload_dir=upload_dir, uldl_dir_fanout=fanout)


def test_real_doc_maps_into_the_fanout_hierarchy():
    [f] = outputs.output_files(cfg(), {"xml_doc_in": REAL_DOC, "name": "refjob_2_0"})
    name = "refjob_2_0_r1756608005_0"
    assert f.name == name and f.open_name == "out"
    assert f.path == paths.dir_hier_path(name, "/p/upload", 1024)
    assert os.path.dirname(f.path) != "/p/upload"
    path, open_name = f                       # unpacks as a pair
    assert (path, open_name) == (f.path, "out")
    assert not f.optional and not f.no_validate


def test_no_fanout_and_bytes_and_objects():
    doc = REAL_DOC.encode()
    [f] = outputs.output_files(cfg(0), SimpleNamespace(xml_doc_in=doc, name="x"))
    assert f.path == "/p/upload/refjob_2_0_r1756608005_0"
    assert outputs.output_files(cfg(0), doc) == [f]


def test_several_files_in_order_with_flags():
    doc = ("<file_info><name>a_0</name></file_info><file_info><name>a_1</name></file_info>"
           "<result><file_ref><file_name>a_0</file_name><open_name>out0</open_name>"
           "<no_validate/></file_ref><file_ref><file_name>a_1</file_name>"
           "<open_name>out1</open_name><optional>1</optional></file_ref></result>")
    files = outputs.output_files(cfg(0), doc)
    assert [(f.name, f.open_name, f.optional, f.no_validate) for f in files] == [
        ("a_0", "out0", False, True), ("a_1", "out1", True, False)]
    assert outputs.upload_paths(cfg(0), doc) == ["/p/upload/a_0", "/p/upload/a_1"]


def test_no_file_refs_is_an_empty_list():
    assert outputs.output_files(cfg(), "<file_info><name>x</name></file_info>") == []
    assert outputs.output_files(cfg(), "") == []


@pytest.mark.parametrize("doc", [
    "<result><file_ref><file_name>a</file_name></file_ref></result>",
    "<result><file_ref><open_name>a</open_name></file_ref></result>",
    "<result><file_ref><file_name>../etc/passwd</file_name><open_name>o</open_name>"
    "</file_ref></result>",
])
def test_bad_file_refs_are_refused(doc):
    with pytest.raises(outputs.OutputFilesError) as info:
        outputs.output_files(cfg(), {"xml_doc_in": doc, "name": "r_0"})
    assert "r_0" in str(info.value)


def test_sloppy_xml_is_read_as_boinc_would():
    doc = REAL_DOC.replace("<generated_locally/>", "<generated_locally>")
    [f] = outputs.output_files(cfg(0), doc)
    assert f.open_name == "out"
