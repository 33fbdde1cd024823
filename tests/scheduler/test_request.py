import glob
import os

import pytest

from testenv import SHARED
from sched.scheduler import request, scan

FIXTURES = os.path.join(SHARED, "fixtures", "real-client-7.20")


def load(run, n):
    with open(os.path.join(FIXTURES, run, "%02d_sched_request.xml" % n)) as f:
        return f.read()


def test_first_request_of_real_client():
    req = request.parse(load("run-plain", 1))
    assert req.authenticator == "629f1e9db635432466e5d3ce670bbbb6"
    assert req.hostid == 0 and req.rpc_seqno == 0
    assert req.core_client_version == 72005 and req.client_version_string == "7.20.5"
    assert req.platforms == ["x86_64-pc-linux-gnu"]
    assert req.work_req_seconds == 1.0 and req.cpu_req_secs == 1.0
    assert req.requesting_work and req.client_cap_plan_class
    assert req.allow_multiple_clients == 0 and req.sandbox == 0
    assert req.host["host_cpid"] == "1446601280780943992755868c4e0e8d"
    assert req.host["p_ncpus"] == 1 and req.host["p_fpops"] == 1e9
    assert req.host["last_ip_addr"] == "127.0.0.1"
    assert req.host["os_name"] == "Linux Debian"
    assert req.host["d_free"] == 83970641920.0
    assert req.time_stats["on_frac"] == 1.0 and req.time_stats["connected_frac"] == -1.0
    assert req.net_stats["bwdown"] == pytest.approx(83012820.512821)
    assert req.disk_usage["d_project_share"] == pytest.approx(92249675612.16)
    assert "<max_ncpus_pct>100.000000</max_ncpus_pct>" in req.working_global_prefs_xml
    assert req.have_other_results_list and req.other_results == []
    assert req.results == []


def test_report_request_keeps_stderr_and_file_info_as_boinc_stores_them():
    req = request.parse(load("run-recorded-http", 2))
    assert req.hostid == 2 and not req.requesting_work
    [res] = req.results
    assert res.name == "refjob_2_0" and res.client_state == 5 and res.exit_status == 0
    assert res.cpu_time == pytest.approx(5.457381)
    assert res.app_version_num == 100
    # as in the reference server's DB row (server-side/db_rows.txt)
    assert res.xml_doc_out.startswith("<file_info><name>refjob_2_0_r1756608005_0</name>\n")
    assert res.xml_doc_out.endswith("</upload_url></file_info>")
    assert res.stderr_out.startswith("\n<core_client_version>7.20.5</core_client_version>\n"
                                     "<![CDATA[\n<stderr_txt>\n")
    assert res.stderr_out.endswith("</stderr_txt>\n]]>\n")
    assert [a.app_name for a in req.app_versions] == ["worker"]


def test_error_report():
    req = request.parse(load("mock-negative-missing-signature", 2))
    [res] = req.results
    assert res.exit_status == -186 and res.client_state == 1


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(FIXTURES, "*",
                                                                "*_sched_request.xml"))))
def test_every_recorded_request_parses(path):
    with open(path) as f:
        assert request.parse(f.read()).core_client_major_version == 7


@pytest.mark.parametrize("body,reason", [
    ("", "no start tag"),
    ("<html>GET</html>", "no start tag"),
    ("<scheduler_request><hostid>3</hostid>", "no end tag"),
])
def test_unreadable_requests(body, reason):
    with pytest.raises(scan.ScanError, match=reason):
        request.parse(body)


def test_lenient_like_boinc():
    body = """<?xml version="1.0"?>
    <scheduler_request>
      junk text <unknown_tag>x</unknown_tag><!-- c -->
      <authenticator>abc'; DROP TABLE user; --</authenticator>
      <hostid></hostid>
      <dont_send_work/>
      <work_req_seconds>1e99</work_req_seconds>
      <alt_platform><name>i686-pc-linux-gnu</name></alt_platform>
      <platform_name>x86_64-pc-linux-gnu</platform_name>
      <result><name>r&amp;1</name><final_cpu_time>nan</final_cpu_time></result>
      <coprocs><coproc_cuda><count>2</count><req_secs>10</req_secs></coproc_cuda></coprocs>
    </scheduler_request>"""
    req = request.parse(body)
    assert req.authenticator == "abc"
    assert req.hostid == 0
    assert req.dont_send_work and not req.requesting_work
    assert req.work_req_seconds == 28 * 86400
    assert req.platforms == ["x86_64-pc-linux-gnu", "i686-pc-linux-gnu"]
    assert req.results[0].name == "r&1" and req.results[0].cpu_time == 0.0
    assert req.coprocs[0].type == "NVIDIA" and req.coprocs[0].req_secs == 10


