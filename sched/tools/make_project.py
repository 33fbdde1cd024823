"""``make_project [options] NAME [LONG_NAME]``: create a project, as BOINC's.

Makes the project directory (BOINC's layout and modes), its four keys,
config.xml with BOINC's defaults, project.xml, the database with our
schema, the master page, the Apache include file ``NAME.httpd.conf``, and
installs our library and programs into it (:mod:`sched.install`).  Every
check that can fail (project dir, database server, existing database) runs
before anything is created, and a failure half-way removes what this run
made.
"""

import getpass
import html
import os
import random
import re
import shutil
import socket
import sys

from lxml import etree

from .. import apache, cli, crypt, install, paths, schema
from .. import db as dbmod
from ..errors import BoincError
from ..ops import csrf

TEMPLATE_DIR = "project_template"

# BOINC's own (tools/project.xml): the platforms a new project knows.
PLATFORMS = [
    ("windows_intelx86",
     "Microsoft Windows (98 or later) running on an Intel x86-compatible CPU"),
    ("windows_x86_64", "Microsoft Windows running on an AMD x86_64 or Intel EM64T CPU"),
    ("windows_arm64", "Microsoft Windows running on ARM 64-bit"),
    ("i686-pc-linux-gnu", "Linux running on an Intel x86-compatible CPU"),
    ("x86_64-pc-linux-gnu", "Linux running on an AMD x86_64 or Intel EM64T CPU"),
    ("powerpc-apple-darwin", "Mac OS X 10.3 or later running on Motorola PowerPC"),
    ("i686-apple-darwin", "Mac OS 10.4 or later running on Intel"),
    ("x86_64-apple-darwin", "Intel 64-bit Mac OS 10.5 or later"),
    ("arm64-apple-darwin", "Mac OS running on ARM"),
    ("sparc-sun-solaris2.7", "Solaris 2.7 running on a SPARC-compatible CPU"),
    ("sparc-sun-solaris", "Solaris 2.8 or later running on a SPARC-compatible CPU"),
    ("sparc64-sun-solaris", "Solaris 2.8 or later running on a SPARC 64-bit CPU"),
    ("powerpc64-ps3-linux-gnu", "Sony Playstation 3 running Linux"),
    ("arm-android-linux-gnu", "Android running on ARM armeabi-v7a"),
    ("aarch64-android-linux-gnu", "Android running on ARM 64-bit arm64-v8a"),
    ("x86_64-android-linux-gnu", "Android running on Intel x64 compatible"),
    ("x86-android-linux-gnu", "Android running on Intel x86 compatible"),
    ("arm-unknown-linux-gnueabihf", "Linux running on ARM, hardware FP"),
    ("aarch64-unknown-linux-gnu", "Linux running on ARM64"),
    ("anonymous", "anonymous"),
]

# BOINC's layout; Apache writes into the GROUP_WRITABLE ones (setgid, 2770).
DIRS = ("cgi-bin", "bin", "templates", "upload", "download", "apps", "archives",
        "html", "html/cache", "html/inc", "html/languages", "html/languages/compiled",
        "html/languages/translations", "html/ops", "html/project", "html/stats",
        "html/user", "html/user/img", "html/user_profile", "html/user_profile/images")
GROUP_WRITABLE = apache.HTTPD_WRITABLE
KEY_PAIRS = ("upload", "code_sign")

# db_update.php's last revision for the schema db/schema.sql mirrors (BOINC
# HEAD); BOINC records it in PROJECT/db_revision for its upgrade scripts.
DB_REVISION = 27032

TEST_APP = "example_app"
# BOINC's --test_app daemons.
TEST_APP_DAEMONS = ("sample_work_generator", "sample_bitwise_validator",
                    "batch_collect_assimilator")

# (period, output, cmd, disabled): BOINC's default tasks.
DEFAULT_TASKS = [
    ("24 hours", "antique_file_deleter.out", "antique_file_deleter -d 2", 0),
    ("24 hours", "db_dump.out", "db_dump -d 2 --dump_spec ../db_dump_spec.xml", 1),
    ("1 days", "update_uotd.out", "run_in_ops ./update_uotd.php", 0),
    ("1 hour", "update_forum_activities.out", "run_in_ops ./update_forum_activities.php", 0),
    ("1 days", "update_stats.out", "update_stats", 0),
    ("24 hours", "update_profile_pages.out", "run_in_ops ./update_profile_pages.php", 0),
    ("24 hours", "team_import.out", "run_in_ops ./team_import.php", 1),
    ("24 hours", "notify.out", "run_in_ops ./notify.php", 0),
    ("24 hours", "badge_assign.out", "run_in_ops ./badge_assign.php", 0),
    ("24 hours", "delete_expired_tokens.out", "run_in_ops ./delete_expired_tokens.php", 0),
    ("24 hours", "delete_expired_users_and_hosts.out",
     "run_in_ops ./delete_expired_users_and_hosts.php", 0),
]
DEFAULT_DAEMONS = ("feeder", "transitioner", "file_deleter")

