"""``check_project``: is this project installed and running as it should?

One line per problem, each with its fix; exit status 1 if there is any,
0 (and "no problems found") if not.  Checked:

* users: the project's user (``<project_user_name>``, else the owner of
  the project directory) and Apache's (``<httpd_user>``) exist;
* permissions of every directory the web server writes (upload/ and its
  fan-out subdirectories, html/cache ..., log_HOST, the project directory
  for the ops pages' reread_db) and the daemons write (the project
  directory, log/pid/tmp_HOST, download/, upload/ and their subdirectories),
  judged from the modes, owners and groups as the kernel would for that
  user (ACLs are not read);
* the four keys: present; private keys readable by the project's user
  only (never by Apache's user or others), public keys readable by both;
  the ops pages' CSRF secret readable by Apache's user and nobody else;
  an operator in html/ops/.htpasswd;
* URLs: master_url ends in '/', the upload URL names a program of
  cgi-bin/, every scheduler URL of html/user/schedulers.txt and of the
  master page (fetched from master_url, else read from html/user/) is a
  program of this project's cgi-bin at the URL config.xml's upload_url
  puts it, and the two lists agree;
* the kernel's shared-memory limits (shmmax, shmall, shmmni) against the
  segment the feeder makes for ``<shmem_work_items>``;
* this host's daemons of config.xml run (pid file, process and lock, as
  the ops status page sees them), the project is ENABLED, no stop_* file,
  no reread_db left unread for minutes; the ops program Apache is told to
  run exists;
* the database answers and its schema is one our server can run with
  (sched.schema.compatibility_problems).
"""

import grp
import os
import pwd
import re
import stat
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from .. import apache, cli, config, paths, shmem
from ..errors import BoincError

KEYS_PRIVATE = ("upload_private", "code_sign_private")
# The feeder looks for reread_db every few seconds; this is long past that.
REREAD_PATIENCE = 300
KEYS_PUBLIC = ("upload_public", "code_sign_public")
SCHEDULER_RE = re.compile(r'<link\s+rel="boinc_scheduler"\s+href="([^"]+)"|'
                          r"<scheduler>\s*([^<\s]+)\s*</scheduler>", re.I)


@dataclass
class Problem:
    text: str
    fix: str

    def line(self):
        return "%s -- fix: %s" % (self.text, self.fix)


# ---------------------------------------------------------------- who may do what

class Account:
    """A user as the kernel sees it for permission checks."""

    def __init__(self, pw):
        self.name, self.uid = pw.pw_name, pw.pw_uid
        self.gids = set(os.getgrouplist(pw.pw_name, pw.pw_gid))
        self.group = grp.getgrgid(pw.pw_gid).gr_name if _has_gid(pw.pw_gid) else str(pw.pw_gid)

    @classmethod
    def named(cls, name):
        try:
            return cls(pwd.getpwnam(name))
        except KeyError:
            return None

    @classmethod
    def of_uid(cls, uid):
        try:
            return cls(pwd.getpwuid(uid))
        except KeyError:
            return None

    def bits(self, st):
        """The rwx bits (as 0-7) that apply to this user for a file's stat."""
        if self.uid == 0:
            return 7
        if st.st_uid == self.uid:
            return (st.st_mode >> 6) & 7
        if st.st_gid in self.gids:
            return (st.st_mode >> 3) & 7
        return st.st_mode & 7

    def can(self, path, want):
        """``want`` (4 r, 2 w, 1 x, or a sum) on ``path``, and x on every
        directory above it.  False if something is missing."""
        path = os.path.abspath(path)
        parent = os.path.dirname(path)
        while True:
            try:
                if parent and not self.bits(os.stat(parent)) & 1:
                    return False
            except OSError:
                return False
            if parent == os.path.dirname(parent):
                break
            parent = os.path.dirname(parent)
        try:
            st = os.stat(path)
        except OSError:
            return False
        if self.uid == 0:
            return not (want & 1 and not stat.S_ISDIR(st.st_mode) and not st.st_mode & 0o111)
        return self.bits(st) & want == want


def _has_gid(gid):
    try:
        grp.getgrgid(gid)
        return True
    except KeyError:
        return False


def _rel(cfg, path):
    rel = os.path.relpath(path, cfg.project_dir)
    return path if rel.startswith("..") else rel


