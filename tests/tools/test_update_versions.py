"""bin/update_versions against a real MariaDB and a throw-away project dir."""

import gzip
import os
import pty
import re
import subprocess

import pytest

from testenv import ROOT, SHARED
from sched import config, crypt, schema
from sched import db as dbmod
from sched.tools import update_versions as uv
from sched.tools import xadd
from sched.xmlutil import parse_bytes

REFPROJ = os.path.join(SHARED, "fixtures", "boinc-made-project")
LINUX = "x86_64-pc-linux-gnu"
DOWNLOAD_URL = "http://boinc.example.org/proj/download"

PROJECT_XML = """<boinc>
  <platform><name>x86_64-pc-linux-gnu</name><user_friendly_name>Linux 64</user_friendly_name></platform>
  <platform><name>windows_x86_64</name><user_friendly_name>Windows 64</user_friendly_name></platform>
  <app><name>worker</name><user_friendly_name>Worker</user_friendly_name></app>
</boinc>
"""

# The version.xml of refproj's app version (BOINC's wrapper around worker).
WRAPPER_VERSION_XML = """<version>
    <file>
        <physical_name>wrapper_26019_x86_64-pc-linux-gnu</physical_name>
        <main_program/>
    </file>
    <file>
        <physical_name>worker_6_x86_64-pc-linux-gnu</physical_name>
        <logical_name>worker</logical_name>
    </file>
    <file>
        <physical_name>worker_job_1.0.xml</physical_name>
        <logical_name>job.xml</logical_name>
    </file>
    <is_wrapper/>
</version>
"""


class Project:
    def __init__(self, path, database):
        self.path = path
        self.db = database
        self.download = os.path.join(path, "download")
        self.keys = os.path.join(path, "keys")

    def version_dir(self, app, version, platform, files, version_xml=None):
        """apps/APP/VERSION/PLATFORM with ``files``: name -> (bytes, mode)."""
        d = os.path.join(self.path, "apps", app, version, platform)
        os.makedirs(d, exist_ok=True)
        for name, (data, mode) in files.items():
            p = os.path.join(d, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, mode)
        if version_xml is not None:
            with open(os.path.join(d, "version.xml"), "w") as f:
                f.write(version_xml)
        return d

    def run(self, *args, stdin=subprocess.DEVNULL):
        env = dict(os.environ)
        env.pop("BOINC_PROJECT_DIR", None)
        return subprocess.run([os.path.join(ROOT, "bin", "update_versions")] + list(args),
                              cwd=self.path, env=env, stdin=stdin,
                              capture_output=True, text=True)

    def versions(self):
        return self.db.query("SELECT * FROM app_version ORDER BY id")

    def downloads(self):
        return sorted(os.listdir(self.download))


@pytest.fixture
def mini(tmp_path, admin_db, db_account, db_name):
    """A minimal project dir: config.xml, keys, download/; platforms and an app in its DB."""
    proj = str(tmp_path / "proj")
    for d in ("cgi-bin", "download", "upload", "keys", "apps"):
        os.makedirs(os.path.join(proj, d))
    with open(os.path.join(proj, "config.xml"), "w") as f:
        f.write("<boinc>\n<config>\n"
                "  <db_name>%s</db_name>\n  <db_user>%s</db_user>\n"
                "  <db_passwd>%s</db_passwd>\n  <db_host>%s</db_host>\n"
                "  <download_url>%s</download_url>\n  <download_dir>%s/download</download_dir>\n"
                "  <upload_dir>%s/upload</upload_dir>\n  <uldl_dir_fanout>1024</uldl_dir_fanout>\n"
                "  <key_dir>%s/keys/</key_dir>\n</config>\n</boinc>\n"
                % (db_name, db_account["user"], db_account["passwd"], db_account["host"],
                   DOWNLOAD_URL, proj, proj, proj))
    with open(os.path.join(proj, "project.xml"), "w") as f:
        f.write(PROJECT_XML)
    private, public = crypt.generate_key_pair()
    crypt.write_private_key(os.path.join(proj, "keys", "code_sign_private"), private)
    crypt.write_public_key(os.path.join(proj, "keys", "code_sign_public"), public)
    schema.create_database(admin_db, db_name)
    database = dbmod.Database(db_name, db_account["user"], db_account["passwd"],
                              db_account["host"]).connect()
    schema.load_schema(database)
    xadd.xadd(config.load(proj), database, out=lambda line: None)
    yield Project(proj, database)
    database.close()


