"""``update_versions``: add the app versions found under ``apps/`` (BOINC's rules).

Layout: ``apps/APP/VERSION/PLATFORM[__PLANCLASS]/`` holding the version's
files and an optional ``version.xml``.  APP must be an app in the DB, VERSION
``N`` or ``MAJ.MIN`` (version_num ``N`` or ``100*MAJ+MIN``), PLATFORM a
platform in the DB; a version already in the DB (app, version_num, platform,
plan class) is left alone.  Each file is signed (``NAME.sig`` if there is
one, else with ``keys/code_sign_private``), copied flat into the download
dir, and described in the ``xml_doc`` of a new ``app_version`` row in exactly
BOINC's layout.  Finally ``reread_db`` is touched so a running feeder
rereads the DB.

How it differs from BOINC's PHP script, on purpose:

* Everything is checked before anything changes.  What BOINC dies on (an app
  directory with no app in the DB, an unreadable version.xml, a file with no
  signature and no key, a file that differs from the download dir's copy of
  the same name) stops the run with one line and nothing staged or inserted.
  What BOINC skips with a message (unknown platform, bad version dir name,
  files listed but missing, not exactly one main program) is skipped the
  same way, and the exit status is then 1 (BOINC's is 0).
* Every signature is checked with ``keys/code_sign_public`` (when there is
  one), as the clients will: a stale ``.sig`` stops the run.
* Confirmation prompts are read from stdin only when it is a terminal.
  Without ``--noconfirm`` and with no terminal (cron, a pipe, CI) the run
  stops with one line before changing anything, where BOINC would block on
  an open pipe or, at end of input, quietly add nothing.
* Directory entries are read in name order (BOINC: readdir order), and the
  app dir is ``<app_dir>`` of config.xml when set (BOINC: always ``apps``).
"""

import gzip
import mmap
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field

from .. import cli, config, crypt, db
from ..errors import BoincError, ConfigError
from ..xmlutil import XMLError, escape, parse_file, strtol

SIG_NOTICE = """
    NOTICE: files will be signed with your project's code-signing private key
    (%s).
    Keep that key on an offline machine when you are done; see
    https://github.com/BOINC/boinc/wiki/Code-signing

    Continue (y/n)? """

# The BOINC API version compiled into an app: the tail of a printable string.
_API_VERSION = re.compile(rb"API_VERSION_([0-9]+\.[0-9]+\.[0-9]+)(?![\t\x20-\x7e])")
_VERSION_DIR = re.compile(r"([0-9]+)(?:\.([0-9]+))?\Z")


class Skip(Exception):
    """This app version can't be added; the message says why.  Go on with the rest."""


@dataclass
class FileDesc:
    """One file of an app version (from version.xml and/or the directory)."""
    physical_name: str
    logical_name: str = ""
    urls: list = field(default_factory=list)
    main_program: bool = False
    copy_file: bool = False
    gzip: bool = False
    present: bool = False
    path: str = ""              # the file under apps/
    nbytes: int = 0
    executable: bool = False
    signature: str = ""         # BOINC text form; "" until signed
    sig_path: str = ""          # NAME.sig, when there is one
    dl_path: str = ""           # where it goes in the download dir
    md5: str = ""
    gzipped_nbytes: int = 0


@dataclass
class VersionDesc:
    """The flags of version.xml (all off without one)."""
    files: list = field(default_factory=list)
    dont_throttle: bool = False
    needs_network: bool = False
    is_wrapper: bool = False
    file_prefix: str = ""
    beta: bool = False
    api_version: str = ""


@dataclass
class Plan:
    """An app version ready to be added."""
    app: dict
    version_dir: str
    version_num: int
    platform: dict
    plan_class: str
    dir_name: str               # PLATFORM[__PLANCLASS]
    rel_dir: str                # apps/APP/VER/PLAT, for messages
    vers: VersionDesc = None
    files: list = field(default_factory=list)


def parse_version(name):
    """``N`` -> N, ``MAJ.MIN`` -> 100*MAJ+MIN; None if not a version number.

    A minor number over 99 would collide with the next major one, so it is
    refused (BOINC takes it).
    """
    m = _VERSION_DIR.match(name)
    if not m:
        return None
    if m.group(2) is None:
        return int(m.group(1))
    minor = int(m.group(2))
    if minor > 99:
        return None
    return 100 * int(m.group(1)) + minor


