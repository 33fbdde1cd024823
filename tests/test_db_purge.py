"""db_purge against a real project: archives parsed back and compared with the rows."""

import glob
import gzip
import io
import os
import zipfile

import pytest
from lxml import etree

from backend_helpers import add_app, add_result, add_wu, connect, program
from jobcache_helpers import insert
from sched import config as configmod
from sched import db_purge
from sched import log as logmod
from sched import states as S

DONE = S.FILE_DELETE_DONE


@pytest.fixture
def proj(project):
    project.db = connect(project)
    project.appid = add_app(project.db)
    yield project
    project.db.close()


def purge(project, *args):
    r = program(project, "db_purge", *args)
    assert r.returncode == 0, r.stderr
    return r


def job(project, name, nresults=2, appid=None, **wu):
    appid = appid or project.appid
    wuid = add_wu(project.db, appid, name, inputs=(name + "_in",),
                  file_delete_state=wu.pop("file_delete_state", DONE), **wu)
    rids = [add_result(project.db, wuid, appid, "%s_%d" % (name, i), outputs=("%s_out" % name,),
                       file_delete_state=DONE)
            for i in range(nresults)]
    return wuid, rids


def rows(project, table, ids):
    if not ids:
        return []
    return project.db.query("SELECT * FROM %s WHERE id IN (%s) ORDER BY id"
                            % (table, ",".join(str(i) for i in ids)))


def archives(project, pattern="*"):
    return sorted(glob.glob(os.path.join(project.dir, "archives", pattern)))


