"""Input files in the download hierarchy: staging and md5 cache files.

A staged file lives at ``dir_hier_path(name, download_dir, fanout)``; next to
it ``NAME.md5`` caches ``"<md5> <size>\\n"`` so that create_work need not
read the file again.  The rules are BOINC's:

* a cache file counts only if it parses (a token, a number, one newline,
  nothing more) and is not older, in whole seconds, than the file; an older
  one is deleted (``got_md5_info``);
* create_work with ``<cache_md5_info/>`` writes one when there is none;
* ``stage_file`` writes one for every file it stages and refuses a file
  whose name is already taken by different contents (files are immutable:
  same name, same bytes).

We write the size as an integer, as stage_file does (BOINC's C++ writes
``%.15e``; both forms read the same everywhere).
"""

import errno
import gzip
import hashlib
import os
import re
import shutil
import stat
import sys
from dataclasses import dataclass

from . import paths
from .errors import BoincError

MD5_SUFFIX = ".md5"
GZ_SUFFIX = ".gz"
_HEX = set("0123456789abcdefABCDEF")


class StageError(BoincError):
    """An input file can't be staged or found."""


def md5_file(path):
    """(md5 hex, size) of the file at ``path``."""
    h = hashlib.md5()
    n = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def _warn_stderr(message):
    sys.stderr.write(message + "\n")


def parse_md5_info(text):
    """(md5, nbytes) from a cache file's text, or None if it is not one.

    BOINC reads ``"%s %lf%c"`` and wants that char to be the newline and the
    file to end there.  We also insist on 32 hex digits: a garbled md5 would
    otherwise be sent to every client, whose downloads would all fail.
    """
    if not text.endswith("\n") or text.count("\n") != 1:
        return None
    body = text[:-1]
    if body != body.rstrip():
        return None
    fields = body.split()
    if len(fields) != 2 or len(fields[0]) != 32 or not set(fields[0]) <= _HEX:
        return None
    try:
        nbytes = float(fields[1])
    except ValueError:
        return None
    if not nbytes >= 0:
        return None
    return fields[0].lower(), nbytes


def read_md5_info(path, file_stat=None, warn=_warn_stderr):
    """The cached (md5, nbytes) of ``path`` from ``path.md5``, or None.

    A stale cache file (older than the data file) is deleted; a malformed one
    is reported through ``warn`` and ignored.
    """
    md5_path = path + MD5_SUFFIX
    try:
        st = file_stat or os.stat(path)
        fd = os.open(md5_path, os.O_RDONLY)
    except OSError:
        return None
    try:
        md5_st = os.fstat(fd)
        text = os.read(fd, 200).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)
    info = parse_md5_info(text)
    if info is None:
        warn("bad MD5 cache file %s; remove it and stage file again" % md5_path)
        return None
    if int(md5_st.st_mtime) < int(st.st_mtime):
        try:
            os.unlink(md5_path)
        except OSError:
            pass
        return None
    return info


def format_md5_info(md5, nbytes):
    return "%s %d\n" % (md5, nbytes)


def write_md5_info(path, md5, nbytes, replace=True):
    """Write ``path.md5``; with ``replace=False`` leave an existing one alone."""
    md5_path = path + MD5_SUFFIX
    if not replace and os.path.lexists(md5_path):
        return
    _write_atomic(md5_path, format_md5_info(md5, nbytes).encode("ascii"))


def _write_atomic(path, data):
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def copy_atomic(src, dst):
    """Copy ``src`` to ``dst`` so that ``dst`` never exists half-written."""
    tmp = "%s.tmp%d" % (dst, os.getpid())
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def move_file(src, dst):
    """Rename ``src`` to ``dst``; across file systems, copy then delete."""
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_atomic(src, dst)
        os.unlink(src)


def gzip_file(path):
    """Make ``path.gz`` unless it exists (stage_file --gzip)."""
    gz_path = path + GZ_SUFFIX
    if os.path.exists(gz_path):
        return False
    tmp = "%s.tmp%d" % (gz_path, os.getpid())
    try:
        with open(path, "rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(filename=os.path.basename(path), mode="wb", fileobj=raw,
                               mtime=int(os.stat(path).st_mtime)) as out:
                shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, gz_path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return True


