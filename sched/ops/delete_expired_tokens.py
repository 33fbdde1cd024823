"""delete_expired_tokens.php: delete the tokens whose time is up (daily task).

Tokens (table ``token``: e-mail change, account deletion and login links)
stop being accepted at ``expire_time``; as BOINC's task this deletes every
row whose ``expire_time`` has passed.
"""

import time

from . import OpsTask, say, time_str


def delete_expired_tokens(db, now=None):
    """Delete tokens past their expire_time; return how many."""
    now = int(time.time() if now is None else now)
    return db.execute("DELETE FROM token WHERE expire_time < %s", (now,))


class DeleteExpiredTokens(OpsTask):
    name = "delete_expired_tokens"
    description = "Delete the tokens whose expire_time has passed."

    def work(self, db, cfg, args):
        say("Starting: " + time_str())
        say("%d tokens deleted" % delete_expired_tokens(db))
        say("Finished: " + time_str())
        return 0


def run():
    DeleteExpiredTokens.run()
