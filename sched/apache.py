"""Apache configuration for a project, and a private Apache instance.

* :func:`project_conf` is the include file make_project writes as
  ``PROJECT/NAME.httpd.conf``: the project's URL space (``/NAME``,
  ``/NAME/download``, ``/NAME_cgi``, ``/NAME_ops``) mapped onto its
  directories, the scheduler and upload handler run as CGI programs or, in
  ``fcgi`` mode, ``fcgi`` and ``fcgi_file_upload_handler`` under mod_fcgid;
  the ops pages (one program) behind HTTP authentication.
* :func:`standalone_conf` is a complete httpd.conf for an Apache of our own
  (Debian's ``/usr/sbin/apache2`` and its modules) listening on one port of
  127.0.0.1, with every runtime file under one directory.  Tests and demos
  start it with :func:`start` / :func:`stop` (or :class:`PrivateApache`).
"""

import errno
import grp
import os
import re
import shutil
import socket
import subprocess
import time
from urllib.parse import urlparse

from .errors import BoincError

APACHE_BIN = "/usr/sbin/apache2"
MODULE_DIR = "/usr/lib/apache2/modules"
MODES = ("cgi", "fcgi")

# The ops pages' one program (html/ops), run for every /NAME_ops/PAGE URL.
OPS_PROGRAM = "index.py"

# The programs mod_fcgid runs in fcgi mode; everything else in cgi-bin stays CGI.
FCGI_PROGRAMS = ("fcgi", "fcgi_file_upload_handler")

# mod_fcgid refuses request bodies above 128 kB by default: far too small
# for output-file uploads.
FCGI_MAX_REQUEST_LEN = 1 << 30


def url_prefix(url_base):
    """The path part of ``url_base`` without its trailing slash ('' for '/')."""
    return urlparse(url_base).path.rstrip("/")


