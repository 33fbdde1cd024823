"""Install our programs into a project directory, as BOINC copies its binaries.

A project runs the code in its own directory, not the checkout it was made
from: ``PROJECT/sched`` (the library), ``PROJECT/db`` (the schema files the
library reads), and every entry script of the checkout's ``bin/`` and
``cgi-bin/`` with its ``#!`` line naming the interpreter that installs them
(the virtualenv's python, which also Apache's user can run).  make_project
and bin/upgrade both call :func:`install_programs`.

The web RPC programs of ``html/user`` (``get_project_config.php`` ...) go
into a project only when asked (make_project, for a new project); after that
an upgrade replaces a file there only if it is one of ours, so a project
keeping BOINC's PHP web site never loses its own files.

The periodic tasks of ``html/ops`` (``delete_expired_tokens.php`` ..., see
sched.ops) go into a project that has no PHP web site of its own (no
BOINC ``.inc``/``.php`` file in ``html/``); an existing file that is not
ours is never replaced.
"""

import os
import shutil
import sys

from .errors import BoincError

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_DIRS = ("sched", "db", "pyboinc_submit")
PROGRAM_DIRS = ("bin", "cgi-bin")
WEB_DIR = os.path.join("html", "user")
# What our html/user programs run: the web RPCs and remote job submission.
_WEB_MARKS = (b'sched.entry("sched.web.', b'sched.entry("sched.submit.')
OPS_DIR = os.path.join("html", "ops")
_OPS_MARK = b'sched.entry("sched.ops.'
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*", "*~", "*.tmp[0-9]*")


def _skip(name):
    return name.startswith(".") or name.endswith("~") or name == "__pycache__"


def _replace_tree(src, dest, python=None):
    """Copy ``src`` over ``dest`` so that ``dest`` is never half-written,
    byte-compiled for ``python`` when given."""
    tmp, old = dest + ".new.%d" % os.getpid(), dest + ".old.%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=_IGNORE)
    if python:
        _compile(tmp, dest, python)
    if os.path.lexists(dest):
        os.rename(dest, old)
    os.rename(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def _compile(tree, final, python):
    """Write the .pyc files of ``tree`` (to be renamed ``final``) now, as the
    project's owner: Apache's user can't write them, and a CGI program that
    finds none compiles every module it imports on every request."""
    import subprocess
    proc = subprocess.run([python, "-m", "compileall", "-q", "-d", final, tree],
                          capture_output=True, text=True)
    if proc.returncode:
        raise BoincError("can't byte-compile %s with %s: %s"
                         % (final, python, (proc.stdout + proc.stderr).strip()[-500:]))


# What the programs run once per web request (CGI) start their interpreter
# with: no ``site`` module (sched.entry adds the virtualenv's site-packages
# itself), a tenth of a CGI scheduler request.
PER_REQUEST_FLAGS = " -S"


def _install_script(src, dest, python, flags=""):
    """Copy one program, its ``#!`` line rewritten to ``python`` + ``flags``; atomic."""
    with open(src, "rb") as f:
        data = f.read()
    if data.startswith(b"#!"):
        newline = data.find(b"\n")
        rest = data[newline + 1:] if newline >= 0 else b""
        data = b"#!" + (python + flags).encode() + b"\n" + rest
    tmp = dest + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755 if data.startswith(b"#!") or os.access(src, os.X_OK) else 0o644)
    os.replace(tmp, dest)


def _install_link(src, dest):
    """Recreate a symlink (bin/stop -> start); absolute targets become local names."""
    target = os.readlink(src)
    if os.path.isabs(target):
        target = os.path.basename(target)
    if os.path.lexists(dest):
        if os.path.islink(dest) and os.readlink(dest) == target:
            return
        os.unlink(dest)
    os.symlink(target, dest)


def _is_ours(path, mark):
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"#!") and mark in head


def is_our_web_program(path):
    """Is ``path`` one of our html/user programs (not a PHP file of BOINC's)?"""
    return any(_is_ours(path, mark) for mark in _WEB_MARKS)


def is_our_ops_program(path):
    """Is ``path`` one of our html/ops task programs (not a PHP file of BOINC's)?"""
    return _is_ours(path, _OPS_MARK)