def wrapper_files():
    return {
        "wrapper_26019_x86_64-pc-linux-gnu":
            (b"\x7fELF\x02\x01\x01\x00binary\x00API_VERSION_8.3.0\x00more\x01", 0o755),
        "worker_6_x86_64-pc-linux-gnu": (b"\x7fELF\x02\x01\x01\x00the worker\x00", 0o755),
        "worker_job_1.0.xml": (b"<job_desc>\n    <task>\n        <application>worker"
                               b"</application>\n    </task>\n</job_desc>\n", 0o644),
    }


def split_doc(xml_doc):
    """An xml_doc's top-level elements (it is a sequence, not one document)."""
    return list(parse_bytes("<doc>%s</doc>" % xml_doc))


def refproj_xml_doc():
    with open(os.path.join(REFPROJ, "refproj.sql")) as f:
        sql = f.read()
    m = re.search(r"INSERT INTO `app_version` VALUES\n\(\d+,\d+,\d+,\d+,\d+,'((?:[^'\\]|\\.)*)'",
                  sql)
    return re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1)),
                  m.group(1))


def normalise(xml_doc):
    """Blank out what differs between projects: signatures, URL base, sizes."""
    xml_doc = re.sub(r"<file_signature>\n[0-9a-f\n]+\.\n", "<file_signature>\nSIG\n", xml_doc)
    xml_doc = re.sub(r"<url>http://[^<]*/download/", "<url>BASE/", xml_doc)
    return re.sub(r"<nbytes>\d+</nbytes>", "<nbytes>N</nbytes>", xml_doc)


def test_wrapper_version_as_boinc_stores_it(mini):
    d = mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    reread = os.path.join(mini.path, "reread_db")
    res = mini.run("--noconfirm")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    (av,) = mini.versions()
    assert res.stdout == "    App version added successfully; ID=%d\n" % av["id"]
    linux = mini.db.scalar("SELECT id FROM platform WHERE name=%s", (LINUX,))
    app = mini.db.scalar("SELECT id FROM app WHERE name='worker'")
    assert (av["appid"], av["version_num"], av["platformid"], av["plan_class"], av["beta"],
            av["deprecated"]) == (app, 100, linux, "", 0, 0)
    assert av["create_time"] > 0

    xml_doc = av["xml_doc"].decode()
    # Byte for byte BOINC's layout: the same doc as refproj's but for the
    # signatures, the URL base and the sizes.
    assert normalise(xml_doc) == normalise(refproj_xml_doc())
    elems = split_doc(xml_doc)
    assert [e.tag for e in elems] == ["file_info"] * 3 + ["app_version"]
    public = crypt.read_public_key(os.path.join(mini.keys, "code_sign_public"))
    for fi, (name, (data, mode)) in zip(elems, wrapper_files().items()):
        assert fi.findtext("name") == name
        assert fi.findtext("url") == "%s/%s" % (DOWNLOAD_URL, name)
        assert int(fi.findtext("nbytes")) == len(data)
        assert (fi.find("executable") is not None) == bool(mode & 0o100)
        dl = os.path.join(mini.download, name)
        with open(dl, "rb") as f:
            assert f.read() == data
        assert crypt.verify_file(dl, fi.findtext("file_signature"), public)
        assert crypt.verify_file(os.path.join(d, name), fi.findtext("file_signature"), public)
    assert elems[3].findtext("api_version") == "8.3.0"
    # Flat in download/, despite uldl_dir_fanout.
    assert mini.downloads() == sorted(wrapper_files())
    assert os.path.isfile(reread)