def project_conf(project_dir, name, url_base, mode="cgi", long_name=None, web_rpcs=True,
                 ops_pages=True):
    """The Apache include file of a project, as text.

    ``mode`` is ``cgi`` (mod_cgid/mod_cgi run everything in cgi-bin) or
    ``fcgi`` (additionally, mod_fcgid runs :data:`FCGI_PROGRAMS`).
    With ``web_rpcs`` the web RPC names in html/user (``get_project_config.php``
    ...) run as our programs, CGI or (fcgi mode) FastCGI; without, a
    project's own PHP files keep those names.  With ``ops_pages`` every
    ``/NAME_ops/PAGE`` (PAGE in lowercase letters, digits and _) runs our ops program
    ``html/ops/index.py`` (see sched.ops.pages); other files of html/ops
    are served as they are.  Both sit behind the HTTP authentication.
    """
    if mode not in MODES:
        raise BoincError("unknown Apache mode %r (use cgi or fcgi)" % mode)
    p = os.path.abspath(project_dir).rstrip("/")
    u = url_prefix(url_base) + "/" + name
    lines = [
        "# Apache configuration of BOINC project %s (%s), written by make_project." % (
            long_name or name, name),
        "# Include it from the server configuration, e.g. on Debian:",
        "#   ln -s %s/%s.httpd.conf /etc/apache2/sites-enabled/%s.conf" % (p, name, name),
        "# Modules: alias, mime, dir, authz_core, authn_core, auth_basic, authn_file,",
        "# authz_user, cgid (or cgi)%s." % (", fcgid" if mode == "fcgi" else ""),
        "",
        # mod_alias: first match wins, so the longer URLs come first.
        'Alias %s/download "%s/download"' % (u, p),
        'Alias %s/stats "%s/html/stats"' % (u, p),
        'Alias %s/user_profile "%s/html/user_profile"' % (u, p),
        'Alias %s "%s/html/user"' % (u, p),
    ]
    if ops_pages:
        # No PATH_INFO (Apache would log a denied lookup of it on every
        # request): the program reads the page from SCRIPT_NAME.
        lines.append('AliasMatch "^%s_ops(/[a-z0-9_]*)?$" "%s/html/ops/%s"' % (
            re.escape(u), p, OPS_PROGRAM))
    lines += [
        'Alias %s_ops "%s/html/ops"' % (u, p),
        'ScriptAlias %s_cgi "%s/cgi-bin"' % (u, p),
        "",
        '<Directory "%s">' % p,
        "    AllowOverride None",
        "    Require all denied",
        '    <FilesMatch "^\\.ht">',
        "        Require all denied",
        "    </FilesMatch>",
        "</Directory>",
        "",
        "# Files clients download: served as they are, never executed.",
        '<Directory "%s/download">' % p,
        "    Options FollowSymLinks",
        "    RemoveHandler .php .phtml .cgi .pl .py",
        "    RemoveType .php .phtml",
        "    Require all granted",
        "</Directory>",
        "",
        '<Directory "%s/html">' % p,
        "    Options FollowSymLinks",
        "    AllowOverride AuthConfig",
        "    DirectoryIndex index.html index.php",
        "    Require all granted",
        "</Directory>",
        "",
    ]
    if web_rpcs:
        lines += _web_rpc_lines(p, mode)
    lines += [
        "# The operators' pages: HTTP basic authentication.  Add users with",
        "#   htpasswd %s/html/ops/.htpasswd USERNAME" % p,
        '<Directory "%s/html/ops">' % p,
        "    AuthType Basic",
        '    AuthName "%s operations"' % name,
        '    AuthUserFile "%s/html/ops/.htpasswd"' % p,
        "    Require valid-user",
    ]
    if ops_pages:
        lines += ['    <Files "%s">' % OPS_PROGRAM,
                  "        Options +ExecCGI",
                  "        SetHandler %s" % ("fcgid-script" if mode == "fcgi" else "cgi-script"),
                  "    </Files>"]
    lines += [
        "</Directory>",
        "",
        '<Directory "%s/cgi-bin">' % p,
        "    Options ExecCGI",
        "    AllowOverride None",
        "    Require all granted",
    ]
    if mode == "fcgi":
        for prog in FCGI_PROGRAMS:
            lines += ['    <Files "%s">' % prog,
                      "        SetHandler fcgid-script",
                      "    </Files>"]
    lines.append("</Directory>")
    if mode == "fcgi":
        lines += [
            "",
            "# Without mod_fcgid the FastCGI programs would not run: refuse to start.",
            "<IfModule !fcgid_module>",
            '    Error "%s.httpd.conf: fcgi mode needs mod_fcgid (a2enmod fcgid)"' % name,
            "</IfModule>",
            "<IfModule fcgid_module>",
            "    FcgidMaxRequestLen %d" % FCGI_MAX_REQUEST_LEN,
            "</IfModule>",
        ]
    return "\n".join(lines) + "\n"


def _web_rpc_lines(p, mode):
    from .submit import PROGRAMS
    from .web import RPCS
    handler = "fcgid-script" if mode == "fcgi" else "cgi-script"

    def files(names):
        return ['    <FilesMatch "^(%s)\\.php$">' % "|".join(sorted(
                    n[:-len(".php")] for n in names)),
                "        Options +ExecCGI",
                "        SetHandler %s" % handler,
                "    </FilesMatch>"]
    return [
        "# BOINC's web RPCs at the master URL (get_project_config.php, ...) and",
        "# remote job submission (submit_rpc_handler.php, ...): our Python",
        "# programs in html/user, run as %s." % (
            "FastCGI (mod_fcgid)" if mode == "fcgi" else "CGI"),
        '<Directory "%s/html/user">' % p,
    ] + files(RPCS) + files(PROGRAMS) + [
        "</Directory>",
        "",
    ]


# LoadModule names -> file names, in load order.  The MPM is chosen apart.
_MODULES = ["unixd", "authz_core", "authn_core", "auth_basic", "authn_file",
            "authz_user", "alias", "mime", "dir", "env", "setenvif",
            "log_config", "headers"]


def _load(mod):
    # Debian builds some modules (unixd, log_config) into the binary.
    return "<IfModule !%s_module>\n    LoadModule %s_module %s/mod_%s.so\n</IfModule>" % (
        mod, mod, MODULE_DIR, mod)