def has_php_site(project_dir):
    """Does the project run BOINC's PHP web site (any .inc or .php of its own in html/)?"""
    for sub, ours in (("inc", None), ("project", None), ("user", is_our_web_program),
                      ("ops", is_our_ops_program)):
        d = os.path.join(project_dir, "html", sub)
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            if name.endswith((".inc", ".php")) and not (ours and ours(os.path.join(d, name))):
                return True
    return False


def _install_page_programs(source_root, project_dir, python, subdir, ours, add_missing):
    """Our programs of ``subdir`` (html/user, html/ops): replace earlier copies
    of themselves, never a file of the project's; add missing ones if asked."""
    src_dir = os.path.join(source_root, subdir)
    if not os.path.isdir(src_dir):
        return []
    dest_dir = os.path.join(project_dir, subdir)
    installed = []
    for name in sorted(os.listdir(src_dir)):
        src, dest = os.path.join(src_dir, name), os.path.join(dest_dir, name)
        if _skip(name) or not os.path.isfile(src) or not ours(src):
            continue
        if os.path.lexists(dest) and not ours(dest):
            continue                       # the project's own (PHP) file
        if not os.path.lexists(dest) and not add_missing:
            continue
        os.makedirs(dest_dir, exist_ok=True)
        _install_script(src, dest, python, PER_REQUEST_FLAGS)
        installed.append("%s/%s" % (subdir, name))
    return installed


def _ensure_ops_secret(project_dir):
    """The ops pages (html/ops/index.py) need their CSRF secret: made once
    per project (sched.ops.csrf), never replaced."""
    from . import apache
    from .ops import csrf
    if not os.path.isfile(os.path.join(project_dir, OPS_DIR, apache.OPS_PROGRAM)) or \
            os.path.exists(csrf.secret_path(project_dir)):
        return []
    csrf.ensure_secret(project_dir, apache.httpd_user())
    return [csrf.SECRET_FILE]


def install_programs(project_dir, source_root=None, python=None, log=None, web_rpcs=False):
    """Install the library and the programs of ``source_root`` into ``project_dir``.

    Returns the names installed (``sched/``, ``bin/start``, ...).  Files of
    the project that the checkout does not have (a project's own scripts,
    BOINC's C++ programs in a taken-over project) are left alone.  The web
    RPC programs are added to ``html/user`` with ``web_rpcs`` and otherwise
    only replace earlier copies of themselves; the task programs of
    ``html/ops`` are added unless the project has a PHP web site.
    """
    source_root = os.path.abspath(source_root or SOURCE_ROOT)
    python = python or sys.executable
    if not os.path.isfile(os.path.join(source_root, "sched", "__init__.py")):
        raise BoincError("%s has no sched/ package to install (use --srcdir)" % source_root)
    if os.path.abspath(project_dir) == source_root:
        raise BoincError("can't install %s into itself" % source_root)
    installed = []
    for name in LIBRARY_DIRS:
        src = os.path.join(source_root, name)
        if os.path.isdir(src):
            _replace_tree(src, os.path.join(project_dir, name), python)
            installed.append(name + "/")
    for dirname in PROGRAM_DIRS:
        src_dir = os.path.join(source_root, dirname)
        dest_dir = os.path.join(project_dir, dirname)
        if not os.path.isdir(src_dir):
            continue
        os.makedirs(dest_dir, exist_ok=True)
        for name in sorted(os.listdir(src_dir)):
            src = os.path.join(src_dir, name)
            if _skip(name) or (os.path.isdir(src) and not os.path.islink(src)):
                continue
            dest = os.path.join(dest_dir, name)
            if os.path.islink(src):
                _install_link(src, dest)
            else:
                _install_script(src, dest, python,
                                PER_REQUEST_FLAGS if dirname == "cgi-bin" else "")
            installed.append("%s/%s" % (dirname, name))
    php_site = has_php_site(project_dir)      # before we add anything
    installed += _install_page_programs(source_root, project_dir, python, WEB_DIR,
                                        is_our_web_program, web_rpcs)
    installed += _install_page_programs(source_root, project_dir, python, OPS_DIR,
                                        is_our_ops_program, not php_site)
    installed += _ensure_ops_secret(project_dir)
    if log:
        for name in installed:
            log("   installed %s" % name)
    return installed
