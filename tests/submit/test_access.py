"""Who may do what, and requests that must fail: each gets a clear error
reply and leaves the project as it was (rows and files)."""

import hashlib
import os
import urllib.parse

import pytest

from sched.paths import dir_hier_path

from submitproject import batch_xml, error_of, parse, submit_project  # noqa: F401 (fixture)


def test_no_submit_rights(submit_project):
    p = submit_project()
    _, nobody = p.user("nobody@example.org", submit=None)
    other_app = p.add_app("other")
    _, narrow = p.user("narrow@example.org", submit="apps", apps=[other_app])
    before = p.snapshot()
    for key in (nobody, narrow):
        assert error_of(p.rpc(batch_xml(key, [["a"]])), "submit_batch") == (-1, "no submit access")
        assert error_of(p.rpc("<create_batch><authenticator>%s</authenticator><app_name>worker"
                              "</app_name></create_batch>" % key), "create_batch") == (
            -1, "no submit access")
    assert error_of(p.rpc("<query_batches><authenticator>%s</authenticator></query_batches>"
                          % nobody), "query_batches") == (-1, "no file access")
    root = p.upload("<upload_files><authenticator>%s</authenticator><phys_name>x</phys_name>"
                    "</upload_files>" % nobody, [("file_0", "x", b"data")])
    assert error_of(root, "upload_files") == (-1, "no file access")
    assert p.snapshot() == before
    # rights for one app are rights for that app
    root = p.rpc(batch_xml(narrow, [["a"]], app="other"))
    assert root.findtext("batch_id")


def test_bad_or_missing_authenticator(submit_project):
    p = submit_project()
    before = p.snapshot()
    assert error_of(p.rpc(batch_xml("0" * 32, [["a"]])), "submit_batch") == (
        -1, "bad authenticator")
    assert error_of(p.rpc("<query_batches></query_batches>"), "query_batches") == (
        -1, "no authenticator")
    assert p.snapshot() == before


def test_someone_else_s_batch(submit_project):
    p = submit_project()
    _, owner = p.user("owner@example.org")
    _, other = p.user("other@example.org")
    batch_id = int(p.rpc(batch_xml(owner, [["a"], ["b"]])).findtext("batch_id"))
    wu = p.db.query_one("SELECT * FROM workunit WHERE batch = %s ORDER BY id", (batch_id,))
    rid = p.finish_job(wu["id"], b"secret output")
    before = p.snapshot()
    for op in ("query_batch", "abort_batch", "retire_batch", "set_expire_time"):
        root = p.rpc("<%s><authenticator>%s</authenticator><batch_id>%d</batch_id>"
                     "<expire_time>1</expire_time></%s>" % (op, other, batch_id, op))
        assert error_of(root, op) == (-1, "not owner of batch"), op
    root = p.rpc(batch_xml(other, [["c"]], extra="<batch_id>%d</batch_id>\n" % batch_id))
    assert error_of(root, "submit_batch") == (-1, "not owner of batch")
    root = p.rpc("<abort_jobs><authenticator>%s</authenticator><job_name>%s</job_name>"
                 "</abort_jobs>" % (other, wu["name"]))
    assert error_of(root, "abort_jobs") == (-1, "not owner of batch")
    root = p.rpc("<query_job><authenticator>%s</authenticator><job_id>%d</job_id></query_job>"
                 % (other, wu["id"]))
    assert error_of(root, "query_job") == (-1, "not owner")
    root = p.rpc("<query_completed_job><authenticator>%s</authenticator><job_name>%s"
                 "</job_name></query_completed_job>" % (other, wu["name"]))
    assert error_of(root, "query_completed_job") == (-1, "not owner")
    root = p.rpc("<query_batches><authenticator>%s</authenticator></query_batches>" % other)
    assert root.findall("batch") == []
    # the outputs: with the other user's key, and with a made-up one
    rname = p.db.scalar("SELECT name FROM result WHERE id = %s", (rid,))
    for key in (other, owner[:-1] + "x"):
        status, _, body = p.call("get_output.php", method="GET", cmd="result_file",
                                 result_name=rname, file_num=0,
                                 auth_str=hashlib.md5((key + rname).encode()).hexdigest())
        assert status == "403 Forbidden" and body == b"ERROR: bad authenticator\n"
        status, _, body = p.call("get_output2.php", method="GET", cmd="batch",
                                 batch_id=batch_id, auth=key)
        assert status == "403 Forbidden" and b"secret" not in body
        status, _, _ = p.call("get_output2.php", method="GET", cmd="workunit", wu_id=wu["id"],
                              auth=key)
        assert status == "403 Forbidden"
    assert p.snapshot() == before


