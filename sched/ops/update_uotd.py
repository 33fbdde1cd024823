"""update_uotd.php: choose the user of the day (daily task).

BOINC's web site shows one volunteer's profile a day.  As BOINC's task: if
the profile chosen last (highest ``profile.uotd_time``) was chosen today
(local time) nothing changes, unless ``-f``/``--force``.  Otherwise a random
profile that an administrator screened (``verification = 1``) of a user
with ``expavg_credit > 1`` who was never chosen gets ``uotd_time = now``;
when every such profile has had its day, a random one of the 100 chosen
longest ago is shown again.

Profiles are written, screened and shown only by BOINC's PHP web site, so
in a project without it there are none and this task says so and changes
nothing.  What BOINC's PHP does besides the database (the congratulation
e-mail, the ``uotd_gadget.html`` snippet for the front page) belongs to
that web site and is not done here.
"""

import time

from . import OpsTask, say

CANDIDATES = ("SELECT p.userid FROM profile p JOIN user u ON u.id = p.userid "
              "WHERE p.verification = 1 AND u.expavg_credit > 1 "
              "AND (p.uotd_time IS NULL OR p.uotd_time = 0) ORDER BY RAND() LIMIT 1")
RESHOW = ("SELECT userid FROM (SELECT p.userid FROM profile p JOIN user u ON u.id = p.userid "
          "WHERE p.verification = 1 AND p.uotd_time > 0 ORDER BY p.uotd_time LIMIT 100) AS t "
          "ORDER BY RAND() LIMIT 1")


def current_uotd(db):
    return db.query_one("SELECT userid, uotd_time FROM profile WHERE uotd_time IS NOT NULL "
                        "AND uotd_time > 0 ORDER BY uotd_time DESC LIMIT 1")


def same_day(a, b):
    return time.localtime(a)[:3] == time.localtime(b)[:3]


def select_uotd(db, force=False, now=None, log=say):
    """Choose today's user; return the chosen user id, or None."""
    now = int(time.time() if now is None else now)
    log(time.strftime("%B %d %Y", time.gmtime(now)) + " UTC: Starting")
    if not db.scalar("SELECT COUNT(*) FROM profile"):
        log("No profiles in the database: volunteers write them on BOINC's PHP web site, "
            "which this project doesn't run.  No user of the day.")
        return None
    current = current_uotd(db)
    if current and not force and same_day(current["uotd_time"], now):
        log("Already have UOTD for today")
        return None
    if force:
        log("Forcing new UOTD")
    log("using default candidates_query")
    userid = db.scalar(CANDIDATES)
    if userid is None:
        log("no new verified profile found, selecting old UOTD that was shown least recently")
        userid = db.scalar(RESHOW)
    if userid is None:
        log("No screened users found")
        return None
    db.execute("UPDATE profile SET uotd_time = %s WHERE userid = %s", (now, userid))
    log("Chose user %d as UOTD" % userid)
    return userid


class UpdateUotd(OpsTask):
    name = "update_uotd"
    description = "Choose the user of the day among the screened profiles."

    def add_arguments(self, p):
        p.add_argument("-f", "--force", action="store_true",
                       help="choose a new user even if today's is chosen")

    def work(self, db, cfg, args):
        select_uotd(db, args.force)
        return 0


def run():
    UpdateUotd.run()