CRON_MINUTES = ",".join(str(m) for m in range(0, 60, 5))


def _parser():
    p = cli.ArgumentParser(
        prog="make_project",
        usage="make_project [options] PROJECT_NAME [PROJECT_LONGNAME]",
        description="Create a new BOINC project with everything on this server.  "
        "Values may use the words PROJECT, PROJECT_ops, PROJECT_cgi, URL_BASE, "
        "PROJECT_HOST, PROJECT_ROOT and USER_NAME for the values they name.")
    p.add_argument("name", metavar="PROJECT_NAME")
    p.add_argument("long_name", metavar="PROJECT_LONGNAME", nargs="?")
    p.add("no_query", action="store_true", help="don't ask before doing things")
    p.add("user_name", help="default: $USER")
    p.add("delete_prev_inst", action="store_true",
          help="delete the project root first (a previous installation)")
    p.add("drop_db_first", action="store_true", help="drop the database first")
    p.add("test_app", action="store_true", help="set up the example application")
    p.add("web_only", action="store_true", help="no keys, no computing")
    p.add("no_db", action="store_true", help="don't create the database")
    p.add("srcdir", help="the checkout to install programs from (default: this one)")
    p.add("project_root", help="default: $HOME/projects/PROJECT")
    p.add("key_dir", help="default: PROJECT_ROOT/keys; existing keys there are kept")
    p.add("project_host", help="default: this host's full name")
    p.add("url_base", help="default: https://PROJECT_HOST/")
    p.add("html_user_url", help="master URL; default: URL_BASE/PROJECT/")
    p.add("html_ops_url", help="default: URL_BASE/PROJECT_ops/")
    p.add("db_name", help="default: PROJECT")
    p.add("db_user", help="default: USER_NAME")
    p.add("db_passwd", default="", help="default: none")
    p.add("db_host", default="", help="default: the local server")
    p.add("fcgi", action="store_true",
          help="run the scheduler and upload handler under FastCGI (mod_fcgid): "
          "clients get the URLs of cgi-bin/fcgi and cgi-bin/fcgi_file_upload_handler")
    p.add("verbose", type=int, default=1, metavar="N",
          help="0: quiet, 1: steps (default), 2: every file")
    p.add_argument("-v", dest="verbose", action="store_const", const=2,
                   help="same as --verbose 2")
    return p


class _Tokens:
    """BOINC's substitution of option names (PROJECT, URL_BASE, ...) in values."""

    def __init__(self, name):
        self.values = {"PROJECT": name, "PROJECT_ops": name + "_ops",
                       "PROJECT_cgi": name + "_cgi"}

    def set(self, token, value):
        self.values[token] = value

    def expand(self, text):
        # Longest names first, so PROJECT_ROOT is not read as PROJECT + _ROOT;
        # a value stands without its trailing slash, as in BOINC.
        names = sorted(self.values, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(n) for n in names))
        return pattern.sub(lambda m: self.values[m.group(0)].rstrip("/"), text)


def _slash(url):
    return url if url.endswith("/") else url + "/"


def _default_host():
    """This host's full name, as BOINC's; its first label must be the short name
    our programs use for log_HOST etc. (getfqdn may answer 'localhost')."""
    name = socket.gethostname()
    try:
        fqdn = socket.getfqdn()
    except OSError:
        fqdn = ""
    return fqdn if fqdn.split(".")[0] == paths.short_hostname() else name