_BAD_NAME = re.compile(r"[/\\<>&\x00-\x1f\x7f]|^\.\.?$|^$")


def check_name(name):
    """Refuse names that can't be a file in the hierarchy or a client's file."""
    if _BAD_NAME.search(name):
        raise StageError("bad input file name %r: a plain file name without '/', '\\', "
                         "control characters or any of <>& is needed" % name)


# ---------------------------------------------------------------- stage_file

SAME, NEW = "same", "new"


@dataclass
class StagePlan:
    """What stage_file will do with one file."""
    src: str
    name: str
    dl_path: str
    md5: str
    nbytes: int
    action: str             # SAME (already there) or NEW (move/copy it there)
    write_md5: bool = True  # the .md5 cache is missing (or it's a new file)


def _conflict(src, dl_path):
    return StageError(
        "can't stage input file %s: there is a file in your project's download "
        "hierarchy, %s, with the same name but different contents. "
        "This is not allowed by BOINC." % (src, dl_path))


def plan_staging(sources, download_dir, fanout, progress=None):
    """Check every source against the hierarchy before anything is moved.

    Raises StageError for a missing source or a name already taken by other
    contents (in the hierarchy, or by another source of the same run).
    """
    plans, planned = [], {}
    for src in sources:
        if not os.path.isfile(src):
            raise StageError("no such file: %s" % src)
        name = os.path.basename(src)
        check_name(name)
        md5, nbytes = md5_file(src)
        dl_path = paths.dir_hier_path(name, download_dir, fanout)
        earlier = planned.get(name)
        if earlier is not None:
            if (earlier.md5, earlier.nbytes) != (md5, nbytes):
                raise _conflict(src, earlier.src)
            plans.append(StagePlan(src, name, dl_path, md5, nbytes, SAME, False))
        else:
            plan = _plan_one(src, name, dl_path, md5, nbytes)
            planned[name] = plan
            plans.append(plan)
        if progress is not None:
            progress.advance()
    return plans


def _plan_one(src, name, dl_path, md5, nbytes):
    if not os.path.exists(dl_path):
        return StagePlan(src, name, dl_path, md5, nbytes, NEW)
    cached = None
    try:
        with open(dl_path + MD5_SUFFIX, encoding="ascii", errors="replace") as f:
            cached = parse_md5_info(f.read(200))
    except OSError:
        pass
    if cached is not None:
        # As BOINC: a cache file is trusted; the size is checked on the file.
        same = cached[0] == md5 and int(cached[1]) == nbytes == os.path.getsize(dl_path)
        if not same:
            raise _conflict(src, dl_path)
        return StagePlan(src, name, dl_path, md5, nbytes, SAME, False)
    if md5_file(dl_path) != (md5, nbytes):
        raise _conflict(src, dl_path)
    return StagePlan(src, name, dl_path, md5, nbytes, SAME, True)


def stage(plan, copy=False, make_gzip=False, say=None):
    """Carry out one StagePlan: place the file, write its .md5, maybe gzip it.

    ``say`` receives stage_file's --verbose lines.
    """
    say = say or (lambda line: None)
    say("staging %s to %s" % (plan.name, plan.dl_path))
    if plan.action == SAME:
        say("    file already exists as %s" % plan.dl_path)
    else:
        os.makedirs(os.path.dirname(plan.dl_path), mode=0o771, exist_ok=True)
        if copy:
            copy_atomic(plan.src, plan.dl_path)
            say("    copied file")
        else:
            move_file(plan.src, plan.dl_path)
            say("    moved file")
    if plan.write_md5:
        write_md5_info(plan.dl_path, plan.md5, plan.nbytes)
    if make_gzip and gzip_file(plan.dl_path):
        say("    created .gzip file %s%s" % (plan.dl_path, GZ_SUFFIX))


# ---------------------------------------------------------------- create_work


