"""delete_expired_users_and_hosts.php: forget deleted accounts after 60 days (daily task).

When an account is deleted its public CPID, and its hosts' CPIDs, stay in
``user_deleted`` / ``host_deleted`` so that db_dump can tell statistics
sites to drop them.  As BOINC's task, rows older than 60 days (by
``create_time``) are deleted: the sites have long since seen them.
"""

import time

from . import OpsTask, say, time_str

KEEP_DAYS = 60


def delete_expired(db, table, now=None):
    """Delete ``table`` (user_deleted or host_deleted) rows older than 60 days."""
    now = int(time.time() if now is None else now)
    return db.execute("DELETE FROM %s WHERE create_time < %%s" % table,
                      (now - KEEP_DAYS * 86400,))


class DeleteExpiredUsersAndHosts(OpsTask):
    name = "delete_expired_users_and_hosts"
    description = "Delete user_deleted and host_deleted rows older than %d days." % KEEP_DAYS

    def work(self, db, cfg, args):
        say("Starting: " + time_str())
        say("%d users deleted from user_deleted" % delete_expired(db, "user_deleted"))
        say("%d hosts deleted from host_deleted" % delete_expired(db, "host_deleted"))
        say("Finished: " + time_str())
        return 0


def run():
    DeleteExpiredUsersAndHosts.run()