class Settings:
    """Every value the new project needs, from the options and BOINC's defaults."""

    def __init__(self, opts):
        name = opts.name
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise BoincError("project name %r: use letters, digits, '_', '.' and '-' "
                             "(it becomes part of URLs and file names)" % name)
        self.name = name
        self.long_name = opts.long_name or name
        tok = _Tokens(name)

        full_host = tok.expand(opts.project_host or _default_host())
        tok.set("PROJECT_HOST", full_host)
        self.url_base = _slash(tok.expand(opts.url_base or "https://%s/" % full_host))
        tok.set("URL_BASE", self.url_base)
        if not self.url_base.startswith(("http://", "https://")):
            raise BoincError("--url_base %s: must be an http:// or https:// URL" % self.url_base)
        self.host = full_host.split(".")[0]
        self.master_url = _slash(tok.expand(opts.html_user_url or "URL_BASE/PROJECT"))
        self.ops_url = _slash(tok.expand(opts.html_ops_url or "URL_BASE/PROJECT_ops"))
        self.user_name = tok.expand(opts.user_name or os.environ.get("USER")
                                    or getpass.getuser())
        tok.set("USER_NAME", self.user_name)
        self.root = os.path.abspath(os.path.expanduser(tok.expand(
            opts.project_root or os.path.join(os.path.expanduser("~"), "projects", "PROJECT"))))
        tok.set("PROJECT_ROOT", self.root)
        self.key_dir = os.path.abspath(os.path.expanduser(tok.expand(
            opts.key_dir or os.path.join(self.root, "keys"))))
        self.db_name = tok.expand(opts.db_name or "PROJECT")
        self.db_user = tok.expand(opts.db_user or "USER_NAME")
        self.db_passwd = opts.db_passwd
        self.db_host = opts.db_host

        self.mode = "fcgi" if opts.fcgi else "cgi"
        self.cgi_url = self.url_base + name + "_cgi"
        prefix = "fcgi" if opts.fcgi else ""
        self.scheduler_url = "%s/%s" % (self.cgi_url, prefix or "cgi")
        self.upload_url = "%s/%sfile_upload_handler" % (self.cgi_url, prefix and prefix + "_")
        for url in (self.master_url, self.scheduler_url):
            if re.search(r'[\s"<>]', url):
                raise BoincError("URL %r: no spaces, quotes or angle brackets, please" % url)
        self.srcdir = os.path.abspath(opts.srcdir or install.SOURCE_ROOT)
        self.opts = opts

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def summary(self):
        rows = [("project_root", self.root), ("project_host", self.host),
                ("url_base", self.url_base), ("html_user_url", self.master_url),
                ("html_ops_url", self.ops_url), ("key_dir", self.key_dir),
                ("db_name", self.db_name), ("db_host", self.db_host)]
        return "\n".join("%15s = %s" % (k.upper(), v) for k, v in rows)


# ------------------------------------------------------------------ checks

def _ask(question, default):
    hint = "[Y/n]" if default else "[y/N]"
    try:
        answer = input("%s %s " % (question, hint)).strip().lower()
    except EOFError:
        return False
    return default if not answer else answer.startswith("y")


class _Server(dbmod.Database):
    """A connection to the DB server itself (no database selected)."""

    def describe(self):
        where = self.unix_socket or "%s:%s" % (self.host, self.port or 3306)
        return "the database server on %s as user '%s'" % (where, self.user)


def _server(s):
    """The DB server, with the project's account (BOINC creates the DB with it)."""
    return _Server("", s.db_user, s.db_passwd, s.db_host,
                   setting="--db_host, --db_user, --db_passwd")


def _db_exists(server, name):
    return bool(server.scalar("SELECT COUNT(*) FROM information_schema.schemata "
                              "WHERE schema_name = %s", (name,)))


def preflight(s):
    """Everything that can be refused before anything is created."""
    template = os.path.join(s.srcdir, TEMPLATE_DIR)
    if not os.path.isdir(os.path.join(s.srcdir, "sched")) or not os.path.isdir(template):
        raise BoincError("--srcdir %s: not a checkout of this server (no sched/ and %s/)"
                         % (s.srcdir, TEMPLATE_DIR))
    if os.path.lexists(s.root) and not s.opts.delete_prev_inst:
        raise BoincError("project root %s already exists; use --delete_prev_inst "
                         "--drop_db_first to replace it" % s.root)
    if s.opts.no_db:
        return
    schema._check_name(s.db_name)
    server = _server(s).connect()
    try:
        if _db_exists(server, s.db_name) and not s.opts.drop_db_first:
            raise BoincError("database '%s' already exists on %s; use --drop_db_first to "
                             "replace it, or --db_name" % (s.db_name, s.db_host or "localhost"))
    finally:
        server.close()


# ------------------------------------------------------------------ building