def test_entities_are_never_expanded():
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<scheduler_request><authenticator>&b;</authenticator></scheduler_request>")
    req = request.parse(bomb)
    assert req.authenticator == "&b;"


def test_scan_unescape_and_cdata():
    assert scan.unescape("a &lt;b&gt; &amp;amp;") == "a <b> &amp;"
    assert scan.unescape("x<![CDATA[&lt;]]>y&amp;") == "x&lt;y&"
    assert [t for t, _, _ in scan.children("<a>1</a><b/><a><a>2</a></a>")] == ["a", "b", "a"]
    assert scan.element("<a><a>2</a></a><c>3</c>", "a") == "<a>2</a>"


def test_scan_elements_as_boinc_s_tag_scanner_sees_them():
    text = ('<!-- a <b> c --><?xml x?>< notag>junk<1x>no</1x>'
            '<a x="1">in<a>nested</a></a><b/><c y="2"/><d>leaf &amp; text</d>'
            '<e>\n  <f>1</f>\n</e></stray>')
    found = list(scan.children(text))
    assert found == [("a", "in<a>nested</a>", ' x="1"'), ("b", None, ""), ("c", None, ' y="2"'),
                     ("d", "leaf &amp; text", ""), ("e", "\n  <f>1</f>\n", "")]
    assert scan.items("<f>1</f> <g>2</g>") == [("f", "1"), ("g", "2")]
    assert scan.items("<f>1</f><g><h>2</h></g>") == [("f", "1"), ("g", "<h>2</h>")]
    with pytest.raises(scan.ScanError, match="no end tag for <x>"):
        list(scan.children("<x><y>1</y>"))


def test_scan_text_and_numbers():
    assert scan.unescape("a<![CDATA[ x") == "a<![CDATA[ x"     # unclosed: kept, no loop
    assert scan.as_float("1.5e3xyz") == 1500.0 and scan.as_float(".5") == 0.5
    assert scan.as_float("-.e1") == 0.0 and scan.as_float("inf") == 0.0
    assert scan.as_float("1e999") == 0.0 and scan.as_float("7.") == 7.0
    assert scan.as_int(" -12abc ") == -12 and scan.as_int("x", 5) == 5


def _mutations(docs, seed=1, per_doc=150):
    """The documents with random damage: bits cut out, tags and junk put in."""
    import random
    rng = random.Random(seed)
    pieces = ["<", ">", "/", "!", "?", "-", "a", " ", "\n", 'x="1"', "<!--", "-->", "<a>", "</a>",
              "<b/>", "<![CDATA[", "]]>", "&amp;", "1", ".", "é", "<1>", "< a>", "<result>",
              "</result>", "<host_info>", "</host_info>", "<p_ncpus>4</p_ncpus>"]
    for doc in docs:
        yield doc
        for _ in range(per_doc):
            chars = list(doc)
            for _ in range(rng.randint(1, 5)):
                at = rng.randrange(len(chars) + 1)
                if rng.random() < 0.4:
                    del chars[at:at + rng.randint(1, 30)]
                else:
                    chars.insert(at, rng.choice(pieces))
            yield "".join(chars)


def _outcome(fn, *args):
    try:
        result = fn(*args)
        return list(result) if isinstance(result, (list, tuple)) or hasattr(result, "__next__") \
            else result
    except scan.ScanError as exc:
        return ("ScanError", str(exc))


def _fields(obj):
    if isinstance(obj, list):
        return [_fields(x) for x in obj]
    return {k: _fields(v) for k, v in vars(obj).items()} if hasattr(obj, "__dict__") else obj


def test_regex_and_str_scanners_find_the_same(monkeypatch):
    docs = [open(p).read() for p in sorted(glob.glob(os.path.join(SHARED, "fixtures", "**",
                                                                  "*.xml"), recursive=True))]
    assert len(docs) > 20
    cases = list(_mutations(docs))
    body_of = lambda doc: doc[doc.find(">") + 1:] if doc.startswith("<?xml") else doc

    def run_all():
        out = []
        for doc in cases:
            out.append(_outcome(scan.children, doc))
            out.append(_outcome(scan.children, doc, 5, len(doc) - 5))
            out.append(_outcome(scan.items, body_of(doc)))
            parsed = _outcome(request.parse, doc)
            out.append(_fields(parsed) if isinstance(parsed, request.Request) else parsed)
        return out
    monkeypatch.setattr(scan, "_patterns", None)
    by_str = run_all()
    scan.use_regex()
    assert run_all() == by_str
