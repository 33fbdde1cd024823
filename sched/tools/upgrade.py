"""``upgrade [options] PROJECT_DIR``: run a project made by BOINC on our programs.

Everything that could make the take-over fail is checked before anything
changes, and each problem found is one line of the refusal:

* PROJECT_DIR is a project (config.xml and cgi-bin/) and config.xml parses;
* the directories config.xml names exist (``--relocate`` points the ones
  that don't at the project's own download/, upload/, keys/ ...);
* the keys are there and readable;
* the database answers to config.xml's account and its schema is one our
  programs run on (:func:`sched.schema.compatibility_problems`);
* none of the project's daemons or tasks runs and the project is DISABLED
  (``bin/stop`` does both);
* the Apache include maps the scheduler and upload URLs onto cgi-bin/
  programs we have (ours keep BOINC's names, so usually nothing changes).

Then bin/ and cgi-bin/ are saved whole in ``PROJECT/.boinc_cpp_backup/STAMP/``
(with ``manifest.json``: what was saved, what is installed, what was
written), ours are installed (:func:`sched.install.install_programs`), and
the next steps are printed.  config.xml, the keys, the database, download/,
upload/, templates/, apps/ and html/ (BOINC's PHP web site) are kept;
config.xml and html/user/schedulers.txt change only with ``--relocate`` or
``--fcgi``, saved first.  ``--revert`` puts back what a backup saved.
docs/migration.md is the operator's guide.
"""

import getpass
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from .. import apache, cli, config, crypt, install, paths, schema
from .. import db as dbmod
from ..errors import BoincError
from ..start import launch
from ..start.runstate import RunState
from ..xmlutil import escape

BACKUP_DIR = ".boinc_cpp_backup"
MANIFEST = "manifest.json"
SCHEDULERS_TXT = os.path.join("html", "user", "schedulers.txt")
# The static master page our make_project writes carries the links itself.
MASTER_HTML = os.path.join("html", "user", "index.html")
FCGI_INCLUDE = "%s.fcgi.httpd.conf"

# config.xml paths: (tag, the project's own directory for it, needed to run).
# log_dir is only informative (BOINC's programs log to PROJECT/log_HOST).
RELOCATABLE = (("download_dir", "download", True), ("upload_dir", "upload", True),
               ("key_dir", "keys", True), ("app_dir", "apps", False),
               ("log_dir", "log", False))
KEYS = (("upload_private", "the transitioner signs upload permissions with it"),
        ("upload_public", "the upload handler checks them with it"),
        ("code_sign_public", "the scheduler sends it to clients"))
# The upload handler of each scheduler program and back (--fcgi).
FCGI_NAMES = {"cgi": "fcgi", "file_upload_handler": "fcgi_file_upload_handler"}


def _parser():
    p = cli.ArgumentParser(
        prog="upgrade", usage="upgrade [options] PROJECT_DIR\n"
        "       upgrade --revert [--backup NAME] [options] PROJECT_DIR",
        description="Install this server's programs into a project made by BOINC's "
        "make_project, keeping its configuration, keys, database, files and web site; "
        "BOINC's programs are saved for --revert.  See docs/migration.md.")
    p.add_argument("project_dir", metavar="PROJECT_DIR")
    p.add("dry_run", action="store_true", help="check and say what would be done; change nothing")
    p.add("yes", action="store_true", help="don't ask for confirmation")
    p.add("relocate", action="store_true",
          help="point config.xml's download_dir, upload_dir, key_dir, app_dir and log_dir "
          "at the project's own directories where they name missing ones")
    p.add("fcgi", action="store_true",
          help="serve the scheduler and upload handler as FastCGI: switch the scheduler "
          "URL (html/user/schedulers.txt) and <upload_url> to fcgi and "
          "fcgi_file_upload_handler, and write NAME.fcgi.httpd.conf if needed")
    p.add("no_apache", action="store_true", help="don't look at the Apache include file")
    p.add("srcdir", help="the checkout to install from (default: this one)")
    p.add("revert", action="store_true", help="put back the programs a backup saved")
    p.add("backup", metavar="NAME",
          help="with --revert: the backup (a directory in PROJECT/%s; default: the "
          "newest not yet reverted)" % BACKUP_DIR)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also list schema differences that don't matter, every file installed")
    return p


# ------------------------------------------------------------------ helpers

@dataclass
class Findings:
    ok: list = field(default_factory=list)          # checked and fine
    notes: list = field(default_factory=list)       # worth knowing, no reason to refuse
    problems: list = field(default_factory=list)    # reasons to refuse


def _sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def _write_atomic(path, text):
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    if os.path.exists(path):
        shutil.copymode(path, tmp)
    os.replace(tmp, path)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _skip(name):
    return name.startswith(".") or name.endswith("~") or name == "__pycache__"