def parse_platform_dir(name):
    """``PLATFORM__PLANCLASS`` -> (platform, plan_class)."""
    platform, _, plan_class = name.partition("__")
    return platform, plan_class


def _flag(elem, tag):
    """BOINC's get_bool: any ``<tag>`` that is empty or a positive number."""
    for child in elem.findall(tag):
        text = (child.text or "").strip()
        if not text:
            return True
        try:
            if strtol(text) > 0:
                return True
        except ValueError:
            pass
    return False


def _text(elem, tag):
    child = elem.find(tag)
    return "" if child is None else (child.text or "").strip()


def _check_name(name, where):
    """A physical name becomes a path in the download dir: keep it inside."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise BoincError("%s: bad <physical_name> %r (a file name, or a relative path "
                         "without '..')" % (where, name))


def read_version_xml(path):
    """Parse a version.xml into a VersionDesc (files in its order)."""
    try:
        root = parse_file(path)
    except (OSError, XMLError) as exc:
        raise BoincError("can't load %s: %s (check that it is valid XML)" % (path, exc)) from None
    vers = VersionDesc(
        dont_throttle=_flag(root, "dont_throttle"),
        needs_network=_flag(root, "needs_network"),
        is_wrapper=_flag(root, "is_wrapper"),
        file_prefix=_text(root, "file_prefix"),
        beta=_flag(root, "beta"),
        api_version=_text(root, "api_version"))
    seen = set()
    for fx in root.findall("file"):
        name = _text(fx, "physical_name")
        _check_name(name, path)
        if name in seen:
            raise BoincError("%s: file %s is listed twice" % (path, name))
        seen.add(name)
        vers.files.append(FileDesc(
            physical_name=name,
            logical_name=_text(fx, "logical_name"),
            urls=[(u.text or "").strip() for u in fx.findall("url")],
            main_program=_flag(fx, "main_program"),
            copy_file=_flag(fx, "copy_file"),
            gzip=_flag(fx, "gzip")))
    return vers


def api_version_of(path):
    """The ``API_VERSION_x.y.z`` string in a binary, as ``strings | grep`` finds it."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return ""
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            m = _API_VERSION.search(data)
            return m.group(1).decode() if m else ""


def _listdir(path):
    """Directory entries in name order, without hidden ones (as BOINC skips them)."""
    return sorted(e for e in os.listdir(path) if not e.startswith("."))


# --------------------------------------------------------------------- xml_doc

def file_info_xml(fd):
    """The ``<file_info>`` of one file, laid out as BOINC's update_versions."""
    out = ["<file_info>\n", "    <name>%s</name>\n" % escape(fd.physical_name)]
    for url in fd.urls:
        out.append("    <url>%s</url>\n" % escape(url))
        if fd.gzip:
            out.append("    <gzipped_url>%s.gz</gzipped_url>\n" % escape(url))
    if fd.executable or fd.main_program:
        out.append("    <executable/>\n")
    out.append("    <file_signature>\n%s    </file_signature>\n" % fd.signature)
    out.append("    <nbytes>%d</nbytes>\n" % fd.nbytes)
    if fd.gzip:
        out.append("    <gzipped_nbytes>%d</gzipped_nbytes>\n" % fd.gzipped_nbytes)
    out.append("</file_info>\n")
    return "".join(out)


def file_ref_xml(fd):
    out = ["<file_ref>\n", "    <file_name>%s</file_name>\n" % escape(fd.physical_name)]
    if fd.logical_name:
        out.append("    <open_name>%s</open_name>\n" % escape(fd.logical_name))
    if fd.copy_file:
        out.append("    <copy_file/>\n")
    if fd.main_program:
        out.append("    <main_program/>\n")
    out.append("</file_ref>\n")
    return "".join(out)