def test_second_run_adds_nothing(mini):
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    assert mini.run("--noconfirm").returncode == 0
    before = mini.versions()
    reread = os.path.join(mini.path, "reread_db")
    os.utime(reread, (0, 0))
    res = mini.run("--noconfirm")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    assert mini.versions() == before
    assert os.stat(reread).st_mtime != 0       # touched anyway, as BOINC
    res = mini.run("--noconfirm", "--verbose")
    assert "         (already in database)" in res.stdout.splitlines()
    # Without --noconfirm there is nothing to ask, so no terminal is needed.
    assert mini.run().returncode == 0


def test_several_platforms_plan_classes_and_shared_files(mini):
    shared = {"common.dat": (b"same data everywhere", 0o644)}
    for plat in (LINUX, LINUX + "__mt", "windows_x86_64"):
        files = dict(shared, **{"app_" + plat.replace("__", "_"): (b"exe " + plat.encode(),
                                                                    0o755)})
        mini.version_dir("worker", "7", plat, files,
                            "<version><file><physical_name>app_%s</physical_name>"
                            "<main_program/></file><api_version>7.1.2</api_version>"
                            "</version>" % plat.replace("__", "_"))
    res = mini.run("--noconfirm")
    assert res.returncode == 0, res.stderr
    rows = mini.db.query("SELECT p.name, a.version_num, a.plan_class FROM app_version a "
                            "JOIN platform p ON p.id=a.platformid ORDER BY a.id")
    assert sorted((r["name"], r["version_num"], r["plan_class"]) for r in rows) == [
        ("windows_x86_64", 7, ""), (LINUX, 7, ""), (LINUX, 7, "mt")]
    for av in mini.versions():
        elems = split_doc(av["xml_doc"].decode())
        assert elems[-1].findtext("api_version") == "7.1.2"
        refs = elems[-1].findall("file_ref")
        mains = [r.findtext("file_name") for r in refs if r.find("main_program") is not None]
        assert len(mains) == 1 and mains[0].startswith("app_")
    assert "common.dat" in mini.downloads()


def test_single_file_is_main_program_and_flags(mini):
    mini.version_dir("worker", "2.05", LINUX, {"solo": (b"only file", 0o644)},
                        "<version><dont_throttle/><needs_network>1</needs_network>"
                        "<file_prefix>pre</file_prefix><beta/></version>")
    assert mini.run("--noconfirm").returncode == 0
    (av,) = mini.versions()
    assert (av["version_num"], av["beta"]) == (205, 1)
    xml_doc = av["xml_doc"].decode()
    assert xml_doc.endswith("<file_ref>\n    <file_name>solo</file_name>\n    <main_program/>\n"
                            "</file_ref>\n    <dont_throttle/>\n    <needs_network/>\n"
                            "    <file_prefix>pre</file_prefix>\n</app_version>\n")
    # Not x-bit, but the main program: executable all the same.
    assert "    <executable/>\n" in xml_doc
    assert "<api_version>" not in xml_doc


def test_gzip_copy_file_sig_file_and_extra_urls(mini):
    data = b"compress me " * 100
    d = mini.version_dir("worker", "3", LINUX, {"main": (b"main", 0o755),
                                                   "big.dat": (data, 0o644)},
                            "<version><file><physical_name>main</physical_name><main_program/>"
                            "</file><file><physical_name>big.dat</physical_name>"
                            "<url>http://mirror.example.org/big.dat</url>"
                            "<url>http://other.example.org/big.dat</url>"
                            "<copy_file/><gzip/></file></version>")
    private = crypt.read_private_key(os.path.join(mini.keys, "code_sign_private"))
    for name in ("main", "big.dat"):
        with open(os.path.join(d, name + ".sig"), "w") as f:
            f.write(crypt.sign_file(os.path.join(d, name), private))
    os.remove(os.path.join(mini.keys, "code_sign_private"))   # .sig files suffice
    res = mini.run("--noconfirm")
    assert res.returncode == 0, res.stderr
    (av,) = mini.versions()
    xml_doc = av["xml_doc"].decode()
    elems = split_doc(xml_doc)
    big = elems[1]
    assert [e.text for e in big.iter("url")] == ["http://mirror.example.org/big.dat",
                                                 "http://other.example.org/big.dat"]
    assert [e.text for e in big.iter("gzipped_url")] == ["http://mirror.example.org/big.dat.gz",
                                                         "http://other.example.org/big.dat.gz"]
    gz = os.path.join(mini.download, "big.dat.gz")
    assert int(big.findtext("gzipped_nbytes")) == os.path.getsize(gz)
    with gzip.open(gz) as f:
        assert f.read() == data
    with open(os.path.join(d, "big.dat.sig")) as f:
        assert big.findtext("file_signature") == "\n" + f.read() + "    "
    ref = elems[2].findall("file_ref")[1]
    assert [c.tag for c in ref] == ["file_name", "copy_file"]
    assert "<url>http://mirror.example.org/big.dat</url>\n    <gzipped_url>" in xml_doc
    assert "<nbytes>1200</nbytes>\n    <gzipped_nbytes>" in xml_doc