def _confirm(question, opts):
    if opts.yes:
        return
    if not sys.stdin.isatty():
        raise BoincError("not asking without a terminal: run with --yes to go ahead "
                         "(or --dry_run to only check)")
    answer = input("%s [y/N] " % question).strip().lower()
    if not answer.startswith("y"):
        raise BoincError("nothing changed (not confirmed)")


def _replace_tag(text, tag, old, new):
    """config.xml's text with ``<tag>old</tag>`` made ``<tag>new</tag>``;
    None unless it occurs exactly once.  The rest of the file stays as it was."""
    pattern = re.compile(r"(<%s>)\s*%s\s*(</%s>)" % (tag, re.escape(escape(old)), tag))
    if len(pattern.findall(text)) != 1:
        return None
    return pattern.sub(lambda m: m.group(1) + escape(new) + m.group(2), text)


# ------------------------------------------------------------------ checks

def load_project(project_dir):
    """The project's parsed config.xml; raises BoincError if it is no project."""
    if not os.path.isdir(project_dir):
        raise BoincError("%s: no such directory" % project_dir)
    if not paths.is_project_dir(project_dir):
        raise BoincError("%s is not a BOINC project directory (it needs config.xml and "
                         "cgi-bin/)" % project_dir)
    return config.parse_config(os.path.join(project_dir, paths.CONFIG_FILE), project_dir)


def check_paths(cfg, project_dir, relocate, f):
    """Directories config.xml names; returns {tag: (old, new)} for --relocate."""
    edits = {}
    pinned = cfg.get("project_dir")
    if pinned and not _same_path(pinned, project_dir):
        f.problems.append("config.xml <project_dir> is %s, not %s: correct it first"
                          % (pinned, project_dir))
    for tag, own_name, needed in RELOCATABLE:
        value = cfg.get(tag)
        if not value:
            if needed and tag != "key_dir":         # key_dir defaults to PROJECT/keys
                f.problems.append("config.xml has no <%s>" % tag)
            continue
        here = value if os.path.isabs(value) else os.path.join(project_dir, value)
        if os.path.isdir(here):
            continue
        own = (paths.host_dir(project_dir, "log") if own_name == "log"
               else os.path.join(project_dir, own_name))
        if relocate and os.path.isdir(own):
            edits[tag] = (value, own + ("/" if value.endswith("/") else ""))
            continue
        text = "config.xml <%s> %s does not exist" % (tag, value)
        text += (" (%s does: --relocate points config.xml at it)" % own if os.path.isdir(own)
                 else " (nor does %s)" % own)
        (f.problems if needed else f.notes).append(text)
    for tag, (old, new) in edits.items():
        f.ok.append("config.xml <%s> %s does not exist: will be %s (--relocate)"
                    % (tag, old, new))
    return edits


def check_keys(key_dir, f):
    before = len(f.problems)
    missing_private = False
    for name, why in KEYS + (("code_sign_private", ""),):
        path = os.path.join(key_dir, name)
        if not os.path.exists(path):
            if name == "code_sign_private":
                missing_private = True
            else:
                f.problems.append("key %s is missing (%s)" % (path, why))
            continue
        try:
            (crypt.read_private_key if name.endswith("_private")
             else crypt.read_public_key)(path)
        except (crypt.CryptError, ValueError) as exc:
            f.problems.append(str(exc))
    if missing_private:
        f.notes.append("no %s: update_versions and sign_executable need it (fine if you "
                       "keep it offline)" % os.path.join(key_dir, "code_sign_private"))
    if len(f.problems) == before:
        f.ok.append("keys in %s: present and readable" % key_dir)


def check_database(cfg, f, verbose):
    try:
        db = dbmod.connect(cfg)
    except BoincError as exc:
        f.problems.append("database: %s" % exc)
        return
    try:
        problems = schema.compatibility_problems(db)
        f.problems += ["database '%s': %s" % (cfg.db_name, p) for p in problems]
        if not problems:
            tolerated = schema.compare(schema.describe(db), schema.expected_description())
            f.ok.append("database '%s' (%s): its schema is one our programs run on%s"
                        % (cfg.db_name, db.describe().split(" on ", 1)[-1],
                           "; %d differences from ours that don't matter%s" % (
                               len(tolerated), "" if verbose else " (-v lists them)")
                           if tolerated else ""))
            if verbose:
                f.ok += ["    " + d for d in tolerated]
            for table, name in sorted(schema.ADDED_INDEXES):
                if not schema.index_like(db, table, name):
                    f.ok.append("database '%s': no index %s.%s, with which the feeder reads "
                                "unsent results without sorting them all; it can be added "
                                "while the project runs: %s"
                                % (cfg.db_name, table, name, schema.add_index_sql(table, name)))
    except BoincError as exc:
        f.problems.append("database: %s" % exc)
    finally:
        db.close()


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [w.decode("utf-8", "replace") for w in f.read().split(b"\0") if w]
    except OSError:
        return []


