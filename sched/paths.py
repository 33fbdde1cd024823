"""Where things live: the project directory, per-host dirs, the file hierarchy."""

import os

from .errors import ProjectDirError
from .md5 import md5_hex

CONFIG_FILE = "config.xml"


def short_hostname():
    """This host's name as BOINC uses it in log_HOST, pid_HOST, <host>."""
    return os.uname().nodename.split(".")[0]      # gethostname(), without importing socket


def is_source_tree(path):
    """Our own checkout: laid out like a project (config.xml, cgi-bin/ ...) but
    holding the reference config.xml, not a project's.  Tools never run on it."""
    return os.path.isdir(os.path.join(path, "project_template"))


def is_project_dir(path):
    """A project dir holds config.xml and a cgi-bin directory (as BOINC checks)."""
    return (os.path.isfile(os.path.join(path, CONFIG_FILE))
            and os.path.isdir(os.path.join(path, "cgi-bin"))
            and not is_source_tree(path))


def find_project_dir(start=None):
    """Locate the project directory the way BOINC's programs do.

    ``$BOINC_PROJECT_DIR`` if set (and then it must be a project dir), else
    the current directory, else its parent.  ``start`` replaces the current
    directory (tests, tools given an explicit directory).
    """
    env = os.environ.get("BOINC_PROJECT_DIR")
    if env and start is None:
        if not is_project_dir(env):
            raise ProjectDirError(
                "BOINC_PROJECT_DIR=%s is not a project directory "
                "(needs config.xml and cgi-bin/)" % env)
        return os.path.abspath(env)
    here = os.path.abspath(start or os.getcwd())
    for candidate in (here, os.path.dirname(here)):
        if is_project_dir(candidate):
            return candidate
    raise ProjectDirError(
        "Not in a project directory or subdirectory: %s "
        "(set BOINC_PROJECT_DIR or cd into the project)" % here)


def host_dir(project_dir, kind, host=None):
    """``log_HOST``, ``pid_HOST`` or ``tmp_HOST`` under the project dir."""
    return os.path.join(project_dir, "%s_%s" % (kind, host or short_hostname()))


def filename_hash(filename, fanout):
    """The fan-out subdirectory name of ``filename``: BOINC's exact rule.

    md5 of the name as hex; 7 hex digits from index 1 as an integer; modulo
    the fanout; printed in lowercase hex without padding.
    """
    digest = md5_hex(filename)
    return "%x" % (int(digest[1:8], 16) % fanout)


def dir_hier_path(filename, root, fanout, create=False):
    """Path of ``filename`` in the download/upload hierarchy under ``root``."""
    if not fanout:
        return os.path.join(root, filename)
    subdir = os.path.join(root, filename_hash(filename, fanout))
    if create and not os.path.isdir(subdir):
        # 0771 as BOINC's mkdir, minus the umask; another process may race us.
        os.makedirs(subdir, mode=0o771, exist_ok=True)
    return os.path.join(subdir, filename)


def dir_hier_url(filename, base_url, fanout):
    """URL of ``filename`` in the hierarchy served at ``base_url``."""
    base = base_url.rstrip("/")
    if not fanout:
        return "%s/%s" % (base, filename)
    return "%s/%s/%s" % (base, filename_hash(filename, fanout), filename)