def test_existing_identical_download_file_is_fine(mini):
    files = wrapper_files()
    with open(os.path.join(mini.download, "worker_job_1.0.xml"), "wb") as f:
        f.write(files["worker_job_1.0.xml"][0])
    mini.version_dir("worker", "1.0", LINUX, files, WRAPPER_VERSION_XML)
    assert mini.run("--noconfirm").returncode == 0
    assert len(mini.versions()) == 1


def assert_nothing_done(mini, res, message):
    """Exit 1, one error line, no row, nothing staged, reread_db not touched."""
    assert res.returncode == 1
    assert res.stderr.splitlines() == ["update_versions: " + message]
    assert mini.versions() == []
    assert mini.downloads() == []
    assert not os.path.exists(os.path.join(mini.path, "reread_db"))


def test_unknown_app_stops_before_anything(mini):
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    mini.version_dir("zzz_nosuch", "1.0", LINUX, {"a": (b"a", 0o755)})
    res = mini.run("--noconfirm")
    assert_nothing_done(mini, res, "app not found: zzz_nosuch (%s/apps/zzz_nosuch: add the "
                        "app to project.xml and run bin/xadd)" % mini.path)


def test_differing_download_file_stops_before_anything(mini):
    with open(os.path.join(mini.download, "worker_job_1.0.xml"), "w") as f:
        f.write("an older job.xml")
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    res = mini.run("--noconfirm")
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "update_versions: files apps/worker/1.0/%s/worker_job_1.0.xml and %s/worker_job_1.0.xml "
        "differ: BOINC files are immutable; if you change a file, you must give it a new name"
        % (LINUX, mini.download)]
    assert mini.versions() == []
    assert mini.downloads() == ["worker_job_1.0.xml"]


def test_two_versions_with_differing_files_of_one_name(mini):
    mini.version_dir("worker", "1", LINUX, {"f": (b"one", 0o755)})
    mini.version_dir("worker", "2", LINUX, {"f": (b"two", 0o755)})
    res = mini.run("--noconfirm")
    assert_nothing_done(mini, res, "files apps/worker/2/%s/f and apps/worker/1/%s/f differ: "
                        "BOINC files are immutable; if you change a file, you must give it "
                        "a new name" % (LINUX, LINUX))


def test_no_signature_and_no_key(mini):
    os.remove(os.path.join(mini.keys, "code_sign_private"))
    mini.version_dir("worker", "1", LINUX, {"f": (b"one", 0o755)})
    res = mini.run("--noconfirm")
    assert_nothing_done(mini, res, "no .sig file for apps/worker/1/%s/f, and no code signing "
                        "private key %s/keys/code_sign_private" % (LINUX, mini.path))


def test_signature_not_matching_code_sign_public(mini):
    d = mini.version_dir("worker", "1", LINUX, {"f": (b"one", 0o755)})
    other, _ = crypt.generate_key_pair()
    with open(os.path.join(d, "f.sig"), "w") as f:
        f.write(crypt.sign_file(os.path.join(d, "f"), other))
    res = mini.run("--noconfirm")
    assert_nothing_done(mini, res, "%s/f.sig is not a valid signature of apps/worker/1/%s/f "
                        "with %s/code_sign_public: sign the file again"
                        % (d, LINUX, mini.keys))