def standalone_conf(run_dir, port, includes, user=None, group=None, mpm="event",
                    host="127.0.0.1"):
    """A complete httpd.conf for a private Apache on ``host:port``.

    Its pid file, logs, sockets and locks live in ``run_dir``; ``includes``
    are the configuration files (project includes) it reads.  When started
    as root, Apache's children run as ``user``/``group`` (default www-data);
    otherwise they keep the caller's identity and these are not written.
    """
    if mpm not in ("event", "prefork"):
        raise BoincError("unknown MPM %r (use event or prefork)" % mpm)
    r = os.path.abspath(run_dir).rstrip("/")
    lines = [
        "# A private Apache instance; start it with",
        "#   %s -f %s/httpd.conf -k start" % (APACHE_BIN, r),
        'ServerRoot "%s"' % r,
        "ServerName %s" % host,
        "Listen %s:%d" % (host, port),
        'PidFile "%s/httpd.pid"' % r,
        'DefaultRuntimeDir "%s"' % r,
        "Mutex file:%s default" % r,
        'ErrorLog "%s/error.log"' % r,
        "LogLevel warn",
        "",
        _load("mpm_%s" % mpm),
    ]
    lines += [_load(m) for m in _MODULES]
    # mod_cgid suits threaded MPMs, mod_cgi the prefork one.
    lines.append(_load("cgid") if mpm == "event" else _load("cgi"))
    lines.append(_load("fcgid"))
    if os.geteuid() == 0:
        lines += ["", "User %s" % (user or "www-data"), "Group %s" % (group or "www-data")]
    lines += [
        "",
        "StartServers 1",
        "MaxRequestWorkers 64",
    ]
    if mpm == "event":
        lines += ["ThreadsPerChild 32", "ServerLimit 4"]
    lines += [
        "Timeout 300",
        "KeepAlive On",
        "TypesConfig /etc/mime.types",
        'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
        'CustomLog "%s/access.log" common' % r,
        '<IfModule cgid_module>',
        '    ScriptSock "%s/cgid.sock"' % r,
        '</IfModule>',
        '<IfModule fcgid_module>',
        '    FcgidIPCDir "%s/fcgid"' % r,
        '    FcgidProcessTableFile "%s/fcgid_shm"' % r,
        '</IfModule>',
        "",
        "<Directory />",
        "    Options None",
        "    AllowOverride None",
        "    Require all denied",
        "</Directory>",
        '<Files ".ht*">',
        "    Require all denied",
        "</Files>",
        "",
    ]
    lines += ['Include "%s"' % os.path.abspath(inc) for inc in includes]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ private instance

def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _read_pid(pid_file):
    try:
        with open(pid_file) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def _alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    # A zombie (our own child not yet reaped) counts as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-n:])
    except OSError:
        return ""


def _apache(conf_path, *args):
    if not os.path.exists(APACHE_BIN):
        raise BoincError("%s not found: install Debian's apache2 package" % APACHE_BIN)
    return subprocess.run([APACHE_BIN, "-f", os.path.abspath(conf_path)] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=dict(os.environ, LANG="C"))


def check_conf(conf_path):
    """``apache2 -t``: raise BoincError naming the problem if the config is bad."""
    res = _apache(conf_path, "-t")
    if res.returncode != 0:
        raise BoincError("Apache rejects %s: %s" % (conf_path, " | ".join(
            res.stdout.strip().splitlines()[-3:])))


def start(conf_path, port, run_dir=None, host="127.0.0.1", timeout=60):
    """Start the Apache of ``conf_path`` and wait until it answers on ``port``.

    Returns the main process's pid.  Apache detaches before it binds its
    port, so success is judged by its pid file and the port, not its exit
    status alone.
    """
    run_dir = run_dir or os.path.dirname(os.path.abspath(conf_path))
    pid_file = os.path.join(run_dir, "httpd.pid")
    error_log = os.path.join(run_dir, "error.log")
    res = _apache(conf_path, "-k", "start")
    if res.returncode != 0:
        raise BoincError("Apache did not start (%s): %s" % (conf_path, " | ".join(
            res.stdout.strip().splitlines()[-3:])))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _read_pid(pid_file)
        if pid and not _alive(pid):
            break
        if pid and _port_open(host, port):
            return pid
        time.sleep(0.1)
    stop(conf_path, run_dir)
    raise BoincError("Apache (%s) is not serving %s:%d: %s" % (
        conf_path, host, port, _tail(error_log) or "see " + error_log))