def read(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            assert z.namelist() == ["-"]
            return z.read("-")
    with open(path, "rb") as f:
        return f.read()


def inner(elem):
    """The text and markup inside ``elem``, canonicalised for comparing."""
    wrapper = etree.Element("x")
    wrapper.text = elem.text
    for child in elem:
        wrapper.append(child)
    return etree.tostring(wrapper, method="c14n")


def canonical_fragment(text):
    return etree.tostring(etree.fromstring("<x>%s</x>" % text), method="c14n")


def check_record(rec, row, fields):
    assert [c.tag for c in rec] == [f for f, _ in fields]
    for col, kind in fields:
        elem = rec.find(col)
        value = row[col]
        if isinstance(value, bytes):
            value = value.decode()
        if kind == "d":
            assert int(elem.text) == value, col
        elif kind in "ef":
            assert float(elem.text) == pytest.approx(value, rel=1e-12, abs=1e-6), col
        elif kind == "x":
            assert inner(elem) == canonical_fragment(value or ""), col
        elif kind == "t":
            assert elem.text == value.strftime("%Y-%m-%d %H:%M:%S"), col
        elif kind == "z":   # BOINC's escaping drops control characters but \t \n \r
            kept = "".join(ch for ch in value or "" if ord(ch) >= 32 or ch in "\t\n\r")
            assert (elem.text or "") == kept, col
        else:
            assert (elem.text or "") == (value or ""), col


def parse_archive(path):
    root = etree.fromstring(read(path))
    assert root.tag == "archive"
    return list(root)


def test_archives_every_column_then_deletes(proj):
    db = proj.db
    w1, r1 = job(proj, "pa", rsc_fpops_est=1.234567890123e13, opaque=2.5, batch=0,
                 canonical_credit=17.25)
    w2, r2 = job(proj, "pb", nresults=1)
    stderr = "line <1> & \"2\"\n\ttab é ]]> \x01end"
    db.execute("UPDATE result SET stderr_out=%s, xml_doc_out=%s, cpu_time=%s WHERE id=%s",
               (stderr, "<result>\n<name>pa_0</name>\n</result>", 3.75, r1[0]))
    kept_ready, kept_r = job(proj, "pc", file_delete_state=S.FILE_DELETE_READY)
    kept_nodelete, _ = job(proj, "pd_nodelete")
    before_wu = rows(proj, "workunit", [w1, w2])
    before_res = rows(proj, "result", r1 + r2)

    r = purge(proj, "--one_pass")
    assert "Archived 2 workunits and 3 results" in r.stderr
    assert rows(proj, "workunit", [w1, w2]) == [] and rows(proj, "result", r1 + r2) == []
    assert len(rows(proj, "workunit", [kept_ready, kept_nodelete])) == 2
    assert len(rows(proj, "result", kept_r)) == 2

    files = archives(proj)
    names = [os.path.basename(f) for f in files]
    t = names[0].split("_")[-1].split(".")[0]
    assert names == ["result_archive_%s.xml" % t, "result_index_%s.xml" % t,
                     "wu_archive_%s.xml" % t, "wu_index_%s.xml" % t]
    wus = parse_archive(files[2])
    assert [w.tag for w in wus] == ["workunit_archive"] * 2
    for rec, row in zip(wus, before_wu):
        check_record(rec, row, db_purge.WU_FIELDS)
    results = parse_archive(files[0])
    assert [int(x.findtext("id")) for x in results] == r1 + r2
    for rec, row in zip(results, before_res):
        check_record(rec, row, db_purge.RESULT_FIELDS)
    assert results[0].findtext("stderr_out") == stderr.replace("\x01", "")
    with open(files[3]) as f:
        assert f.read() == "%d     %s    pa\n%d     %s    pb\n" % (w1, t, w2, t)
    with open(files[1]) as f:
        assert f.read().splitlines()[0] == "%d     %s    pa_0" % (r1[0], t)


class Spy:
    """The real Database, with a count of the DELETE statements it ran."""

    def __init__(self, db):
        self.db, self.deletes = db, []

    def __getattr__(self, name):
        return getattr(self.db, name)

    def execute(self, sql, args=None):
        if sql.lstrip().upper().startswith("DELETE"):
            self.deletes.append(sql.split()[2])
        return self.db.execute(sql, args)


def run_in_process(project, argv, monkeypatch):
    """A DbPurge pass in this process, its DB wrapped in a Spy."""
    monkeypatch.setenv("BOINC_PROJECT_DIR", project.dir)
    d = db_purge.DbPurge()
    d.args = d.make_parser().parse_args(argv)
    d.log = logmod.Log(level=1, stream=io.StringIO())
    d.config = configmod.load(project.dir)
    d.db = Spy(connect(project))
    d.setup()
    try:
        d.do_pass()
    except Exception as exc:   # Stop when --max is reached
        if type(exc).__name__ != "Stop":
            raise
    finally:
        d.cleanup()
        d.db.close()
    return d.db


def test_deletes_in_batches(proj, monkeypatch):
    n = 450
    with proj.db.transaction():
        for i in range(n):
            wuid = insert(proj.db, "workunit", name="bw%d" % i, appid=proj.appid,
                          file_delete_state=DONE, xml_doc="", size_class=-1)
            for k in range(2):
                insert(proj.db, "result", name="bw%d_%d" % (i, k), workunitid=wuid,
                       appid=proj.appid, file_delete_state=DONE, size_class=-1)
    spy = run_in_process(proj, ["--one_pass", "--no_archive"], monkeypatch)
    assert proj.db.scalar("SELECT COUNT(*) FROM workunit") == 0
    assert proj.db.scalar("SELECT COUNT(*) FROM result") == 0
    groups = -(-n // db_purge.CHUNK)
    assert spy.deletes == ["result", "workunit"] * groups


def test_limits_and_filters(proj):
    db = proj.db
    other = add_app(db, "other")
    old, _ = job(proj, "old")
    young, _ = job(proj, "young")
    db.execute("UPDATE workunit SET mod_time=now() - interval 3 day WHERE id=%s", (old,))
    theirs, _ = job(proj, "theirs", appid=other)
    db.execute("UPDATE workunit SET mod_time=now() - interval 3 day WHERE id=%s", (theirs,))
    purge(proj, "--one_pass", "--min_age_days", "2", "--app", "worker", "--no_archive")
    assert rows(proj, "workunit", [old]) == []
    assert len(rows(proj, "workunit", [young, theirs])) == 2

    retired = insert(db, "batch", state=S.BATCH_STATE_RETIRED, name="r", description="")
    running = insert(db, "batch", state=S.BATCH_STATE_IN_PROGRESS, name="i", description="")
    in_retired, _ = job(proj, "in_retired", batch=retired)
    in_running, _ = job(proj, "in_running", batch=running)
    purge(proj, "--one_pass", "--batch", "--no_archive")
    assert rows(proj, "workunit", [young, theirs, in_retired]) == []
    assert len(rows(proj, "workunit", [in_running])) == 1

    many = [job(proj, "m%d" % i, nresults=0)[0] for i in range(5)]
    r = purge(proj, "--max", "3", "--no_archive")          # not one_pass: --max ends it
    assert "Archived 3 workunits and 2 results" in r.stderr     # in_running first
    assert len(rows(proj, "workunit", [in_running] + many)) == 3


def test_dont_delete_and_mod_needs_no_archive(proj):
    w, rids = job(proj, "dd")
    purge(proj, "--one_pass", "--dont_delete")
    assert len(rows(proj, "workunit", [w])) == 1 and len(rows(proj, "result", rids)) == 2
    assert len(parse_archive(archives(proj, "wu_archive_*")[0])) == 1
    r = program(proj, "db_purge", "--one_pass", "--mod", "2", "0")
    assert r.returncode == 1 and "If you use modulus, you must set no_archive" in r.stderr
    purge(proj, "--one_pass", "--mod", "2", "%d" % (w % 2), "--no_archive")
    assert rows(proj, "workunit", [w]) == []


@pytest.mark.parametrize("option, suffix", [("--gzip", ".gz"), ("--zlib", ".gz"),
                                            ("--zip", ".zip")])
def test_compressed_archives(proj, option, suffix):
    w, rids = job(proj, "cz")
    purge(proj, "--one_pass", option)
    files = archives(proj)
    assert len(files) == 4 and all(f.endswith(".xml" + suffix) for f in files)
    (wu_file,) = archives(proj, "wu_archive_*")
    assert [int(x.findtext("id")) for x in parse_archive(wu_file)] == [w]
    (res_file,) = archives(proj, "result_archive_*")
    assert [int(x.findtext("id")) for x in parse_archive(res_file)] == rids


def test_max_wu_per_file_and_daily_dir(proj):
    ids = [job(proj, "f%d" % i, nresults=1)[0] for i in range(5)]
    purge(proj, "--one_pass", "--max_wu_per_file", "2", "--daily_dir")
    (day,) = [d for d in os.listdir(os.path.join(proj.dir, "archives"))]
    assert len(day) == 10 and day[4] == day[7] == "_"
    wu_files = archives(proj, os.path.join(day, "wu_archive_*"))
    assert [[int(x.findtext("id")) for x in parse_archive(f)] for f in wu_files] == \
        [ids[0:2], ids[2:4], ids[4:5]]
    assert len(archives(proj, os.path.join(day, "*"))) == 12


def test_never_overwrites_an_archive(proj):
    a, _ = job(proj, "first")
    purge(proj, "--one_pass")
    b, _ = job(proj, "second")
    purge(proj, "--one_pass")
    wu_files = archives(proj, "wu_archive_*")
    assert sorted(int(x.findtext("id")) for f in wu_files for x in parse_archive(f)) == [a, b]


def test_assignments_go_with_their_workunit(proj):
    cfg = os.path.join(proj.dir, "config.xml")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("<config>", "<config>\n<enable_assignment>1</enable_assignment>", 1))
    w, _ = job(proj, "asg")
    keep, _ = job(proj, "asg2", file_delete_state=S.FILE_DELETE_READY)
    for wuid in (w, keep):
        insert(proj.db, "assignment", workunitid=wuid, target_type=S.ASSIGN_HOST, target_id=1)
    purge(proj, "--one_pass", "--no_archive")
    assert [r["workunitid"] for r in proj.db.query("SELECT workunitid FROM assignment")] == [keep]


def test_record_escaping():
    assert db_purge.xml_escape("a<b&c>\t\x02é]]>") == "a&lt;b&amp;c>&#9;&#233;]]&gt;"
    assert db_purge.raw_xml("<a>1</a><b/>") == "<a>1</a><b/>"
    # Not XML: escaped, so that the archive stays well-formed
    assert db_purge.raw_xml("<a>1</b> & <") == "&lt;a&gt;1&lt;/b&gt; &amp; &lt;"
    rec = db_purge.record("workunit_archive", db_purge.WU_FIELDS,
                          {"name": "x&y", "xml_doc": "<oops>", "mod_time": None})
    root = etree.fromstring(rec)
    assert (root.findtext("name"), root.findtext("xml_doc"), root.findtext("mod_time")) == \
        ("x&y", "<oops>", "")
    assert root.findtext("rsc_fpops_est") == "0.000000000000000e+00"
