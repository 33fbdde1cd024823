"""Who may submit: the request's authenticator and BOINC's submitter tables.

A user may use the submission RPCs only with a ``user_submit`` row; submit
to an app only with ``submit_all`` or a ``user_submit_app`` row for it
(BOINC's has_submit_access / has_file_access).  Batches and their jobs are
seen and changed only by the batch's owner.
"""

from .common import SubmitError, text_of


def user_of(db, root):
    """The user row of the request's ``<authenticator>``."""
    auth = text_of(root, "authenticator")
    if not auth:
        raise SubmitError("no authenticator")
    user = db.query_one("SELECT * FROM user WHERE authenticator = %s", (auth,))
    if user is None:
        raise SubmitError("bad authenticator")
    return user


def submitter(db, user):
    return db.query_one("SELECT * FROM user_submit WHERE user_id = %s", (user["id"],))


def has_submit_access(db, user, app_id):
    us = submitter(db, user)
    if us is None:
        return False
    if us["submit_all"]:
        return True
    return db.scalar("SELECT count(*) FROM user_submit_app WHERE user_id = %s AND app_id = %s",
                     (user["id"], app_id)) > 0


def check(db, root, app=None):
    """The requesting user, if allowed: to submit to ``app``, or (no app) to use
    the RPCs at all.  Raises SubmitError with BOINC's message otherwise."""
    user = user_of(db, root)
    if app is not None:
        if not has_submit_access(db, user, app["id"]):
            raise SubmitError("no submit access")
    elif submitter(db, user) is None:
        raise SubmitError("no file access")
    return user


def check_owner(batch, user):
    if batch["user_id"] != user["id"]:
        raise SubmitError("not owner of batch")


def grant(db, user_id, app_ids=(), submit_all=False, quota=0.0, max_jobs_in_progress=0):
    """Give a user submit rights (all apps, or the given ones); for operators and tests."""
    db.execute("INSERT INTO user_submit (user_id, quota, logical_start_time, submit_all, "
               "manage_all, max_jobs_in_progress) VALUES (%s, %s, 0, %s, 0, %s) "
               "ON DUPLICATE KEY UPDATE submit_all = VALUES(submit_all), quota = VALUES(quota),"
               " max_jobs_in_progress = VALUES(max_jobs_in_progress)",
               (user_id, quota, int(bool(submit_all)), max_jobs_in_progress))
    for app_id in app_ids:
        db.execute("INSERT IGNORE INTO user_submit_app (user_id, app_id, manage) "
                   "VALUES (%s, %s, 0)", (user_id, app_id))
