"""antique_file_deleter: remove upload files older than every job in the DB.

Files a host uploads after its job was purged from the database belong to
nothing and would stay forever.  As BOINC's (a daily task), this deletes
each regular file in the upload hierarchy (each fan-out directory, or the
upload directory itself without a fan-out) that is

* last modified at or before the cut-off: 32 days ago, or one day before
  the oldest workunit still in the database (the lowest id whose name
  doesn't contain ``nodelete``) if that is earlier;
* owned by the web server's user (``<httpd_user>``), i.e. uploaded;
* not a dot file.

``--dry_run`` only logs what it would delete; ``--usleep N`` pauses N
microseconds after each deletion (default 50000) to spare the disk.  The
replica database is read when config.xml names one.
"""

import os
import pwd
import stat
import time

from . import db as dbmod
from .daemon import Daemon
from .errors import BoincError

ANTIQUE_USLEEP = 50000
MONTH = 32 * 86400
DAY = 86400


def cutoff_time(oldest_wu_create_time, now):
    """Files modified at or before this time are antiques."""
    limit = now - MONTH
    if limit > oldest_wu_create_time:
        limit = oldest_wu_create_time - DAY
    return limit


def actime(t):
    return time.ctime(t)


class AntiqueFileDeleter(Daemon):
    name = "antique_file_deleter"
    description = "Delete upload files older than any job in the database."
    needs_db = False

    def add_arguments(self, p):
        p.add("dry_run", action="store_true", help="only log what would be deleted")
        p.add("usleep", type=int, default=ANTIQUE_USLEEP, metavar="N",
              help="microseconds to pause after each deletion (default %d)" % ANTIQUE_USLEEP)

    def setup(self):
        self.args.one_pass = True       # a task: one scan per run
        self.db = dbmod.connect(self.config, replica=True)
        self.failed = False

    def do_pass(self):
        oldest = self.db.query_one(
            "SELECT id, create_time FROM workunit WHERE name NOT LIKE %s ORDER BY id LIMIT 1",
            ("%nodelete%",))
        if oldest is None:
            raise BoincError("No workunits")
        cutoff = cutoff_time(oldest["create_time"], int(time.time()))
        user = self.config.httpd_user
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            raise BoincError("Couldn't find http_user '%s' in passwd (config.xml <httpd_user>)"
                             % user) from None
        self.log.debug("delete_antiques(): Deleting files older than epoch %d (%s) with "
                       "userid %d", cutoff, actime(cutoff), uid)
        upload = self.config.upload_dir
        if not upload:
            raise BoincError("config.xml has no <upload_dir>")
        fanout = self.config.uldl_dir_fanout
        dirs = ["%s/%x" % (upload, d) for d in range(fanout)] if fanout else [upload]
        for d in dirs:
            self.log.debug("delete_antiques(): scanning upload directory '%s'", d)
            self.delete_from_dir(d, cutoff, uid)
        if self.failed:
            raise BoincError("some upload directories couldn't be scanned (see above)")
        self.log.normal("Done")
        return True

    def delete_from_dir(self, dirpath, cutoff, uid):
        try:
            names = os.listdir(dirpath)
        except FileNotFoundError:
            # A fan-out directory nothing was ever uploaded into.
            self.log.debug("no directory '%s'", dirpath)
            return
        except OSError as exc:
            self.log.critical("delete_antiques_from_dir(): Couldn't open dir '%s': %s (%d)",
                              dirpath, exc.strerror, exc.errno)
            self.failed = True
            return
        for name in sorted(names):
            self.check_stop()
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            self.log.debug("delete_antiques_from_dir(): examining file: '%s'", path)
            try:
                st = os.lstat(path)
            except OSError as exc:
                self.log.normal("couldn't stat '%s: %s (%d)'", path, exc.strerror, exc.errno)
                continue
            if not stat.S_ISREG(st.st_mode):
                self.log.debug("not a regular plain file")
                continue
            if st.st_mtime > cutoff:
                self.log.debug("too young: %s", actime(st.st_mtime))
                continue
            if st.st_uid != uid:
                self.log.debug("wrong owner: id %d", st.st_uid)
                continue
            if self.args.dry_run:
                self.log.normal("Would delete '%s' (%s)", path, actime(st.st_mtime))
                continue
            self.log.normal("Deleting file '%s' (%s)", path, actime(st.st_mtime))
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.log.critical("delete_antiques_from_dir(): Couldn't unlink '%s: %s (%d)'",
                                  path, exc.strerror, exc.errno)
            if self.args.usleep > 0:
                time.sleep(self.args.usleep / 1e6)


def run():
    AntiqueFileDeleter.run()