def app_version_xml(app_name, version_num, vers, files):
    """The whole ``app_version.xml_doc``: file_infos, then ``<app_version>``."""
    out = [file_info_xml(fd) for fd in files]
    out.append("<app_version>\n    <app_name>%s</app_name>\n    <version_num>%d</version_num>\n"
               % (escape(app_name), version_num))
    if vers.api_version:
        out.append("    <api_version>%s</api_version>\n" % escape(vers.api_version))
    out.extend(file_ref_xml(fd) for fd in files)
    for flag in ("dont_throttle", "needs_network", "is_wrapper"):
        if getattr(vers, flag):
            out.append("    <%s/>\n" % flag)
    if vers.file_prefix:
        out.append("    <file_prefix>%s</file_prefix>\n" % escape(vers.file_prefix))
    out.append("</app_version>\n")
    return "".join(out)


# -------------------------------------------------------------------- the tool

class UpdateVersions:
    def __init__(self, cfg, database, confirm=True, verbose=False, out=None, stdin=None):
        self.cfg = cfg
        self.db = database
        self.confirm = confirm
        self.verbose = verbose
        self.out = out or _print
        self.stdin = stdin or sys.stdin
        self.problems = 0
        for tag in ("download_url", "download_dir"):
            if not cfg.get(tag):
                raise ConfigError("<%s> not found in %s" % (tag, cfg.path))
        self.download_url = cfg.get("download_url").rstrip("/")
        self.download_dir = cfg.project_path(cfg.get("download_dir"))
        self.apps_dir = cfg.project_path(cfg.get("app_dir") or "apps")
        self.key_path = cfg.key_path("code_sign_private")
        # Files this run will put in the download dir: name -> (md5, source).
        self.staging = {}

    def rel(self, *parts):
        """A path under apps/ as messages show it: relative to the project dir."""
        path = os.path.join(self.apps_dir, *parts)
        inside = os.path.relpath(path, self.cfg.project_dir)
        return path if inside.startswith("..") else inside

    def say(self, line):
        self.out(line)

    def note(self, line):
        if self.verbose:
            self.out(line)

    def skip(self, message):
        self.problems += 1
        self.out(message)

    # ---- looking (nothing changes here)

    def scan(self):
        """Every new app version under apps/, checked; raises on fatal problems."""
        if not os.path.isdir(self.apps_dir):
            raise BoincError("can't open %s (the app versions go in APP/VERSION/PLATFORM/ "
                             "under it)" % self.apps_dir)
        apps = {r["name"]: r for r in self.db.query("SELECT * FROM app")}
        platforms = {r["name"]: r for r in self.db.query("SELECT * FROM platform")}
        plans = []
        for app_name in _listdir(self.apps_dir):
            app_path = os.path.join(self.apps_dir, app_name)
            if not os.path.isdir(app_path):
                continue
            app = apps.get(app_name)
            if app is None:
                raise BoincError("app not found: %s (%s: add the app to project.xml and "
                                 "run bin/xadd)" % (app_name, app_path))
            self.note("App %s:" % app_name)
            for vdir in _listdir(app_path):
                if not os.path.isdir(os.path.join(app_path, vdir)):
                    continue
                num = parse_version(vdir)
                if num is None:
                    self.skip("%s: %s is not a version number; skipping"
                              % (self.rel(app_name, vdir), vdir))
                    continue
                self.note("   Version %s:" % vdir)
                for pdir in _listdir(os.path.join(app_path, vdir)):
                    if not os.path.isdir(os.path.join(app_path, vdir, pdir)):
                        continue
                    plan = self.scan_version(app, vdir, num, pdir, platforms)
                    if plan is not None:
                        plans.append(plan)
        return plans

    def scan_version(self, app, vdir, num, pdir, platforms):
        self.note("      App version: %s" % pdir)
        platform_name, plan_class = parse_platform_dir(pdir)
        rel = self.rel(app["name"], vdir, pdir)
        platform = platforms.get(platform_name)
        if platform is None:
            self.skip("         no such platform: %s (%s skipped: add the platform to "
                      "project.xml and run bin/xadd)" % (platform_name, rel))
            return None
        if self.db.scalar("SELECT id FROM app_version WHERE appid=%s AND version_num=%s "
                          "AND platformid=%s AND plan_class=%s",
                          (app["id"], num, platform["id"], plan_class)):
            self.note("         (already in database)")
            return None
        plan = Plan(app=app, version_dir=vdir, version_num=num, platform=platform,
                    plan_class=plan_class, dir_name=pdir, rel_dir=rel)
        directory = os.path.join(self.apps_dir, app["name"], vdir, pdir)
        vfile = os.path.join(directory, "version.xml")
        plan.vers = read_version_xml(vfile) if os.path.isfile(vfile) else VersionDesc()
        try:
            plan.files = self.collect_files(plan, directory)
        except Skip as exc:
            self.skip(str(exc))
            return None
        if not plan.vers.api_version:
            main = next(fd for fd in plan.files if fd.main_program)
            plan.vers.api_version = api_version_of(main.path)
        return plan

    def collect_files(self, plan, directory):
        """version.xml's files (its order) then the others in the dir, checked."""
        files = list(plan.vers.files)
        by_name = {fd.physical_name: fd for fd in files}
        for name in _listdir(directory):
            if name == "version.xml" or name.endswith(".sig"):
                continue
            if os.path.isdir(os.path.join(directory, name)):
                continue        # files in subdirs count only when version.xml names them
            fd = by_name.get(name)
            if fd is None:
                fd = by_name[name] = FileDesc(physical_name=name)
                files.append(fd)
        missing = []
        for fd in files:
            fd.path = os.path.join(directory, fd.physical_name)
            fd.present = os.path.isfile(fd.path)
            if not fd.present:
                missing.append(fd.physical_name)
        if missing:
            raise Skip("   File %s is listed in %s/version.xml but not present - skipping."
                       % (", ".join(missing), plan.rel_dir))
        if not files:
            raise Skip("         %s has no files - skipping." % plan.rel_dir)
        if len(files) == 1:
            files[0].main_program = True
        mains = sum(1 for fd in files if fd.main_program)
        if mains == 0:
            raise Skip("         No file was marked as the main program in %s - skipping."
                       % plan.rel_dir)
        if mains > 1:
            raise Skip("         More than one file was marked as the main program in %s "
                       "- skipping." % plan.rel_dir)
        for fd in files:
            self.check_file(plan, fd)
        return files

    def check_file(self, plan, fd):
        """Size, x bit, signature source, and the download dir's copy (immutable)."""
        self.note("         process_file(): %s/%s" % (plan.rel_dir, fd.physical_name))
        st = os.stat(fd.path)
        fd.nbytes = st.st_size
        fd.executable = bool(st.st_mode & 0o100)
        sig = fd.path + ".sig"
        if os.path.isfile(sig):
            fd.sig_path = sig
        elif not os.path.isfile(self.key_path):
            raise BoincError("no .sig file for %s/%s, and no code signing private key %s"
                             % (plan.rel_dir, fd.physical_name, self.key_path))
        fd.md5 = crypt.md5_file(fd.path)
        fd.dl_path = os.path.join(self.download_dir, fd.physical_name)
        if not fd.urls:
            fd.urls = ["%s/%s" % (self.download_url, fd.physical_name)]
        source = "%s/%s" % (plan.rel_dir, fd.physical_name)
        earlier = self.staging.get(fd.physical_name)
        if earlier is None and os.path.isfile(fd.dl_path):
            earlier = (crypt.md5_file(fd.dl_path), fd.dl_path)
        if earlier is not None and earlier[0] != fd.md5:
            raise BoincError("files %s and %s differ: BOINC files are immutable; if you "
                             "change a file, you must give it a new name"
                             % (source, earlier[1]))
        self.staging.setdefault(fd.physical_name, (fd.md5, source))

    # ---- asking

    def ask(self, prompt):
        """True if the operator answers "y" (end of input is a no)."""
        self.out(prompt, end="")
        return self.stdin.readline().strip() == "y"

    def confirm_plan(self, plan):
        self.say("Found new app version for: %s %s %s"
                 % (plan.app["name"], plan.version_dir, plan.dir_name))
        lines = ["    Files:"]
        for fd in plan.files:
            lines.append("        %s%s" % (fd.physical_name,
                                           " (main program)" if fd.main_program else ""))
        lines.append("    Flags:")
        v = plan.vers
        for flag, words in (("dont_throttle", "don't throttle"), ("needs_network",
                            "needs network"), ("is_wrapper", "is wrapper"), ("beta", "beta")):
            if getattr(v, flag):
                lines.append("        " + words)
        if v.file_prefix:
            lines.append("        file prefix: %s" % v.file_prefix)
        lines.append("        API version: %s" % v.api_version)
        self.say("\n".join(lines))
        return self.ask("    Do you want to add this app version (y/n)? ")

    # ---- doing

    def sign(self, plans):
        """Fill in every signature: NAME.sig, else signed with code_sign_private."""
        unsigned = [fd for p in plans for fd in p.files if not fd.sig_path]
        if unsigned:
            if self.confirm and not self.ask(SIG_NOTICE % self.key_path):
                return False
            key = crypt.read_private_key(self.key_path)
        public_path = self.cfg.key_path("code_sign_public")
        public = crypt.read_public_key(public_path) if os.path.isfile(public_path) else None
        for plan in plans:
            for fd in plan.files:
                if fd.sig_path:
                    with open(fd.sig_path) as f:
                        fd.signature = f.read().strip() + "\n"
                else:
                    fd.signature = crypt.sign_file(fd.path, key).strip() + "\n"
                # Clients check with code_sign_public; a bad .sig (or a key pair
                # that doesn't match) would make every client reject the version.
                if public is not None and not crypt.verify_file(fd.path, fd.signature, public):
                    raise BoincError("%s is not a valid signature of %s/%s with %s: sign the "
                                     "file again" % (fd.sig_path or "the new signature",
                                                     plan.rel_dir, fd.physical_name,
                                                     public_path))
        return True

    def stage(self, fd):
        """Copy a file into the download dir (unless there) and make its .gz."""
        if not os.path.isfile(fd.dl_path):
            os.makedirs(os.path.dirname(fd.dl_path), exist_ok=True)
            self.note("         cp %s %s" % (fd.path, fd.dl_path))
            tmp = "%s.tmp%d" % (fd.dl_path, os.getpid())
            shutil.copy(fd.path, tmp)
            os.replace(tmp, fd.dl_path)
        if fd.gzip:
            gz = fd.dl_path + ".gz"
            if not os.path.isfile(gz):
                tmp = "%s.tmp%d" % (gz, os.getpid())
                with open(fd.dl_path, "rb") as src, gzip.open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, gz)
            fd.gzipped_nbytes = os.path.getsize(gz)

    def add(self, plan):
        for fd in plan.files:
            self.stage(fd)
        xml_doc = app_version_xml(plan.app["name"], plan.version_num, plan.vers, plan.files)
        new_id = self.db.insert(
            "INSERT INTO app_version (create_time, appid, version_num, platformid, xml_doc, "
            "plan_class, beta) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (int(time.time()), plan.app["id"], plan.version_num, plan.platform["id"],
             xml_doc, plan.plan_class, int(plan.vers.beta)))
        self.say("    App version added successfully; ID=%d" % new_id)
        return new_id

    def run(self):
        """Scan, ask, add; touch reread_db.  Returns the ids added (None if stopped)."""
        plans = self.scan()
        if plans and self.confirm and not (self.stdin and self.stdin.isatty()):
            raise BoincError("stdin is not a terminal, so can't ask for confirmation: "
                             "run with --noconfirm to add the app versions without asking")
        if not self.sign(plans):
            return None
        added = []
        for plan in plans:
            if self.confirm and not self.confirm_plan(plan):
                continue
            added.append(self.add(plan))
        touch(self.cfg.project_path("reread_db"))
        return added


def _print(line="", end="\n"):
    sys.stdout.write(line + end)
    sys.stdout.flush()      # prompts must show before we read the answer


def touch(path):
    with open(path, "a"):
        pass
    os.utime(path, None)


def main(argv):
    parser = cli.ArgumentParser(
        prog="update_versions",
        description="Add the app versions found under apps/APP/VERSION/PLATFORM[__PLANCLASS]/ "
                    "to the database and stage their files.")
    parser.add("noconfirm", action="store_true", help="don't ask for confirmation")
    parser.add("verbose", action="store_true", help="print details")
    args = parser.parse_args(argv)
    cfg = config.load()
    database = db.connect(cfg)
    try:
        tool = UpdateVersions(cfg, database, confirm=not args.noconfirm, verbose=args.verbose)
        tool.run()
    finally:
        database.close()
    return 1 if tool.problems else 0


def run():
    cli.run(main)