def test_bad_version_xml(mini):
    mini.version_dir("worker", "1", LINUX, {"f": (b"one", 0o755)}, "<version><file>")
    res = mini.run("--noconfirm")
    assert res.returncode == 1 and len(res.stderr.splitlines()) == 1
    assert res.stderr.startswith("update_versions: can't load %s/apps/worker/1/%s/version.xml"
                                 % (mini.path, LINUX))
    mini.version_dir("worker", "1", LINUX, {}, "<version><file><physical_name>../../x"
                        "</physical_name></file></version>")
    res = mini.run("--noconfirm")
    assert res.returncode == 1 and "bad <physical_name> '../../x'" in res.stderr
    assert mini.versions() == [] and mini.downloads() == []


@pytest.mark.parametrize("case", ["platform", "two_mains", "no_main", "missing", "version_dir"])
def test_skipped_version_leaves_no_trace(mini, case):
    """BOINC skips these with a message; the good version still goes in."""
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    two = {"a": (b"a", 0o755), "b": (b"b", 0o755)}
    if case == "platform":
        mini.version_dir("worker", "1.0", "amiga", two)
        line = ("         no such platform: amiga (apps/worker/1.0/amiga skipped: add the "
                "platform to project.xml and run bin/xadd)")
    elif case == "two_mains":
        mini.version_dir("worker", "1.0", "windows_x86_64", two,
                            "<version><file><physical_name>a</physical_name><main_program/>"
                            "</file><file><physical_name>b</physical_name><main_program/>"
                            "</file></version>")
        line = ("         More than one file was marked as the main program in "
                "apps/worker/1.0/windows_x86_64 - skipping.")
    elif case == "no_main":
        mini.version_dir("worker", "1.0", "windows_x86_64", two)
        line = ("         No file was marked as the main program in "
                "apps/worker/1.0/windows_x86_64 - skipping.")
    elif case == "missing":
        mini.version_dir("worker", "1.0", "windows_x86_64", two,
                            "<version><file><physical_name>a</physical_name><main_program/>"
                            "</file><file><physical_name>c</physical_name></file></version>")
        line = ("   File c is listed in apps/worker/1.0/windows_x86_64/version.xml but not "
                "present - skipping.")
    else:
        mini.version_dir("worker", "1.x", LINUX, two)
        line = "apps/worker/1.x: 1.x is not a version number; skipping"
    res = mini.run("--noconfirm")
    assert res.returncode == 1, res.stderr
    assert res.stdout.splitlines()[0] == line
    (av,) = mini.versions()
    assert av["platformid"] == mini.db.scalar("SELECT id FROM platform WHERE name=%s",
                                                 (LINUX,))
    assert mini.downloads() == sorted(wrapper_files())   # a, b not staged


def test_files_in_subdirectories(mini):
    mini.version_dir("worker", "1", LINUX, {"main": (b"m", 0o755), "sub/data": (b"d", 0o644)},
                        "<version><file><physical_name>main</physical_name><main_program/>"
                        "</file><file><physical_name>sub/data</physical_name></file></version>")
    assert mini.run("--noconfirm").returncode == 0
    (av,) = mini.versions()
    assert split_doc(av["xml_doc"].decode())[1].findtext("url") == DOWNLOAD_URL + "/sub/data"
    with open(os.path.join(mini.download, "sub", "data"), "rb") as f:
        assert f.read() == b"d"


def test_not_a_terminal_without_noconfirm(mini):
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    with open(os.devnull) as devnull:
        res = mini.run(stdin=devnull)
    assert_nothing_done(mini, res, "stdin is not a terminal, so can't ask for confirmation: "
                        "run with --noconfirm to add the app versions without asking")