class Checker:
    def __init__(self, cfg, http=True, code_sign_offline=False, timeout=10):
        self.cfg = cfg
        self.http = http
        self.code_sign_offline = code_sign_offline
        self.timeout = timeout
        self.problems = []
        self.host = paths.short_hostname()

    def add(self, text, fix):
        self.problems.append(Problem(text, fix))

    def run(self):
        self.check_users()
        if self.owner is not None:
            self.check_dirs()
            self.check_keys()
            self.check_ops_files()
        self.check_urls()
        self.check_shmem_limits()
        self.check_daemons()
        self.check_database()
        return self.problems

    # -- users
    def check_users(self):
        cfg = self.cfg
        name = cfg.get("project_user_name")
        if name:
            self.owner = Account.named(name)
            if self.owner is None:
                self.add("config.xml's <project_user_name> %s is no user of this system" % name,
                         "correct <project_user_name> in config.xml")
        else:
            try:
                self.owner = Account.of_uid(os.stat(cfg.project_dir).st_uid)
            except OSError as exc:
                raise BoincError("can't look at %s: %s" % (cfg.project_dir, exc.strerror))
        httpd = cfg.get("httpd_user") or apache.httpd_user() or "www-data"
        self.httpd = Account.named(httpd)
        if self.httpd is None:
            self.add("Apache's user %s (config.xml <httpd_user>) is no user of this system"
                     % httpd, "set <httpd_user> in config.xml to the user Apache runs as "
                     "(www-data on Debian)")

    # -- directories
    def _writable(self, path, who, role):
        """One problem if ``who`` can't create files in directory ``path``."""
        if who is None:
            return
        if not os.path.isdir(path):
            self.add("%s is missing (%s write it)" % (_rel(self.cfg, path), role),
                     "mkdir -p %s, then run bin/check_project again" % path)
            return
        if who.can(path, 3):
            return
        st = os.stat(path)
        if st.st_gid in who.gids:
            fix = "chmod g+rwx %s" % path
        else:
            fix = "chgrp %s %s && chmod g+rwx %s" % (who.group, path, path)
        if path == self.cfg.project_dir:
            fix += " && chmod +t %s (sticky: Apache can't remove the project's files)" % path
        self.add("%s is not writable by %s (%s, user %s)" % (
            _rel(self.cfg, path), who.name, role, who.name), fix)

    def _subdirs_writable(self, path, who, role):
        """The fan-out subdirectories: one line for all that fail."""
        if who is None or not os.path.isdir(path):
            return
        bad = []
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            self.add("can't list %s: %s" % (_rel(self.cfg, path), exc.strerror),
                     "chmod g+rx %s" % path)
            return
        for name in names:
            sub = os.path.join(path, name)
            if os.path.isdir(sub) and not who.can(sub, 3):
                bad.append(name)
        if bad:
            self.add("%d subdirectories of %s are not writable by %s (%s), e.g. %s" % (
                len(bad), _rel(self.cfg, path), who.name, role, ", ".join(bad[:3])),
                "chgrp -R %s %s && chmod -R g+rwX %s" % (who.group, path, path))

    def check_dirs(self):
        cfg = self.cfg
        web = "Apache's programs"
        daemons = "the daemons"
        upload = cfg.upload_dir or cfg.project_path("upload")
        download = cfg.download_dir or cfg.project_path("download")
        web_dirs = [upload, cfg.dir("log"), cfg.project_dir]
        web_dirs += [cfg.project_path(d) for d in apache.HTTPD_WRITABLE
                     if d != "upload" and os.path.isdir(cfg.project_path(d))]
        for d in web_dirs:
            self._writable(d, self.httpd, web + (" (reread_db from the ops pages)"
                                                  if d == cfg.project_dir else ""))
        self._subdirs_writable(upload, self.httpd, web)
        for d in (cfg.project_dir, cfg.dir("log"), cfg.dir("pid"), cfg.dir("tmp"),
                  download, upload):
            self._writable(d, self.owner, daemons)
        for d in (download, upload):
            self._subdirs_writable(d, self.owner, daemons)

    # -- keys and secrets
    def check_keys(self):
        cfg = self.cfg
        for name in KEYS_PRIVATE + KEYS_PUBLIC:
            path = cfg.key_path(name)
            if not os.path.exists(path):
                if name == "code_sign_private" and self.code_sign_offline:
                    continue
                self.add("key %s is missing" % path, _missing_key_fix(name, path))
                continue
            if name in KEYS_PRIVATE:
                self._private(path)
            else:
                self._public(path)

    def _private(self, path):
        owner, httpd = self.owner, self.httpd
        st = os.stat(path)
        if not owner.can(path, 4):
            self.add("private key %s is not readable by the project's user %s"
                     % (path, owner.name), "chown %s %s && chmod 600 %s"
                     % (owner.name, path, path))
        if st.st_mode & 0o044 and not (httpd and httpd.uid == owner.uid) and (
                st.st_mode & 0o004 or (httpd and st.st_gid in httpd.gids)):
            self.add("private key %s is readable by %s (mode %o)" % (
                path, "everyone" if st.st_mode & 0o004 else "group %s" % _group(st.st_gid),
                stat.S_IMODE(st.st_mode)), "chmod 600 %s" % path)
        elif httpd and httpd.uid != owner.uid and httpd.can(path, 4):
            self.add("private key %s is readable by Apache's user %s" % (path, httpd.name),
                     "chown %s %s && chmod 600 %s" % (owner.name, path, path))

    def _public(self, path):
        for who, why in ((self.owner, "the daemons"), (self.httpd, "Apache's programs")):
            if who is not None and not who.can(path, 4):
                self.add("public key %s is not readable by %s (%s)" % (path, who.name, why),
                         "chmod 644 %s (and a+x on the directories above it)" % path)

    def check_ops_files(self):
        from ..ops import csrf
        cfg = self.cfg
        secret = csrf.secret_path(cfg.project_dir)
        httpd_fix = ("chown %s %s && chmod 600 %s" % (self.httpd.name, secret, secret)
                     if self.httpd else "chmod 600 %s" % secret)
        if not os.path.exists(secret):
            self.add("the ops pages' CSRF secret %s is missing: they refuse every change"
                     % _rel(cfg, secret),
                     "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > %s && %s"
                     % (secret, httpd_fix))
        else:
            st = os.stat(secret)
            if self.httpd and not self.httpd.can(secret, 4):
                self.add("%s is not readable by Apache's user %s: the ops pages refuse "
                         "every change" % (_rel(cfg, secret), self.httpd.name), httpd_fix)
            if st.st_mode & 0o004:
                self.add("%s is readable by everyone (mode %o)"
                         % (_rel(cfg, secret), stat.S_IMODE(st.st_mode)), httpd_fix)
        program = cfg.project_path("html", "ops", apache.OPS_PROGRAM)
        conf = cfg.project_path("%s.httpd.conf" % os.path.basename(cfg.project_dir))
        try:
            with open(conf, errors="replace") as f:
                routed = "html/ops/%s" % apache.OPS_PROGRAM in f.read()
        except OSError:
            routed = False
        if routed and not (os.path.isfile(program) and os.access(program, os.X_OK)):
            self.add("%s routes the ops pages to %s, which is missing or not executable"
                     % (os.path.basename(conf), _rel(cfg, program)),
                     "bin/upgrade (it installs our programs), or chmod +x %s" % program)
        htpasswd = cfg.project_path("html", "ops", ".htpasswd")
        try:
            with open(htpasswd) as f:
                users = [line for line in f if ":" in line]
        except OSError:
            users = []
        if not users:
            self.add("no operator in %s: nobody can use the ops pages" % _rel(cfg, htpasswd),
                     "htpasswd %s USERNAME" % htpasswd)

    # -- URLs
    def check_urls(self):
        cfg = self.cfg
        master = cfg.master_url
        if not master:
            self.add("config.xml has no <master_url>", "add <master_url>URL/</master_url>")
            return
        if not master.endswith("/"):
            self.add("master_url %s does not end in '/' (clients add one: two names for "
                     "one project)" % master, "add the '/' to <master_url> in config.xml")
        upload = cfg.upload_url
        cgi_base = None
        if not upload:
            self.add("config.xml has no <upload_url>", "add <upload_url> (URL_BASE/"
                     "NAME_cgi/file_upload_handler)")
        else:
            cgi_base, _, program = upload.rpartition("/")
            cgi_base += "/"
            if "file_upload_handler" not in program:
                self.add("upload_url %s doesn't name file_upload_handler (clients take other "
                         "URLs for downloads)" % upload, "point <upload_url> at "
                         "cgi-bin/file_upload_handler or fcgi_file_upload_handler")
            elif not os.path.isfile(os.path.join(cfg.dir("cgi-bin"), program)):
                self.add("upload_url %s names %s, which is not in cgi-bin/" % (upload, program),
                         "correct <upload_url> in config.xml")
        listed = self._schedulers_txt()
        page, where = self._master_page(master)
        on_page = _scheduler_urls(page) if page is not None else []
        if page is not None and not on_page:
            self.add("the master page (%s) names no scheduler: clients can't get work"
                     % where, "put the lines of html/user/schedulers.txt into its <head>")
        for url in sorted(set(listed) | set(on_page)):
            self._scheduler_url(url, cgi_base, where if url in on_page else
                                "html/user/schedulers.txt")
        if page is not None and listed and set(listed) != set(on_page):
            self.add("the master page (%s) names scheduler(s) %s but html/user/schedulers.txt "
                     "says %s" % (where, ", ".join(on_page) or "none", ", ".join(listed)),
                     "make the two name the same scheduler URL(s)")

    def _schedulers_txt(self):
        path = self.cfg.project_path("html", "user", "schedulers.txt")
        try:
            with open(path, errors="replace") as f:
                return _scheduler_urls(f.read())
        except OSError:
            return []

    def _master_page(self, master):
        """(text, where it came from) of the master page; (None, ..) if none."""
        if self.http:
            try:
                req = urllib.request.Request(master, headers={"User-Agent": "check_project"})
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    return r.read(1 << 20).decode("utf-8", "replace"), master
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                self.add("the master page %s can't be fetched (%s)" % (master, reason),
                         "start Apache with the project's %s.httpd.conf included, or correct "
                         "<master_url>" % os.path.basename(self.cfg.project_dir))
        for name in ("index.html", "index.php"):
            path = self.cfg.project_path("html", "user", name)
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    return f.read(), "html/user/" + name
        return None, None

    def _scheduler_url(self, url, cgi_base, where):
        cfg = self.cfg
        program = url.rstrip("/").rpartition("/")[2]
        expected = cgi_base and url.startswith(cgi_base)
        if cgi_base and not expected:
            self.add("%s names scheduler URL %s, not one of this project's: config.xml's "
                     "upload_url puts the programs at %s" % (where, url, cgi_base),
                     "use %scgi (or %sfcgi) in html/user/schedulers.txt and the master page"
                     % (cgi_base, cgi_base))
        elif not os.path.isfile(os.path.join(cfg.dir("cgi-bin"), program)):
            self.add("%s names scheduler URL %s, but cgi-bin/ has no program %s"
                     % (where, url, program), "name cgi or fcgi (programs in cgi-bin/)")
        master = urlsplit(cfg.master_url)
        if urlsplit(urljoin(cfg.master_url, url)).scheme not in ("http", "https"):
            self.add("%s names scheduler URL %s, not an http(s) URL" % (where, url),
                     "use the full URL, e.g. %s://%s/..." % (master.scheme, master.netloc))

    # -- shared memory
    def check_shmem_limits(self, limits=None):
        cfg = self.cfg
        need = feeder_segment_size(cfg)
        limits = limits or kernel_shm_limits()
        if limits is None:
            return
        shmmax, shmall, shmmni, page = limits
        if need > shmmax:
            self.add("the feeder's segment for <shmem_work_items> %d needs %d bytes, more than "
                     "kernel.shmmax %d" % (cfg.work_items, need, shmmax),
                     "sysctl -w kernel.shmmax=%d (and in /etc/sysctl.d/), or lower "
                     "<shmem_work_items>" % need)
        if need > shmall * page:
            self.add("the feeder's segment needs %d pages, more than kernel.shmall %d"
                     % (-(-need // page), shmall),
                     "sysctl -w kernel.shmall=%d" % (-(-need // page) * 2))
        if shmmni < 1:
            self.add("kernel.shmmni is 0: no shared memory segment can be made",
                     "sysctl -w kernel.shmmni=4096")

    # -- daemons
    def check_daemons(self):
        from ..ops import daemons
        cfg = self.cfg
        statuses = [d for d in daemons.daemon_status(cfg) if d.host == self.host]
        wanted = [d for d in statuses if d.status != daemons.DISABLED]
        if wanted and not daemons.run_state_enabled(cfg, self.host):
            self.add("the project is DISABLED on %s (bin/stop, or never started)" % self.host,
                     "cd %s && bin/start" % cfg.project_dir)
        for d in wanted:
            if d.status == daemons.NOT_RUNNING:
                self.add("daemon '%s' is not running on %s%s" % (
                    d.cmd, self.host, " (pid %d in %s is gone)" % (d.pid, d.pid_file)
                    if d.pid else ""), "cd %s && bin/start (its log: %s)" % (
                        cfg.project_dir, os.path.join(cfg.dir("log"),
                                                      d.cmd.split()[0] + ".log")))
        reread = cfg.project_path("reread_db")
        try:
            waiting = time.time() - os.stat(reread).st_mtime
        except OSError:
            waiting = 0
        if waiting > REREAD_PATIENCE:
            self.add("reread_db has waited %d minutes: the feeder isn't reloading its catalog "
                     "(not running?)" % (waiting // 60), "cd %s && bin/start (the feeder "
                     "removes reread_db when it has reloaded)" % cfg.project_dir)
        for name, what in (("stop_daemons", "daemons stop and won't start"),
                           ("stop_sched", "the scheduler turns clients away"),
                           ("stop_upload", "the upload handler refuses files")):
            if wanted and os.path.exists(cfg.project_path(name)):
                self.add("%s exists: %s" % (name, what), "rm %s (bin/start removes "
                         "stop_daemons and stop_sched)" % cfg.project_path(name))

    # -- database
    def check_database(self):
        from .. import db as dbmod
        from .. import schema
        cfg = self.cfg
        try:
            db = dbmod.connect(cfg)
        except dbmod.DatabaseError as exc:
            self.add(str(exc), "start the database server, or correct <db_host>, <db_user>, "
                     "<db_passwd>, <db_name> in config.xml")
            return
        try:
            for p in schema.compatibility_problems(db):
                self.add("database schema: %s" % p, "bin/upgrade (or add what is missing "
                         "from db/schema.sql)")
        except dbmod.DatabaseError as exc:
            self.add("can't read the schema: %s" % exc, "grant the DB user SELECT on "
                     "information_schema (it normally has it)")
        finally:
            db.close()


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _missing_key_fix(name, path):
    pair = name.rsplit("_", 1)[0]
    d = os.path.dirname(path)
    if pair == "code_sign":
        return ("restore it from your offline copy (a new pair needs BOINC's key-change "
                "signatures for existing clients); a new project: bin/crypt_prog -genkey 1024 "
                "%s/code_sign_private %s/code_sign_public" % (d, d))
    return ("restore it from a backup, or make a new pair: bin/crypt_prog -genkey 1024 "
            "%s/upload_private %s/upload_public (unsent jobs then need new upload "
            "certificates)" % (d, d))


def _scheduler_urls(text):
    out = []
    for m in SCHEDULER_RE.finditer(text):
        url = m.group(1) or m.group(2)
        if url not in out:
            out.append(url)
    return out


def feeder_segment_size(cfg):
    """Bytes of the segment the feeder creates (sched.shmem.FeederCache.create)."""
    n = cfg.work_items
    catalog = shmem.CATALOG_BYTES
    if cfg.get("shmem_catalog_bytes"):
        try:
            catalog = int(cfg.get("shmem_catalog_bytes"), 0)
        except ValueError:
            pass
    texts = _align(shmem.HEADER_BYTES + n * shmem.SLOT.size, 64)
    return _align(texts + n * shmem.SLOT_TEXT_BYTES, 4096) + catalog


def _align(n, to):
    return (n + to - 1) // to * to


def kernel_shm_limits():
    """(shmmax, shmall, shmmni, page size) from /proc, or None off Linux."""
    try:
        values = []
        for name in ("shmmax", "shmall", "shmmni"):
            with open("/proc/sys/kernel/" + name) as f:
                values.append(int(f.read().split()[0]))
    except (OSError, ValueError, IndexError):
        return None
    return tuple(values) + (os.sysconf("SC_PAGE_SIZE"),)


USAGE = """usage: check_project [--no_http] [--code_sign_offline]
Check this project's permissions, keys, URLs, shared-memory limits, daemons
and database; print one line per problem with its fix (exit status 1), or
'no problems found'.

  --no_http            don't fetch the master page (read html/user/ instead)
  --code_sign_offline  code_sign_private is kept off this machine (as it should be)
"""


def main(argv):
    parser = cli.ArgumentParser(prog="check_project", usage=USAGE, add_help=False)
    parser.add("no_http", action="store_true")
    parser.add("code_sign_offline", action="store_true")
    parser.add_argument("-h", "--help", action="store_true")
    opts = parser.parse_args(argv)
    if opts.help:
        print(USAGE, end="")
        return 0
    cfg = config.load()
    problems = Checker(cfg, http=not opts.no_http,
                       code_sign_offline=opts.code_sign_offline).run()
    for p in problems:
        print(p.line())
    if not problems:
        print("no problems found")
    return 1 if problems else 0


def run():
    cli.run(main)