class Builder:
    """Makes the project; remembers what it made so a failure can undo it."""

    def __init__(self, s):
        self.s = s
        self.verbose = s.opts.verbose
        self.made_root = False
        self.made_db = False
        self.made_keys = []

    def say(self, text, level=1):
        if self.verbose >= level:
            print(text)
            sys.stdout.flush()

    # -- directories, keys, files

    def make_dirs(self):
        s = self.s
        self.say("Creating directories")
        parent = os.path.dirname(s.root)
        os.makedirs(parent, exist_ok=True)
        os.mkdir(s.root)
        self.made_root = True
        for d in DIRS:
            os.makedirs(s.path(d), exist_ok=True)
        for kind in ("log", "pid", "tmp"):
            os.makedirs(paths.host_dir(s.root, kind, s.host), exist_ok=True)
        # Apache (in our group) writes uploads and the CGI programs' logs.
        for d in GROUP_WRITABLE + (os.path.basename(paths.host_dir(s.root, "log", s.host)),):
            os.chmod(s.path(d), 0o2770)
        # The ops pages create reread_db here; sticky: Apache can't remove our files.
        os.chmod(s.root, apache.PROJECT_DIR_MODE)

    def make_keys(self):
        s = self.s
        if s.opts.web_only:
            return
        os.makedirs(s.key_dir, exist_ok=True)
        for pair in KEY_PAIRS:
            priv = os.path.join(s.key_dir, pair + "_private")
            pub = os.path.join(s.key_dir, pair + "_public")
            present = [p for p in (priv, pub) if os.path.exists(p)]
            if present:
                # Reuse: a project may keep code_sign_private offline.
                self.say("Using existing %s keys in %s%s" % (
                    pair, s.key_dir, "" if len(present) == 2 else
                    " (only %s)" % os.path.basename(present[0])))
                continue
            self.say("Generating %s keys" % pair)
            private, public = crypt.generate_key_pair(1024)
            # The private key is born unreadable by others.
            os.close(os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self.made_keys.append(priv)
            crypt.write_private_key(priv, private)
            self.made_keys.append(pub)
            crypt.write_public_key(pub, public)

    def copy_template(self):
        s = self.s
        self.say("Copying files")
        sources = [os.path.join(s.srcdir, TEMPLATE_DIR, "base")]
        if s.opts.test_app:
            sources.append(os.path.join(s.srcdir, TEMPLATE_DIR, "test_app"))
        words = {"@NAME@": s.name, "@LONG_NAME@": html.escape(s.long_name),
                 "@MASTER_URL@": s.master_url, "@SCHEDULERS@": self.scheduler_lines().strip()}
        for source in sources:
            for dirpath, dirnames, filenames in os.walk(source):
                rel = os.path.relpath(dirpath, source)
                os.makedirs(s.path(rel), exist_ok=True)
                for fname in filenames:
                    src = os.path.join(dirpath, fname)
                    render = fname.endswith(".in")
                    dest = s.path(rel, fname[:-3] if render else fname)
                    if os.path.exists(dest):
                        continue
                    if render:
                        with open(src, encoding="utf-8") as f:
                            text = f.read()
                        for word, value in words.items():
                            text = text.replace(word, value)
                        with open(dest, "w", encoding="utf-8") as f:
                            f.write(text)
                    else:
                        shutil.copyfile(src, dest)
                    self.say("   %s" % os.path.relpath(dest, s.root), 2)
        # Operators are added with htpasswd; until then nobody gets in (401).
        open(s.path("html", "ops", ".htpasswd"), "a").close()
        # The ops pages' CSRF secret (random, this project's own).
        csrf.ensure_secret(s.root, apache.httpd_user())
        with open(s.path("html", "user", "schedulers.txt"), "w") as f:
            f.write(self.scheduler_lines())
        if s.opts.test_app:
            os.makedirs(s.path("apps", TEST_APP), exist_ok=True)

    def scheduler_lines(self):
        """The two forms a client finds a scheduler URL in (short lines)."""
        url = self.s.scheduler_url
        return ('<!-- <scheduler>%s</scheduler> -->\n'
                '<link rel="boinc_scheduler" href="%s">\n' % (url, url))

    def install_programs(self):
        self.say("Installing programs")
        install.install_programs(self.s.root, self.s.srcdir,
                                 log=(lambda t: self.say(t, 2)), web_rpcs=True)

    # -- config.xml, project.xml

    def config_xml(self):
        s = self.s
        yes_no = {True: "1", False: "0"}
        items = [
            ("long_name", s.long_name), ("db_user", s.db_user), ("db_name", s.db_name),
            ("db_passwd", s.db_passwd), ("db_host", s.db_host),
            ("shmem_key", "0x1111%x" % random.randrange(0, 1 << 16)),
            ("uldl_dir_fanout", "1024"), ("host", s.host),
        ]
        httpd_user = apache.httpd_user()
        if httpd_user:
            items.append(("httpd_user", httpd_user))
        items += [
            ("min_sendwork_interval", "6"), ("max_wus_to_send", "50"),
            ("daily_result_quota", "500"),
            ("disable_account_creation", "0"), ("disable_account_creation_rpc", "0"),
            ("account_creation_rpc_require_consent", "0"),
            ("disable_web_account_creation", "0"),
            ("enable_login_mustagree_termsofuse", "0"), ("enable_privacy_by_default", "0"),
            ("show_results", "1"), ("cache_md5_info", "1"), ("sched_debug_level", "3"),
            ("fuh_debug_level", "3"), ("one_result_per_user_per_wu", "0"),
            ("send_result_abort", "1"), ("dont_generate_upload_certificates", "1"),
            ("ignore_upload_certificates", "1"), ("enable_delete_account", "0"),
        ]
        if s.opts.web_only:
            items.append(("no_computing", yes_no[True]))
        items += [
            ("master_url", s.master_url), ("download_url", s.master_url + "download"),
            ("upload_url", s.upload_url), ("download_dir", s.path("download")),
            ("upload_dir", s.path("upload")), ("key_dir", _slash(s.key_dir)),
            ("app_dir", s.path("apps")),
            ("log_dir", paths.host_dir(s.root, "log", s.host)),
        ]
        root = etree.Element("boinc")
        config = etree.SubElement(root, "config")
        for tag, value in items:
            etree.SubElement(config, tag).text = value
        tasks = etree.SubElement(root, "tasks")
        for period, output, cmd, disabled in DEFAULT_TASKS:
            task = etree.SubElement(tasks, "task")
            for tag, value in (("period", period), ("output", output), ("cmd", cmd),
                               ("disabled", str(disabled))):
                etree.SubElement(task, tag).text = value
        daemons = etree.SubElement(root, "daemons")
        cmds = ["%s -d 3" % d for d in DEFAULT_DAEMONS]
        if s.opts.test_app:
            cmds += ["%s -d 3 --app %s" % (d, TEST_APP) for d in TEST_APP_DAEMONS]
        for cmd in cmds:
            etree.SubElement(etree.SubElement(daemons, "daemon"), "cmd").text = cmd
        return root

    def project_xml(self):
        root = etree.Element("boinc")
        for name, friendly in PLATFORMS:
            p = etree.SubElement(root, "platform")
            etree.SubElement(p, "name").text = name
            etree.SubElement(p, "user_friendly_name").text = friendly
        if self.s.opts.test_app:
            a = etree.SubElement(root, "app")
            etree.SubElement(a, "name").text = TEST_APP
            etree.SubElement(a, "user_friendly_name").text = "Example Application"
        return root

    def write_xml(self, root, name):
        etree.indent(root, space="    ")
        text = '<?xml version="1.0" ?>\n' + etree.tostring(root, encoding="unicode") + "\n"
        with open(self.s.path(name), "w", encoding="utf-8") as f:
            f.write(text)

    def write_config(self):
        self.say("Writing config files")
        self.write_xml(self.config_xml(), "config.xml")
        self.write_xml(self.project_xml(), "project.xml")
        s = self.s
        with open(s.path("%s.httpd.conf" % s.name), "w") as f:
            f.write(apache.project_conf(s.root, s.name, s.url_base, s.mode, s.long_name))
        with open(s.path("%s.cronjob" % s.name), "w") as f:
            f.write(self.cron_line() + "\n")

    def cron_line(self):
        r = self.s.root
        return "%s * * * * cd %s ; %s/bin/start --cron" % (CRON_MINUTES, r, r)

    # -- database

    def make_database(self):
        s = self.s
        if s.opts.no_db:
            self.say("Not setting up database (--no_db)")
            return
        self.say("Setting up database")
        server = _server(s).connect()
        try:
            schema.create_database(server, s.db_name, drop_first=s.opts.drop_db_first)
            self.made_db = True
        finally:
            server.close()
        db = dbmod.Database(s.db_name, s.db_user, s.db_passwd, s.db_host,
                            setting="--db_host/--db_user/--db_passwd").connect()
        try:
            schema.load_schema(db)
        finally:
            db.close()
        with open(s.path("db_revision"), "w") as f:
            f.write("%d\n" % DB_REVISION)

    def undo(self):
        """Remove what this run made (after a failure)."""
        s = self.s
        if self.made_db:
            try:
                server = _server(s).connect()
                server.execute("DROP DATABASE IF EXISTS `%s`" % s.db_name)
                server.close()
            except BoincError:
                pass
        for key in self.made_keys:
            if not key.startswith(s.root + os.sep) and os.path.exists(key):
                os.unlink(key)
        if self.made_root:
            shutil.rmtree(s.root, ignore_errors=True)

    def build(self):
        try:
            self.make_dirs()
            self.make_keys()
            self.copy_template()
            self.install_programs()
            self.write_config()
            self.make_database()
            self.write_readme()
        except OSError as exc:
            self.undo()
            where = exc.filename or self.s.root
            raise BoincError("%s: %s" % (where, exc.strerror or exc)) from None
        except BaseException:
            self.undo()
            raise

    # -- the operator's instructions

    def readme(self):
        s = self.s
        r = s.root
        try:
            import grp
            group = grp.getgrgid(os.getgid()).gr_name
        except (ImportError, KeyError):
            group = str(os.getgid())
        httpd_user = apache.httpd_user() or "www-data"
        modules = "cgid" + (" fcgid" if s.mode == "fcgi" else "")
        steps = [
            "Steps to complete the installation of %s (%s):" % (s.long_name, s.name),
            "",
            "- Apache (as root): enable the modules, include the project's",
            "  configuration, and restart Apache:",
            "      a2enmod %s auth_basic authn_file" % modules,
            "      ln -s %s/%s.httpd.conf /etc/apache2/sites-enabled/%s.conf" % (r, s.name, s.name),
            "      apache2ctl -k graceful",
            "  Apache's user must be in group %s to write uploads and logs:" % group,
            "      usermod -a -G %s %s" % (group, httpd_user),
            "",
            "- Periodic tasks: as %s, run 'crontab -e' and add the line" % s.user_name,
            "      " + self.cron_line(),
            "  (it is also in %s/%s.cronjob)" % (r, s.name),
        ]
        if not s.opts.web_only:
            steps += ["", "- Put project.xml's platforms and apps into the database:",
                      "      cd %s ; bin/xadd" % r]
        if s.opts.test_app:
            steps += ["", "- The example application: put its versions in",
                      "  %s/apps/%s/VERSION/PLATFORM/ and run" % (r, TEST_APP),
                      "      cd %s ; bin/update_versions" % r]
        steps += [
            "",
            "- The operators' pages need a password:",
            "      htpasswd %s/html/ops/.htpasswd USERNAME" % r,
            "",
            "- Check the installation (permissions, keys, URLs, daemons, DB):",
            "      cd %s ; bin/check_project" % r,
            "",
            "To start, stop and check the project:",
            "    bin/start",
            "    bin/stop",
            "    bin/status",
            "",
            "The project's URLs:",
            "    Home page (master URL): %s" % s.master_url,
            "    Operators' pages:       %s" % s.ops_url,
            "    Scheduler:              %s" % s.scheduler_url,
        ]
        return "\n".join(steps) + "\n"

    def write_readme(self):
        with open(self.s.path("%s.readme" % self.s.name), "w") as f:
            f.write(self.readme())


def main(argv):
    opts = _parser().parse_args(argv)
    s = Settings(opts)
    if opts.verbose >= 1:
        print("Creating project '%s' (short name '%s'):" % (s.long_name, s.name))
        print(s.summary())
    preflight(s)
    if os.path.lexists(s.root):      # --delete_prev_inst
        if not opts.no_query and not _ask("Delete %s?" % s.root, False):
            raise BoincError("aborted")
        if opts.verbose >= 1:
            print("Deleting", s.root)
        if os.path.isdir(s.root) and not os.path.islink(s.root):
            shutil.rmtree(s.root)
        else:
            os.unlink(s.root)
    if not opts.no_query and not _ask("Continue?", True):
        raise BoincError("aborted")
    builder = Builder(s)
    builder.build()
    print()
    print("Done creating project %s in %s." % (s.name, s.root))
    print("These steps are also in %s:" % s.path("%s.readme" % s.name))
    print()
    sys.stdout.write(builder.readme())
    return 0


def run():
    cli.run(main)