def stop(conf_path, run_dir=None, timeout=60):
    """Stop the Apache of ``conf_path`` (if running) and wait until it is gone."""
    run_dir = run_dir or os.path.dirname(os.path.abspath(conf_path))
    pid = _read_pid(os.path.join(run_dir, "httpd.pid"))
    if not _alive(pid):
        return
    _apache(conf_path, "-k", "stop")
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, 9)


class PrivateApache:
    """An Apache of our own serving ``includes`` on 127.0.0.1:``port``.

    ``with PrivateApache(run_dir, port, [conf]) as web: urlopen(web.url + ...)``
    """

    def __init__(self, run_dir, port, includes, user=None, group=None, mpm="event"):
        self.run_dir = os.path.abspath(run_dir)
        self.port = port
        self.conf_path = os.path.join(self.run_dir, "httpd.conf")
        self.url = "http://127.0.0.1:%d/" % port
        os.makedirs(self.run_dir, exist_ok=True)
        # Apache's children (www-data when we are root) reach the cgid socket here.
        os.chmod(self.run_dir, 0o755)
        with open(self.conf_path, "w") as f:
            f.write(standalone_conf(self.run_dir, port, includes, user, group, mpm))
        self.pid = 0

    @property
    def error_log(self):
        return os.path.join(self.run_dir, "error.log")

    def start(self):
        self.pid = start(self.conf_path, self.port, self.run_dir)
        return self

    def stop(self):
        stop(self.conf_path, self.run_dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ----------------------------------------------------- Apache's write access

# Directories Apache's programs write into: BOINC makes them group-writable
# and setgid, assuming Apache's user is in the project owner's group.
# Ours also: download, where remote job submission (job_file.php,
# submit_rpc_handler.php) stages input files.
HTTPD_WRITABLE = ("upload", "html/cache", "html/inc", "html/languages",
                  "html/languages/compiled", "html/user_profile/images", "download")


# The project directory: Apache's group may create files (the ops pages'
# reread_db) but, sticky, never remove or rename the project's own.
PROJECT_DIR_MODE = 0o1775


def httpd_user():
    """The account Debian's (www-data) or Red Hat's (apache) Apache runs as."""
    for name in ("www-data", "apache"):
        try:
            grp.getgrnam(name)
            return name
        except KeyError:
            continue
    return None


def share_with_httpd(project_dir, group=None, host_dirs=("log",)):
    """Give Apache's group the directories its programs write into.

    For a project owned by root (tests, containers), where BOINC's "Apache's
    user is in our group" cannot hold: the group-writable directories,
    ``log_HOST`` (the CGI programs' logs), and the project directory itself
    (:data:`PROJECT_DIR_MODE`: the ops pages create ``reread_db``) change
    group to ``group``.
    """
    from . import paths
    group = group or httpd_user()
    if group is None:
        raise BoincError("no www-data or apache group on this machine")
    dirs = [os.path.join(project_dir, d) for d in HTTPD_WRITABLE]
    dirs += [paths.host_dir(project_dir, kind) for kind in host_dirs]
    for d in dirs:
        if os.path.isdir(d):
            shutil.chown(d, group=group)
            os.chmod(d, 0o2770)
    shutil.chown(project_dir, group=group)
    os.chmod(project_dir, PROJECT_DIR_MODE)


def set_htpasswd(path, user, password):
    """Add or change ``user`` in the htpasswd file ``path`` (bcrypt, via htpasswd).

    The password goes through a pipe, never the command line.
    """
    prog = shutil.which("htpasswd") or "/usr/bin/htpasswd"
    if not os.path.exists(prog):
        raise BoincError("htpasswd not found: install Debian's apache2-utils package")
    args = [prog, "-i", "-B"] + ([] if os.path.exists(path) else ["-c"]) + [path, user]
    res = subprocess.run(args, input=password + "\n", stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    if res.returncode != 0:
        raise BoincError("htpasswd %s %s failed: %s" % (path, user, res.stdout.strip()))