def run_on_terminal(mini, answers):
    """Run without --noconfirm, answering on a pseudo-terminal."""
    master, slave = pty.openpty()
    try:
        os.write(master, answers.encode())
        res = mini.run(stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    return res


def test_confirmation_yes(mini):
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    res = run_on_terminal(mini, "y\ny\n")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "NOTICE: files will be signed with your project's code-signing private key" in out
    assert ("Found new app version for: worker 1.0 %s\n    Files:\n"
            "        wrapper_26019_x86_64-pc-linux-gnu (main program)\n"
            "        worker_6_x86_64-pc-linux-gnu\n        worker_job_1.0.xml\n"
            "    Flags:\n        is wrapper\n        API version: 8.3.0\n"
            "    Do you want to add this app version (y/n)? " % LINUX) in out
    assert "App version added successfully" in out
    assert len(mini.versions()) == 1


def test_confirmation_no(mini):
    mini.version_dir("worker", "1.0", LINUX, wrapper_files(), WRAPPER_VERSION_XML)
    res = run_on_terminal(mini, "y\nn\n")
    assert res.returncode == 0
    assert "App version added" not in res.stdout
    assert mini.versions() == [] and mini.downloads() == []
    # Declining to sign stops the run, as BOINC's.
    os.remove(os.path.join(mini.path, "reread_db"))
    res = run_on_terminal(mini, "n\n")
    assert res.returncode == 0
    assert "Do you want to add" not in res.stdout
    assert mini.versions() == []
    assert not os.path.exists(os.path.join(mini.path, "reread_db"))


def test_unknown_option():
    res = subprocess.run([os.path.join(ROOT, "bin", "update_versions"), "--bogus"],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "unrecognized arguments: --bogus" in res.stderr


def test_parse_version():
    assert uv.parse_version("7") == 7
    assert uv.parse_version("1.0") == 100
    assert uv.parse_version("7.20") == 720
    assert uv.parse_version("2.05") == 205
    for bad in ("x", "1.x", "1.2.3", "1.", ".5", "-1", "1.100", ""):
        assert uv.parse_version(bad) is None


def test_parse_platform_dir():
    assert uv.parse_platform_dir(LINUX) == (LINUX, "")
    assert uv.parse_platform_dir(LINUX + "__cuda_fermi") == (LINUX, "cuda_fermi")


def test_api_version_of(tmp_path):
    p = tmp_path / "bin"
    for data, want in ((b"\x00API_VERSION_7.22.1\x00", "7.22.1"),
                       (b"xxAPI_VERSION_8.3.0", "8.3.0"),          # at the end of the file
                       (b"API_VERSION_8.3.0x\x00API_VERSION_1.2.3\n", "1.2.3"),
                       (b"API_VERSION_8.3\x00", ""), (b"", "")):
        p.write_bytes(data)
        assert uv.api_version_of(str(p)) == want


def test_in_a_project_made_by_make_project(make_project):
    """The operator's path: make_project --test_app, bin/xadd, bin/update_versions."""
    made = make_project("uvtest", "--test_app")
    env = dict(os.environ)
    env.pop("BOINC_PROJECT_DIR", None)
    d = os.path.join(made.dir, "apps", "example_app", "1.0", LINUX)
    os.makedirs(d)
    with open(os.path.join(d, "example_app_1.0_" + LINUX), "wb") as f:
        f.write(b"\x7fELF example app\x00API_VERSION_8.3.0\x00")
    for prog, args in (("xadd", []), ("update_versions", ["--noconfirm"])):
        res = subprocess.run([os.path.join(made.dir, "bin", prog)] + args, cwd=made.dir,
                             env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("    App version added successfully; ID=")
    with dbmod.connect(made.config) as database:
        (av,) = database.query("SELECT * FROM app_version")
    (fi, app_version) = split_doc(av["xml_doc"].decode())
    dl = os.path.join(made.config.get("download_dir"), "example_app_1.0_" + LINUX)
    assert fi.findtext("url") == "%s/example_app_1.0_%s" % (made.config.get("download_url"),
                                                            LINUX)
    public = crypt.read_public_key(made.config.key_path("code_sign_public"))
    assert crypt.verify_file(dl, fi.findtext("file_signature"), public)
    assert app_version.findtext("api_version") == "8.3.0"
    assert os.path.isfile(os.path.join(made.dir, "reread_db"))