def _exe(pid):
    try:
        return os.path.realpath(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return ""


def _ancestors():
    pids, pid = {os.getpid()}, os.getpid()
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        pids.add(pid)
    return pids


def _program_of(pid, dirs):
    """The program of ours-or-BOINC's in ``dirs`` that process ``pid`` runs, or None."""
    candidates = [_exe(pid)] + [os.path.realpath(w) for w in _cmdline(pid)[:2]
                                if os.path.isabs(w)]
    for path in candidates:
        for d in dirs:
            if path.startswith(d + os.sep):
                return os.path.relpath(path, os.path.dirname(d))
    return None


def running_programs(cfg, project_dir):
    """The project's programs running now: {pid: description}."""
    dirs = [os.path.realpath(os.path.join(project_dir, d)) for d in ("bin", "cgi-bin")]
    pid_dir = cfg.dir("pid")
    skip = _ancestors()
    found = {}
    for path in sorted(glob.glob(os.path.join(pid_dir, "*"))):
        name = os.path.basename(path)
        rel = os.path.relpath(path, project_dir)
        if name.endswith(".lock") or name.startswith("start.lock"):
            holder = launch.lock_holder(path)
            if holder and holder not in skip:
                found.setdefault(holder, "%s (pid %d holds %s)" % (
                    name.rsplit(".lock", 1)[0] or name, holder, rel))
        elif name.endswith(".pid"):
            pid = launch.read_pid(path)
            if pid in found or pid in skip or not launch.is_running(pid):
                continue
            words = [os.path.basename(w) for w in _cmdline(pid)[:2]]
            if name[:-4] in words or _program_of(pid, dirs):
                found[pid] = "%s (pid %d of %s)" % (name[:-4], pid, rel)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in found or int(entry) in skip:
            continue
        program = _program_of(int(entry), dirs)
        if program:
            found[int(entry)] = "%s (pid %s)" % (program, entry)
    return found


def check_stopped(cfg, project_dir, f):
    running = running_programs(cfg, project_dir)
    for pid, what in sorted(running.items()):
        if what.startswith("cgi-bin" + os.sep):
            f.notes.append("%s runs under the web server: restart Apache afterwards "
                           "(apache2ctl -k graceful) so that it runs the new one" % what)
        else:
            f.problems.append("%s is running: run bin/stop first" % what)
    state_path = os.path.join(project_dir, "run_state_%s.xml" % paths.short_hostname())
    if RunState.read(state_path).enabled:
        f.problems.append("%s says ENABLED: bin/start --cron (cron) would start daemons "
                          "meanwhile; run bin/stop first" % os.path.basename(state_path))
    if not [p for p in f.problems if p.endswith("run bin/stop first")]:
        f.ok.append("daemons and tasks: none running, project DISABLED")


# ------------------------------------------------------------------ Apache

def _directives(text):
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            yield shlex.split(line)
        except ValueError:
            continue


def scheduler_urls(text):
    """The scheduler URLs of a master page or schedulers.txt, in order, once each."""
    urls = re.findall(r"<scheduler>\s*(\S+?)\s*</scheduler>", text)
    urls += re.findall(r"<link\s+rel=[\"']boinc_scheduler[\"']\s+href=[\"']([^\"']+)", text)
    return list(dict.fromkeys(urls))


def project_name(project_dir, cfg):
    """The short name BOINC gave the project (NAME.httpd.conf, URLs)."""
    confs = [p for p in glob.glob(os.path.join(project_dir, "*.httpd.conf"))
             if not p.endswith(".fcgi.httpd.conf")]
    if len(confs) == 1:
        return os.path.basename(confs[0])[:-len(".httpd.conf")]
    parts = [p for p in urlparse(cfg.master_url).path.split("/") if p]
    return parts[-1] if parts else os.path.basename(project_dir)


@dataclass
class ApachePlan:
    conf: str = ""                  # the project's include file, if any
    schedulers: tuple = None        # (old, new) text of html/user/schedulers.txt
    master: tuple = None            # (old, new) text of html/user/index.html
    upload_url: tuple = None        # (old, new) <upload_url>
    fcgi_conf: tuple = None         # (path, text) to write


def fcgi_include(project_dir, name):
    """An include that runs our FastCGI programs under mod_fcgid, beside BOINC's."""
    p = os.path.abspath(project_dir).rstrip("/")
    lines = ["# FastCGI for project %s's scheduler and upload handler (written by upgrade)." % name,
             "# Include it beside %s.httpd.conf, e.g. on Debian:" % name,
             "#   a2enmod fcgid",
             "#   ln -s %s/%s /etc/apache2/sites-enabled/%s.fcgi.conf"
             % (p, FCGI_INCLUDE % name, name),
             "<IfModule !fcgid_module>",
             '    Error "%s: needs mod_fcgid (a2enmod fcgid)"' % (FCGI_INCLUDE % name),
             "</IfModule>",
             "<IfModule fcgid_module>",
             "    FcgidMaxRequestLen %d" % apache.FCGI_MAX_REQUEST_LEN,
             "</IfModule>",
             '<Directory "%s/cgi-bin">' % p]
    for prog in apache.FCGI_PROGRAMS:
        lines += ['    <Files "%s">' % prog, "        SetHandler fcgid-script", "    </Files>"]
    lines.append("</Directory>")
    return "\n".join(lines) + "\n"


def check_apache(project_dir, cfg, ours, opts, f):
    """Does Apache reach our programs at the project's URLs?  Plan --fcgi changes."""
    plan = ApachePlan()
    name = project_name(project_dir, cfg)
    conf = os.path.join(project_dir, "%s.httpd.conf" % name)
    cgi_dir = os.path.join(project_dir, "cgi-bin")
    prefixes, has_fcgid = [], False
    if os.path.isfile(conf) and not opts.no_apache:
        plan.conf = conf
        for words in _directives(_read(conf)):
            if words[0].lower() == "scriptalias" and len(words) >= 3 and \
                    _same_path(words[2].rstrip("/") or "/", cgi_dir):
                prefixes.append(words[1].rstrip("/"))
            if "fcgid-script" in (w.lower() for w in words[1:]):
                has_fcgid = True
    elif not opts.no_apache:
        f.notes.append("no %s: make sure Apache runs the programs in %s as CGI, fcgi and "
                       "fcgi_file_upload_handler under mod_fcgid (ours keep BOINC's names)"
                       % (os.path.basename(conf), cgi_dir))

    sched_path = os.path.join(project_dir, SCHEDULERS_TXT)
    sched_text = _read(sched_path) if os.path.isfile(sched_path) else ""
    urls = [(u, "scheduler URL") for u in scheduler_urls(sched_text)]
    if not urls:
        f.notes.append("no scheduler URL in %s: check the one on your master page names "
                       "cgi-bin/cgi or cgi-bin/fcgi" % SCHEDULERS_TXT)
    if cfg.upload_url:
        urls.append((cfg.upload_url, "upload URL"))
    if opts.fcgi:
        new_text, new_urls = sched_text, []
        for url, what in urls:
            base = url.rstrip("/")
            prog = base.rsplit("/", 1)[-1]
            new = base[:-len(prog)] + FCGI_NAMES[prog] if prog in FCGI_NAMES else url
            if new != url and what == "upload URL":
                plan.upload_url = (url, new)
            elif new != url:
                new_text = re.sub(re.escape(url) + r"(?![\w/.-])", new, new_text)
            new_urls.append((new, what))
        if new_text != sched_text:
            plan.schedulers = (sched_text, new_text)
            master_path = os.path.join(project_dir, MASTER_HTML)
            if os.path.isfile(master_path):
                old_master = new_master = _read(master_path)
                for (url, what), (new, _) in zip(urls, new_urls):
                    if what != "upload URL" and new != url:
                        new_master = re.sub(re.escape(url) + r"(?![\w/.-])", new, new_master)
                if new_master != old_master:
                    plan.master = (old_master, new_master)
        urls = new_urls

    fine, fcgi_urls = [], []
    for url, what in urls:
        path = urlparse(url).path.rstrip("/")
        prog = path.rsplit("/", 1)[-1]
        if prog not in ours:
            f.problems.append("the %s %s names cgi-bin/%s, which this server doesn't have "
                              "(ours: %s)" % (what, url, prog, ", ".join(sorted(ours))))
            continue
        if prog in apache.FCGI_PROGRAMS:
            fcgi_urls.append(url)
        if opts.no_apache or not plan.conf:
            continue
        if any(path == p + "/" + prog for p in prefixes):
            fine.append("%s %s" % (what, url))
        else:
            f.notes.append("the %s %s is not under %s's ScriptAlias for %s: make sure "
                           "Apache runs cgi-bin/%s for it" % (
                               what, url, os.path.basename(conf), cgi_dir, prog))
    if fine:
        f.ok.append("Apache: %s maps %s onto %s; the %s name programs we install under "
                    "the same names: no change needed" % (
                        os.path.basename(conf), " and ".join(prefixes), cgi_dir,
                        " and ".join(fine)))
    if fcgi_urls and plan.conf and not has_fcgid:
        if opts.fcgi:
            path = os.path.join(project_dir, FCGI_INCLUDE % name)
            plan.fcgi_conf = (path, fcgi_include(project_dir, name))
        else:
            # BOINC's fcgi programs also work as plain CGI; ours need mod_fcgid.
            f.problems.append("%s names a FastCGI program that %s doesn't run under mod_fcgid, "
                              "and ours don't run as plain CGI: --fcgi writes %s (or use "
                              "--no_apache if your server's configuration runs them)" % (
                                  " and ".join(fcgi_urls), os.path.basename(conf),
                                  FCGI_INCLUDE % name))
    return plan


# ------------------------------------------------------------------ the plan

@dataclass
class Plan:
    project_dir: str
    srcdir: str
    cfg: object
    findings: Findings
    config_text: str = None         # new config.xml text, if it changes
    config_edits: list = field(default_factory=list)    # "tag: old -> new"
    apache: ApachePlan = field(default_factory=ApachePlan)
    name: str = ""

    def path(self, *parts):
        return os.path.join(self.project_dir, *parts)

    def edited(self):
        """{relative path: new text} of the files changed in place, and new ones."""
        out = {}
        if self.config_text is not None:
            out[paths.CONFIG_FILE] = self.config_text
        if self.apache.schedulers:
            out[SCHEDULERS_TXT] = self.apache.schedulers[1]
        if self.apache.master:
            out[MASTER_HTML] = self.apache.master[1]
        if self.apache.fcgi_conf:
            out[os.path.relpath(self.apache.fcgi_conf[0], self.project_dir)] = \
                self.apache.fcgi_conf[1]
        return out


def our_programs(srcdir):
    """{dir: [names]} of the programs install_programs puts in bin/ and cgi-bin/."""
    out = {}
    for d in install.PROGRAM_DIRS:
        src = os.path.join(srcdir, d)
        out[d] = sorted(n for n in (os.listdir(src) if os.path.isdir(src) else [])
                        if not _skip(n) and (os.path.islink(os.path.join(src, n))
                                             or not os.path.isdir(os.path.join(src, n))))
    return out


def planned_names(srcdir, project_dir):
    """What install_programs will (re)place, as it reports it (``sched/``, ``bin/feeder``)."""
    ours = our_programs(srcdir)
    names = [d + "/" for d in install.LIBRARY_DIRS if os.path.isdir(os.path.join(srcdir, d))]
    names += ["%s/%s" % (d, n) for d in install.PROGRAM_DIRS for n in ours[d]]
    return names + _web_names(srcdir, project_dir)


def _web_names(srcdir, project_dir):
    """html/user files of the project that carry the name of one of our web programs."""
    src = os.path.join(srcdir, "html", "user")
    names = sorted(os.listdir(src)) if os.path.isdir(src) else []
    return [os.path.join("html", "user", n) for n in names
            if not _skip(n) and os.path.isfile(os.path.join(project_dir, "html", "user", n))]


def inspect(project_dir, opts):
    """Every check; returns a Plan whose findings say whether to go on."""
    srcdir = os.path.abspath(opts.srcdir or install.SOURCE_ROOT)
    cfg = load_project(project_dir)
    f = Findings()
    plan = Plan(project_dir, srcdir, cfg, f)
    if not os.path.isfile(os.path.join(srcdir, "sched", "__init__.py")):
        f.problems.append("--srcdir %s: not a checkout of this server (no sched/)" % srcdir)
    elif _same_path(srcdir, project_dir):
        f.problems.append("this is %s's own copy of upgrade: run the one of the checkout "
                          "to install from (CHECKOUT/bin/upgrade %s)" % (project_dir, project_dir))
    user = cfg.get("project_user_name")
    if user and user != getpass.getuser():
        f.problems.append("config.xml <project_user_name> is %s: run me as that user" % user)
    for d in (project_dir, plan.path("bin"), plan.path("cgi-bin")):
        if os.path.isdir(d) and not os.access(d, os.W_OK):
            f.problems.append("can't write to %s: run me as the project's owner" % d)
    owner = os.stat(project_dir).st_uid
    if owner != os.geteuid():
        f.notes.append("%s belongs to uid %d, not to you (uid %d): what is installed will be "
                       "yours; run me as the project's owner" % (project_dir, owner, os.geteuid()))
    f.ok.append("config.xml: parses (project %s, master URL %s)"
                % (cfg.long_name or "?", cfg.master_url or "?"))

    edits = check_paths(cfg, project_dir, opts.relocate, f)
    key_dir = edits["key_dir"][1] if "key_dir" in edits else cfg.keys_dir
    if os.path.isdir(key_dir):          # else check_paths said so
        check_keys(key_dir.rstrip("/") or "/", f)
    check_database(cfg, f, opts.verbose)
    check_stopped(cfg, project_dir, f)
    ours = our_programs(srcdir)
    plan.name = project_name(project_dir, cfg)
    plan.apache = check_apache(project_dir, cfg, set(ours.get("cgi-bin", [])), opts, f)

    changes = dict(edits)
    if plan.apache.upload_url:
        changes["upload_url"] = plan.apache.upload_url
    if changes:
        text = _read(cfg.path)
        for tag, (old, new) in changes.items():
            new_text = _replace_tag(text, tag, old, new)
            if new_text is None:
                f.problems.append("can't rewrite <%s> in config.xml (not there exactly once "
                                  "as %s): edit it by hand" % (tag, old))
                continue
            text = new_text
            plan.config_edits.append("<%s> %s -> %s" % (tag, old, new))
        plan.config_text = text
    _note_boinc_programs(plan, ours)
    if _is_ours(plan.path("bin", "start")):
        f.notes.append("this project already runs our programs: they are replaced by "
                       "this checkout's (the current ones are saved as well)")
    return plan


def _is_ours(path):
    try:
        with open(path, "rb") as f:
            return b'sched.entry("sched.' in f.read(4096)
    except OSError:
        return False


def _note_boinc_programs(plan, ours):
    """Daemons and tasks of config.xml that will still run one of BOINC's programs."""
    installed = set(ours.get("bin", []))
    kept = []
    for entry in plan.cfg.daemons + plan.cfg.tasks:
        if entry.disabled:
            continue
        prog = launch.base_name(entry.cmd)
        if prog not in installed and os.path.isfile(plan.path("bin", prog)) and \
                not _is_ours(plan.path("bin", prog)) and prog not in kept:
            kept.append(prog)
    if kept:
        plan.findings.notes.append(
            "config.xml runs programs of BOINC's we have no replacement for; they stay "
            "in bin/ and work on the same database as before: %s" % ", ".join(kept))


# ------------------------------------------------------------------ upgrading

def _new_stamp(base):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name, n = stamp, 1
    while os.path.lexists(os.path.join(base, name)) or \
            os.path.lexists(os.path.join(base, name + ".partial")):
        n += 1
        name = "%s-%d" % (stamp, n)
    return os.path.join(base, name)


def _write_manifest(backup, manifest):
    _write_atomic(os.path.join(backup, MANIFEST), json.dumps(manifest, indent=1) + "\n")


def save(plan):
    """Copy what the upgrade replaces into a new backup dir; returns (dir, manifest)."""
    base = plan.path(BACKUP_DIR)
    os.makedirs(base, mode=0o700, exist_ok=True)
    backup = _new_stamp(base)
    partial = backup + ".partial"
    os.mkdir(partial, 0o700)
    saved = []
    for d in install.PROGRAM_DIRS + install.LIBRARY_DIRS:
        if os.path.isdir(plan.path(d)):
            shutil.copytree(plan.path(d), os.path.join(partial, d), symlinks=True)
            saved.append(d + "/")
    edited = plan.edited()
    for rel in _web_names(plan.srcdir, plan.project_dir) + sorted(edited):
        if os.path.lexists(plan.path(rel)) and rel not in saved:
            os.makedirs(os.path.dirname(os.path.join(partial, rel)), exist_ok=True)
            shutil.copy2(plan.path(rel), os.path.join(partial, rel), follow_symlinks=False)
            saved.append(rel)
    planned = planned_names(plan.srcdir, plan.project_dir)
    manifest = {
        "format": 1, "state": "saved", "created": time.time(),
        "created_text": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "project_dir": plan.project_dir, "source": plan.srcdir,
        "saved": saved, "planned": planned, "installed": None,
        "written": {rel: hashlib.sha256(text.encode("utf-8")).hexdigest()
                    for rel, text in edited.items()},
        "reverted": None,
    }
    _write_manifest(partial, manifest)
    os.rename(partial, backup)
    return backup, manifest


def apply(plan, verbose):
    backup, manifest = save(plan)
    for rel, text in plan.edited().items():
        _write_atomic(plan.path(rel), text)
    log = (lambda line: print(line)) if verbose else None
    installed = install.install_programs(plan.project_dir, plan.srcdir, log=log)
    manifest.update(state="done", installed=installed)
    _write_manifest(backup, manifest)
    return backup, installed


def _summary(plan, backup, installed, dry):
    would = "would " if dry else ""
    p = plan.project_dir
    lines = []
    if dry:
        lines.append("Would save bin/ and cgi-bin/ in %s/%s/STAMP/" % (p, BACKUP_DIR))
    else:
        lines.append("Saved bin/ and cgi-bin/ (BOINC's programs) in %s/" % backup)
    counts = {}
    for name in installed:
        if not name.endswith("/"):
            counts[name.split("/")[0]] = counts.get(name.split("/")[0], 0) + 1
    libs = [n for n in installed if n.endswith("/")]
    lines.append("%s %s and %d programs (%s)" % (
        "Would install" if dry else "Installed", ", ".join(libs),
        sum(counts.values()), ", ".join("%s: %d" % kv for kv in sorted(counts.items()))))
    for edit in plan.config_edits:
        lines.append("config.xml: %s%s" % (edit, "" if dry else " (the earlier file is saved)"))
    if plan.apache.schedulers:
        lines.append("%s: %sswitch the scheduler URL to fcgi" % (SCHEDULERS_TXT, would))
    if plan.apache.fcgi_conf:
        lines.append("%s %s" % ("Would write" if dry else "Wrote", plan.apache.fcgi_conf[0]))
    lines.append("Kept as they were: %s, keys, the database, download/, upload/, templates/, "
                 "apps/, html/ (the PHP web site)%s" % (
                     "config.xml" if not plan.config_edits else "the rest of config.xml",
                     ", the Apache include" if plan.apache.conf else ""))
    left = _boinc_left(plan, installed)
    if left:
        lines.append("Left in bin/ as they were (BOINC's programs we don't replace, your "
                     "own): %s" % ", ".join(left))
    return lines


def _boinc_left(plan, installed):
    done = set(n.split("/", 1)[1] for n in installed if n.startswith("bin/"))
    d = plan.path("bin")
    return sorted(n for n in os.listdir(d) if n not in done and not _skip(n)
                  and not n.endswith(".py") and os.path.isfile(os.path.join(d, n))
                  and not _is_ours(os.path.join(d, n)))


def _next_steps(plan):
    p = plan.project_dir
    steps = ["Next:",
             "  cd %s && bin/start          (then bin/status -v shows the daemons)" % p]
    if plan.apache.fcgi_conf:
        name = plan.name
        steps += ["  as root: a2enmod fcgid; ln -s %s /etc/apache2/sites-enabled/%s.fcgi.conf;"
                  % (plan.apache.fcgi_conf[0], name),
                  "           apache2ctl -k graceful"]
    steps += ["  crontab: the line 'bin/start --cron' stays as it is",
              "To go back to the saved programs: bin/upgrade --revert %s" % p,
              "(docs/migration.md explains what changed)"]
    return steps


def upgrade(project_dir, opts):
    plan = inspect(project_dir, opts)
    f = plan.findings
    print("Checking %s:" % project_dir)
    for line in f.ok:
        print("  ok: " + line)
    for line in f.notes:
        print("  note: " + line)
    sys.stdout.flush()
    if f.problems:
        sys.stderr.write("upgrade: can't take over %s:\n" % project_dir)
        for line in f.problems:
            sys.stderr.write("  %s\n" % line)
        return 1
    if opts.dry_run:
        planned = planned_names(plan.srcdir, plan.project_dir)
        print("\n".join(_summary(plan, None, planned, True)))
        print("Dry run: nothing changed.")
        return 0
    _confirm("Replace the programs of %s with this server's?" % project_dir, opts)
    backup, installed = apply(plan, opts.verbose)
    print("\n".join(_summary(plan, backup, installed, False)))
    print("\n".join(_next_steps(plan)))
    return 0


# ------------------------------------------------------------------ reverting

def _manifest(backup):
    try:
        with open(os.path.join(backup, MANIFEST), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == 1 else None


def find_backup(project_dir, name=None):
    """(dir, manifest) of the backup to revert to; raises BoincError if there is none."""
    base = os.path.join(project_dir, BACKUP_DIR)
    if name:
        path = os.path.join(base, os.path.basename(name.rstrip("/")))
        manifest = _manifest(path)
        if manifest is None:
            raise BoincError("%s: no such backup (no %s)" % (path, MANIFEST))
        return path, manifest
    found = []
    for path in glob.glob(os.path.join(base, "*")):
        manifest = _manifest(path) if not path.endswith(".partial") else None
        if manifest and not manifest.get("reverted"):
            found.append((manifest.get("created", 0), path, manifest))
    if not found:
        raise BoincError("%s: no backup to revert to (made by upgrade, not yet reverted)"
                         % base)
    _, path, manifest = max(found)
    return path, manifest


def _entries(root, d):
    """Relative paths of the files and links under ``root/d``."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
        for n in filenames + [x for x in dirnames if os.path.islink(os.path.join(dirpath, x))]:
            out.append(os.path.relpath(os.path.join(dirpath, n), root))
    return out


def _restore_file(backup, project_dir, rel):
    src, dest = os.path.join(backup, rel), os.path.join(project_dir, rel)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = dest + ".tmp%d" % os.getpid()
    if os.path.lexists(tmp):
        os.unlink(tmp)
    if os.path.islink(src):
        os.symlink(os.readlink(src), tmp)
    else:
        shutil.copy2(src, tmp)
    if os.path.isdir(dest) and not os.path.islink(dest):
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def revert_plan(project_dir, backup, manifest):
    """What reverting does: (restore, remove, keep) lists of relative paths / notes."""
    saved = set(manifest["saved"])
    saved_files = set()
    for rel in saved:
        if rel.endswith("/") and rel.rstrip("/") in install.PROGRAM_DIRS:
            saved_files.update(_entries(backup, rel.rstrip("/")))
        elif not rel.endswith("/"):
            saved_files.add(rel)
    installed = manifest.get("installed") or manifest.get("planned") or []
    restore, remove, keep = [], [], []
    for rel in installed:
        if rel.endswith("/"):
            continue
        (restore if rel in saved_files else remove).append(rel)
    for rel in sorted(saved_files - set(installed)):
        if rel in manifest.get("written", {}):
            continue
        if not os.path.lexists(os.path.join(project_dir, rel)):
            restore.append(rel)
    for rel, digest in sorted(manifest.get("written", {}).items()):
        current = _sha256(os.path.join(project_dir, rel))
        if current is None:
            if rel in saved_files:
                restore.append(rel)
        elif current != digest:
            keep.append("%s changed since the upgrade: left as it is%s" % (
                rel, "; the earlier one is %s" % os.path.join(backup, rel)
                if rel in saved_files else ""))
        else:
            (restore if rel in saved_files else remove).append(rel)
    libraries = []
    for d in install.LIBRARY_DIRS:
        if d + "/" in saved:
            libraries.append((d, "restore"))
        elif d + "/" in installed:
            libraries.append((d, "remove"))
    return restore, remove, keep, libraries


def revert(project_dir, opts):
    cfg = load_project(project_dir)
    backup, manifest = find_backup(project_dir, opts.backup)
    f = Findings()
    check_stopped(cfg, project_dir, f)
    restore, remove, keep, libraries = revert_plan(project_dir, backup, manifest)
    print("Reverting %s to the programs saved in %s/ (%s):"
          % (project_dir, backup, manifest.get("created_text", "?")))
    for line in f.notes:
        print("  note: " + line)
    if f.problems:
        sys.stderr.write("upgrade: can't revert %s:\n" % project_dir)
        for line in f.problems:
            sys.stderr.write("  %s\n" % line)
        return 1
    would = "would " if opts.dry_run else ""
    print("  %srestore %d files of bin/ and cgi-bin/%s" % (
        would, len(restore), (": " + ", ".join(sorted(restore))) if opts.verbose else ""))
    if remove:
        print("  %sremove what BOINC's project didn't have: %s" % (would, ", ".join(remove)))
    for d, action in libraries:
        print("  %s%s %s/" % (would, action, d))
    for line in keep:
        print("  note: " + line)
    if opts.dry_run:
        print("Dry run: nothing changed.")
        return 0
    _confirm("Put the saved programs back into %s?" % project_dir, opts)
    for rel in remove:
        _remove(os.path.join(project_dir, rel))
    for rel in restore:
        _restore_file(backup, project_dir, rel)
    manifest["reverted"] = time.time()
    _write_manifest(backup, manifest)
    # Last: this very program may run from PROJECT/bin with PROJECT/sched.
    for d, action in libraries:
        dest = os.path.join(project_dir, d)
        if action == "remove":
            _remove(dest)
        else:
            tmp = dest + ".revert%d" % os.getpid()
            shutil.copytree(os.path.join(backup, d), tmp, symlinks=True)
            _remove(dest)
            os.rename(tmp, dest)
    print("Done.  Start the project again with: cd %s && bin/start" % project_dir)
    return 0


def main(argv):
    opts = _parser().parse_args(argv)
    project_dir = os.path.abspath(opts.project_dir)
    if opts.backup and not opts.revert:
        raise BoincError("--backup goes with --revert")
    if opts.revert and (opts.relocate or opts.fcgi or opts.srcdir or opts.no_apache):
        raise BoincError("--revert takes only --backup, --dry_run, --yes and -v")
    try:
        return revert(project_dir, opts) if opts.revert else upgrade(project_dir, opts)
    except OSError as exc:
        where = "%s: " % exc.filename if exc.filename else ""
        raise BoincError("%s%s (the programs saved so far are in %s/%s)"
                         % (where, exc.strerror or exc, project_dir, BACKUP_DIR)) from None


def run():
    cli.run(main)
