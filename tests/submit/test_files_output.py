"""job_file.php (query_files, upload_files) and the output downloads
(get_output.php, get_output2.php); the streaming multipart reader."""

import hashlib
import io
import os
import zipfile

import pytest

from sched.paths import dir_hier_path
from sched.submit import multipart
from submitproject import batch_xml, submit_project  # noqa: F401 (fixture)


def test_query_then_upload_files(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    a, b = b"first file", b"second file"
    na, nb = ("jf_" + hashlib.md5(x).hexdigest() for x in (a, b))
    q = ("<query_files><authenticator>%s</authenticator><batch_id>0</batch_id>"
         "<delete_time>500</delete_time><phys_name>%s</phys_name><phys_name>%s</phys_name>"
         "</query_files>" % (key, na, nb))
    root = p.rpc(q, "job_file.php")
    assert root.tag == "query_files"
    assert [f.text for f in root.find("absent_files")] == ["0", "1"]
    root = p.upload("<upload_files><authenticator>%s</authenticator><batch_id>0</batch_id>"
                    "<delete_time>700</delete_time><phys_name>%s</phys_name></upload_files>"
                    % (key, nb), [("file_0", nb, b)])
    assert [c.tag for c in root] == ["success"]
    path = dir_hier_path(nb, p.config.download_dir, p.config.uldl_dir_fanout)
    with open(path, "rb") as f:
        assert f.read() == b
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    with open(path + ".md5") as f:
        assert f.read() == "%s %d\n" % (hashlib.md5(b).hexdigest(), len(b))
    assert [f.text for f in p.rpc(q, "job_file.php").find("absent_files")] == ["0"]
    rows = p.db.query("SELECT name, delete_time FROM job_file")
    assert rows == [{"name": nb, "delete_time": 700}]      # a delete time never moves back
    # the same file again: nothing to do, still fine
    root = p.upload("<upload_files><authenticator>%s</authenticator><phys_name>%s</phys_name>"
                    "</upload_files>" % (key, nb), [("file_0", nb, b)])
    assert [c.tag for c in root] == ["success"]
    # and a job uses it
    root = p.rpc("<submit_batch><authenticator>%s</authenticator><batch><app_name>worker"
                 "</app_name><job><input_file><mode>local_staged</mode><source>%s</source>"
                 "</input_file></job></batch></submit_batch>" % (key, nb))
    batch_id = int(root.findtext("batch_id"))
    doc = p.db.scalar("SELECT xml_doc FROM workunit WHERE batch = %s", (batch_id,))
    assert ("<name>%s</name>" % nb).encode() in doc


def _outputs_project(p):
    _, key = p.user("sci@example.org")
    batch_id = int(p.rpc(batch_xml(key, [["a"], ["b"], ["c"]])).findtext("batch_id"))
    wus = p.db.query("SELECT * FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))
    rids = [p.finish_job(wus[0]["id"], b"OUT A"), p.finish_job(wus[1]["id"], b"OUT B")]
    results = [p.db.query_one("SELECT * FROM result WHERE id = %s", (r,)) for r in rids]
    return key, batch_id, wus, results


def _md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def test_get_output(submit_project):
    p = submit_project()
    key, batch_id, wus, results = _outputs_project(p)
    r = results[0]
    status, headers, body = p.call("get_output.php", method="GET", cmd="result_file",
                                   result_name=r["name"], file_num=0,
                                   auth_str=_md5(key + r["name"]))
    assert status == "200 OK" and body == b"OUT A"
    assert headers["Content-Disposition"] == 'attachment; filename="%s_r0"' % wus[0]["name"]
    status, _, body = p.call("get_output.php", method="GET", cmd="result_file",
                             result_name=r["name"], file_num=1, auth_str=_md5(key + r["name"]))
    assert status == "404 Not Found" and b"bad file num" in body
    status, headers, body = p.call("get_output.php", method="GET", cmd="batch_files",
                                   batch_id=batch_id, auth_str=_md5(key + str(batch_id)))
    assert status == "200 OK" and headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert {n: z.read(n) for n in z.namelist()} == {
            wus[0]["name"] + "_r0": b"OUT A", wus[1]["name"] + "_r0": b"OUT B"}
    status, _, body = p.call("get_output.php", method="GET", cmd="workunit_file",
                             wu_name=wus[1]["name"], file_num=0, auth_str=key)
    assert body == b"OUT B"
    status, _, body = p.call("get_output.php", method="GET", cmd="workunit_files",
                             wu_id=wus[1]["id"], auth_str=_md5(key + str(wus[1]["id"])))
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert z.namelist() == [wus[1]["name"] + "_r0"]
    status, _, body = p.call("get_output.php", method="GET", cmd="workunit_file",
                             wu_name=wus[2]["name"], file_num=0, auth_str=key)
    assert status == "404 Not Found" and b"no canonical result" in body
    status, _, _ = p.call("get_output.php", method="GET", cmd="nonsense", auth_str=key)
    assert status == "400 Bad Request"


def test_get_output2_and_collected_files(submit_project):
    p = submit_project()
    key, batch_id, wus, results = _outputs_project(p)
    status, headers, body = p.call("get_output2.php", method="GET", cmd="workunit",
                                   wu_id=wus[0]["id"], auth=key)
    assert body == b"OUT A"
    assert headers["Content-Disposition"] == 'attachment; filename="%s__out"' % results[0]["name"]
    status, headers, body = p.call("get_output2.php", method="GET", cmd="file",
                                   result_id=results[1]["id"], file_num=0, auth=key)
    assert body == b"OUT B"
    # the batch-collect assimilator moved job 1's output to results/BATCH/
    src = dir_hier_path(wus[1]["name"] + "_r0", p.config.upload_dir, p.config.uldl_dir_fanout)
    os.makedirs(p.path("results", str(batch_id)))
    os.rename(src, p.path("results", str(batch_id), "%s__file_out" % wus[1]["name"]))
    status, headers, body = p.call("get_output2.php", method="GET", cmd="batch",
                                   batch_id=batch_id, auth=key)
    assert status == "200 OK" and headers["Content-Disposition"] == \
        'attachment; filename="batch_%d.zip"' % batch_id
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert {n: z.read(n) for n in z.namelist()} == {
            results[0]["name"] + "__out": b"OUT A", results[1]["name"] + "__out": b"OUT B"}
    status, _, body = p.call("get_output2.php", method="GET", cmd="result",
                             result_id=results[1]["id"], auth=key)
    assert body == b"OUT B"
    status, _, body = p.call("get_output2.php", method="GET", cmd="result", auth=key)
    assert status == "400 Bad Request" and body == b"ERROR: missing argument result_id\n"


# ------------------------------------------------------------ the multipart reader

def _read(body, ctype, file_limit=1 << 20, field_limit=1 << 20, tmp=None):
    environ = {"CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    return multipart.read_form(environ, file_limit, field_limit, tmp)


def test_multipart_parts_across_block_boundaries(tmp_path, monkeypatch):
    from submitproject import multipart as encode
    # a boundary-like run inside the data, and data that straddles the read blocks
    data = (b"\r\n--b0undar" + os.urandom(300)) * 40
    body, ctype = encode({"request": "<upload_files/>"}, [("file_0", "a", data),
                                                        ("file_1", "b", b"")])
    for block in (7, 64, 1000):
        monkeypatch.setattr(multipart, "BLOCK", block)
        fields, parts = _read(body, ctype, tmp=str(tmp_path))
        assert fields == {"request": "<upload_files/>"}
        assert [(pt.name, pt.filename, pt.size) for pt in parts] == [
            ("file_0", "a", len(data)), ("file_1", "b", 0)]
        with open(parts[0].path, "rb") as f:
            assert f.read() == data
        assert parts[0].md5 == hashlib.md5(data).hexdigest()
        for pt in parts:
            pt.discard()
    assert os.listdir(tmp_path) == []


def test_multipart_limits_and_garbage(tmp_path):
    from submitproject import multipart as encode
    body, ctype = encode({"request": "x"}, [("f", "a", b"y" * 101)])
    with pytest.raises(multipart.TooLarge) as info:
        _read(body, ctype, file_limit=100, tmp=str(tmp_path))
    assert info.value.fields == {"request": "x"}
    assert os.listdir(tmp_path) == []               # the partial file is gone
    with pytest.raises(multipart.TooLarge):
        _read(body, ctype, field_limit=0, tmp=str(tmp_path))
    with pytest.raises(multipart.MultipartError):
        _read(body[:-10], ctype, tmp=str(tmp_path))  # cut short
    with pytest.raises(multipart.MultipartError):
        _read(b"request=x", "application/x-www-form-urlencoded", tmp=str(tmp_path))
    assert multipart.boundary_of('multipart/form-data; boundary="a b"') == b"a b"
    assert os.listdir(tmp_path) == []