def _raw(p, text):
    """POST a raw request field."""
    status, headers, body = p.call("submit_rpc_handler.php",
                                   urllib.parse.urlencode({"request": text}).encode())
    assert status == "200 OK"
    return parse(body)


@pytest.mark.parametrize("request_text, op, message", [
    ("<submit_batch><authenticator>K</auth", None, "can't parse request message: "),
    ("", None, "can't parse request message: no request"),
    ("<format_disk><authenticator>K</authenticator></format_disk>", None, "bad command"),
    ("<query_batch><authenticator>K</authenticator><batch_id>x1</batch_id></query_batch>",
     "query_batch", "bad value for <batch_id>: 'x1' is not a number"),
    ("<query_batch><authenticator>K</authenticator></query_batch>", "query_batch",
     "batch not specified"),
    ("<query_batch><authenticator>K</authenticator><batch_id>999</batch_id></query_batch>",
     "query_batch", "no such batch"),
])
def test_malformed_requests(submit_project, request_text, op, message):
    p = submit_project()
    _, key = p.user("sci@example.org")
    before = p.snapshot()
    num, msg = error_of(_raw(p, request_text.replace("K", key)), op)
    assert num == -1 and msg.startswith(message), msg
    assert p.snapshot() == before


@pytest.mark.parametrize("jobs_xml, message", [
    ("<job></job>", "wrong # of input files for job 2: need 1, got 0"),
    ("<job><input_file><mode>inline</mode><source>a</source></input_file>"
     "<input_file><mode>inline</mode><source>b</source></input_file></job>",
     "wrong # of input files for job 2: need 1, got 2"),
    ("<job><input_file><mode>local</mode><source>/etc/passwd</source></input_file></job>",
     "job 2: input file mode local is not allowed"),
    ("<job><input_file><mode>semilocal</mode><source>http://x/</source></input_file></job>",
     "job 2: input file mode semilocal is not allowed"),
    ("<job><input_file><mode>teleport</mode><source>x</source></input_file></job>",
     "job 2: unsupported file mode: teleport"),
    ("<job><input_file><mode>local_staged</mode><source>../../keys/upload_private"
     "</source></input_file></job>", "job 2: bad input file name"),
    ("<job><input_file><mode>local_staged</mode><source>not_there</source></input_file></job>",
     "job 2: input file not_there is not staged"),
    ("<job><input_file><mode>remote</mode><url>http://x/f</url><nbytes>5</nbytes>"
     "<md5>nothex</md5></input_file></job>", "job 2: a remote input file needs"),
    ("<job><rsc_fpops_est>many</rsc_fpops_est><input_file><mode>inline</mode>"
     "<source>a</source></input_file></job>", "bad value for <rsc_fpops_est>"),
    ("", "no jobs in batch"),
])
def test_bad_jobs_leave_nothing_behind(submit_project, jobs_xml, message):
    """A batch whose last job is bad: no batch, no job, no staged file of the good ones."""
    p = submit_project()
    _, key = p.user("sci@example.org")
    before = p.snapshot()
    good = ("<job><name>good_%d</name><input_file><mode>inline</mode><source>fresh %d</source>"
            "</input_file></job>")
    text = ("<submit_batch><authenticator>%s</authenticator><batch><app_name>worker</app_name>"
            "%s%s%s</batch></submit_batch>" % (key, good % (1, 1), good % (2, 2), jobs_xml))
    if not jobs_xml:
        text = ("<submit_batch><authenticator>%s</authenticator><batch><app_name>worker"
                "</app_name></batch></submit_batch>" % key)
    num, msg = error_of(_raw(p, text), "submit_batch")
    assert num == -1 and message in msg, msg
    assert p.snapshot() == before