class InputFiles:
    """create_work's view of the download hierarchy: where, how big, which md5.

    Answers are remembered for the run (staged files never change).  A file
    found only at the top of ``download_dir`` is copied into the hierarchy,
    as BOINC does; such copies are listed in ``copied`` so that a job that
    fails afterwards can take them back (:meth:`discard`).
    """

    def __init__(self, cfg, warn=_warn_stderr, notify=None):
        if not cfg.download_dir:
            raise StageError("%s: no <download_dir>; create_work needs it to find "
                             "input files" % cfg.path)
        if not cfg.download_url:
            raise StageError("%s: no <download_url>; create_work needs it for the "
                             "input files' URLs" % cfg.path)
        self.download_dir = cfg.download_dir
        self.download_url = cfg.download_url
        self.fanout = cfg.uldl_dir_fanout
        self.use_cache = cfg.cache_md5_info
        self.warn = warn
        self.notify = notify or (lambda line: None)
        self.copied = []
        self._info = {}
        self._dirs = set()
        self._last_hash = (None, None)
        # as sched.paths.dir_hier_url writes it
        self._url_base = self.download_url.rstrip("/")

    def _hash(self, name):
        # path() and url() of one name come in pairs: hash it once
        if self._last_hash[0] != name:
            self._last_hash = (name, paths.filename_hash(name, self.fanout))
        return self._last_hash[1]

    def path(self, name):
        if not self.fanout:
            return os.path.join(self.download_dir, name)
        sub = os.path.join(self.download_dir, self._hash(name))
        if sub not in self._dirs:
            os.makedirs(sub, mode=0o771, exist_ok=True)
            self._dirs.add(sub)
        return sub + os.sep + name

    def url(self, name):
        if not self.fanout:
            return paths.dir_hier_url(name, self.download_url, 0)
        return "%s/%s/%s" % (self._url_base, self._hash(name), name)

    def info(self, name):
        """(md5, nbytes) of a job's input file, staging it from the top if needed."""
        known = self._info.get(name)
        if known is not None:
            return known
        check_name(name)
        path = self.path(name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = self._copy_from_top(name, path)
        if not _is_regular(st):
            raise StageError("input file %s is not a regular file" % path)
        info = read_md5_info(path, st, self.warn) if self.use_cache else None
        if info is None:
            try:
                info = md5_file(path)
            except OSError as exc:
                raise StageError("can't read input file %s: %s" % (path, exc.strerror)) from None
            if self.use_cache:
                try:
                    write_md5_info(path, info[0], info[1], replace=False)
                except OSError:
                    pass    # the cache is an optimisation; BOINC ignores this too
        self._info[name] = info
        return info

    def constant_info(self, name):
        """(md5, nbytes) of a template's ``<physical_name>`` file: needs its .md5."""
        key = ("const", name)
        known = self._info.get(key)
        if known is not None:
            return known
        check_name(name)
        info = read_md5_info(self.path(name), warn=self.warn)
        if info is None:
            raise StageError("missing MD5 info file for %s (stage it with bin/stage_file, "
                             "which writes %s%s)" % (name, self.path(name), MD5_SUFFIX))
        self._info[key] = info
        return info

    def gzipped_nbytes(self, name):
        gz = self.path(name) + GZ_SUFFIX
        try:
            return os.stat(gz).st_size
        except OSError:
            raise StageError("missing gzip file %s (stage the input with "
                             "bin/stage_file --gzip)" % gz) from None

    def _copy_from_top(self, name, path):
        top = os.path.join(self.download_dir, name)
        if not os.path.isfile(top) or os.path.abspath(top) == os.path.abspath(path):
            raise StageError("input file %s is not staged: %s doesn't exist "
                             "(stage it with bin/stage_file)" % (name, path))
        try:
            copy_atomic(top, path)
        except OSError as exc:
            raise StageError("can't copy %s to %s: %s" % (top, path, exc.strerror)) from None
        self.copied.append(path)
        self.notify("copy %s to %s" % (top, path))
        return os.stat(path)

    def mark(self):
        return len(self.copied)

    def discard(self, since=0):
        """Delete the files this run copied into the hierarchy after ``since``."""
        for path in self.copied[since:]:
            _unlink_quietly(path)
            _unlink_quietly(path + MD5_SUFFIX)
            self._info.pop(os.path.basename(path), None)
        del self.copied[since:]


def _is_regular(st):
    return stat.S_ISREG(st.st_mode)