def test_a_taken_job_name_leaves_nothing_behind(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    p.rpc(batch_xml(key, [["a"]]).replace("<job>", "<job><name>taken</name>"))
    before = p.snapshot()
    text = batch_xml(key, [["new contents"], ["b"]]).replace(
        "<job>\n<input_file>\n<mode>inline</mode>\n<source>b",
        "<job><name>taken</name>\n<input_file>\n<mode>inline</mode>\n<source>b")
    num, msg = error_of(p.rpc(text), "submit_batch")
    assert "a workunit named 'taken' already exists" in msg
    assert p.snapshot() == before


def test_another_users_init_batch_and_an_input_template_setting_batch(submit_project):
    p = submit_project()
    _, owner = p.user("owner@example.org")
    _, other = p.user("other@example.org")
    batch_id = int(p.rpc("<create_batch><authenticator>%s</authenticator><app_name>worker"
                         "</app_name></create_batch>" % owner).findtext("batch_id"))
    before = p.snapshot()
    tmpl = ("<input_template><file_info><number>0</number></file_info><workunit><file_ref>"
            "<file_number>0</file_number><open_name>in</open_name></file_ref>"
            "<batch>%d</batch><rsc_fpops_est>1e9</rsc_fpops_est></workunit></input_template>"
            % batch_id)
    text = batch_xml(other, [["a"]]).replace("<job>\n", "<job>\n" + tmpl)
    num, msg = error_of(p.rpc(text), "submit_batch")
    assert msg == "job 0: an input template may not set <batch>"
    assert p.snapshot() == before


def test_oversized_uploads_and_inline_files(submit_project):
    p = submit_project()
    p.set_config(remote_submit_max_file_bytes=1000)
    _, key = p.user("sci@example.org")
    before = p.snapshot()
    big = b"x" * 1001
    name = "jf_" + hashlib.md5(big).hexdigest()
    root = p.upload("<upload_files><authenticator>%s</authenticator><batch_id>0</batch_id>"
                    "<phys_name>%s</phys_name></upload_files>" % (key, name),
                    [("file_0", name, big)])
    num, msg = error_of(root, "upload_files")
    assert msg == "upload refused: file %s is larger than the limit of 1000 bytes" % name
    root = p.rpc(batch_xml(key, [["y" * 1001]]))
    assert "larger than the limit of 1000 bytes" in error_of(root, "submit_batch")[1]
    assert p.snapshot() == before
    # at the limit it is fine
    ok = b"x" * 1000
    name = "jf_" + hashlib.md5(ok).hexdigest()
    root = p.upload("<upload_files><authenticator>%s</authenticator><phys_name>%s</phys_name>"
                    "</upload_files>" % (key, name), [("file_0", name, ok)])
    assert [c.tag for c in root] == ["success"]


def test_uploads_are_checked_before_anything_is_placed(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    good, bad = b"good data", b"tampered"
    good_name = "jf_" + hashlib.md5(good).hexdigest()
    lying_name = "jf_" + hashlib.md5(b"what was promised").hexdigest()
    before = p.snapshot()
    xml = ("<upload_files><authenticator>%s</authenticator><phys_name>%s</phys_name>"
           "<phys_name>%s</phys_name></upload_files>" % (key, good_name, lying_name))
    root = p.upload(xml, [("file_0", good_name, good), ("file_1", lying_name, bad)])
    num, msg = error_of(root, "upload_files")
    assert msg == "file %s: its contents have md5 %s, not the one its name says" % (
        lying_name, hashlib.md5(bad).hexdigest())
    # fewer files than names
    root = p.upload(xml, [("file_0", good_name, good)])
    assert error_of(root, "upload_files")[1] == \
        "# of uploaded files (1) doesn't agree with request (2)"
    # a name that is a path
    root = p.upload("<upload_files><authenticator>%s</authenticator><phys_name>../x"
                    "</phys_name></upload_files>" % key, [("file_0", "x", good)])
    assert error_of(root, "upload_files")[1] == "bad filename"
    assert p.snapshot() == before
    # a plain name, then other contents under it: immutable
    xml = ("<upload_files><authenticator>%s</authenticator><phys_name>plain.dat</phys_name>"
           "</upload_files>" % key)
    assert [c.tag for c in p.upload(xml, [("f", "plain.dat", good)])] == ["success"]
    after = p.snapshot()
    assert error_of(p.upload(xml, [("f", "plain.dat", bad)]), "upload_files")[1] == \
        "file immutability violation for plain.dat"
    assert p.snapshot() == after


def test_a_staged_file_whose_contents_changed_is_not_used(submit_project):
    p = submit_project()
    _, key = p.user("sci@example.org")
    data = b"input"
    name = "jf_" + hashlib.md5(data).hexdigest()
    p.upload("<upload_files><authenticator>%s</authenticator><phys_name>%s</phys_name>"
             "</upload_files>" % (key, name), [("file_0", name, data)])
    path = dir_hier_path(name, p.config.download_dir, p.config.uldl_dir_fanout)
    os.unlink(path + ".md5")
    with open(path, "wb") as f:
        f.write(b"changed")
    before = p.snapshot()
    text = ("<submit_batch><authenticator>%s</authenticator><batch><app_name>worker</app_name>"
            "<job><input_file><mode>local_staged</mode><source>%s</source></input_file></job>"
            "</batch></submit_batch>" % (key, name))
    msg = error_of(p.rpc(text), "submit_batch")[1]
    assert "its contents have md5 %s, not the one its name says" % (
        hashlib.md5(b"changed").hexdigest()) in msg
    rows, files = p.snapshot()
    # (create_work may have cached the file's md5 next to it; nothing else changed)
    assert rows == before[0]
    assert [f for f in files if not f[0].endswith(".md5")] == before[1]
