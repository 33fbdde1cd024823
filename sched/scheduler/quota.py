"""host_app_version rows of one host: daily quotas and reliability counters.

Read once per RPC, changed in memory, written back at the end (only the
rows that changed), as BOINC's scheduler does.  Ids are *generalized* app
version ids: the real ``app_version.id``, or ``appid*1000000 + k`` for
anonymous-platform versions (k = 2 CPU, 3 NVIDIA, 4 ATI, 5 Intel, 6 Apple).
"""

import time

from . import Random

COLUMNS = ("host_id", "app_version_id", "pfc_n", "pfc_avg", "et_n", "et_avg", "et_var",
           "et_q", "max_jobs_per_day", "n_jobs_today", "turnaround_n", "turnaround_avg",
           "turnaround_var", "turnaround_q", "consecutive_valid")


def generalized_app_version_id(app_version_id, appid):
    if app_version_id < 0:
        return appid * 1000000 - app_version_id
    return app_version_id


def _day_of_year(t, host_id):
    """Day number of ``t`` shifted by a per-host offset, so hosts don't all roll
    over at midnight together."""
    offset = Random(host_id).random() * 86400
    return time.localtime(t + offset).tm_yday


class HostAppVersions:
    """Read on first use: an RPC that reports nothing and asks for nothing
    never needs them (one statement fewer)."""

    def __init__(self, db, cfg, log, host):
        self.db, self.cfg, self.log, self.host = db, cfg, log, host
        self._rows = None
        self.last_rpc_time = host["rpc_time"]       # before this RPC updates it
        self.new = set()
        self.dirty = set()

    @property
    def rows(self):
        if self._rows is None:
            self._rows = {}
            rows = self.db.query("SELECT %s FROM host_app_version WHERE host_id=%%s"
                                 % ", ".join(COLUMNS), (self.host["id"],))
            now = int(time.time())
            self.new_day = (_day_of_year(self.last_rpc_time, self.host["id"])
                            != _day_of_year(now, self.host["id"]))
            for row in rows:
                self._rows[row["app_version_id"]] = row
                self._update_quota(row)
        return self._rows

    def _update_quota(self, row):
        if self.cfg.daily_result_quota and row["max_jobs_per_day"] == 0:
            row["max_jobs_per_day"] = self.cfg.daily_result_quota
            self.dirty.add(row["app_version_id"])
        if self.new_day and row["n_jobs_today"]:
            row["n_jobs_today"] = 0
            self.dirty.add(row["app_version_id"])

    def get(self, gavid, create=False):
        row = self.rows.get(gavid)
        if row is None and create:
            # As BOINC: a new row starts with no limit; the next RPC gives it
            # daily_result_quota (see _update_quota).
            row = {c: 0 for c in COLUMNS}
            row.update(host_id=self.host["id"], app_version_id=gavid)
            self.rows[gavid] = row
            self.new.add(gavid)
        return row

    def _for_result(self, result_row):
        return self.get(generalized_app_version_id(result_row["app_version_id"],
                                                   result_row["appid"]))

    def good_result(self, result_row):
        row = self._for_result(result_row)
        if row is None:
            return
        quota = self.cfg.daily_result_quota
        if row["max_jobs_per_day"] < quota:
            n = min(row["max_jobs_per_day"] * 2, quota)
            if self.cfg.debug_quota:
                self.log.normal("[quota] increasing max_jobs_per_day for %d: %d->%d",
                                row["app_version_id"], row["max_jobs_per_day"], n)
            row["max_jobs_per_day"] = n
            self.dirty.add(row["app_version_id"])

    def bad_result(self, result_row):
        row = self._for_result(result_row)
        if row is None:
            return
        n = min(row["max_jobs_per_day"], self.cfg.daily_result_quota) - 1
        n = max(n, 1)
        if self.cfg.debug_quota:
            self.log.normal("[quota] decreasing max_jobs_per_day for %d: %d->%d",
                            row["app_version_id"], row["max_jobs_per_day"], n)
        row["max_jobs_per_day"] = n
        row["consecutive_valid"] = 0
        self.dirty.add(row["app_version_id"])

    def job_sent(self, gavid):
        row = self.get(gavid, create=True)
        row["n_jobs_today"] += 1
        self.dirty.add(gavid)

    def snapshot(self):
        """The state to go back to if the DB transaction in hand is rolled back."""
        return ({k: dict(v) for k, v in self.rows.items()}, set(self.new), set(self.dirty))

    def restore(self, state):
        rows, new, dirty = state
        self._rows, self.new, self.dirty = rows, new, dirty

    def daily_limit(self, gavid, ncpus, gpus=None):
        """BOINC's scaled_max_jobs_per_day: the row's limit times the host's CPUs
        (a CPU version) or its GPUs and <gpu_multiplier> (a GPU version); a
        limit of 1 is not scaled.  None when the host has no row yet."""
        row = self.get(gavid)
        if row is None or gavid in self.new:     # BOINC sees new rows only next RPC
            return None
        n = row["max_jobs_per_day"]
        if n == 1:
            return 1
        if gpus is None:
            return n * ncpus if ncpus else n
        if gpus:
            n *= int(gpus)
        return n * self.cfg.gpu_multiplier if self.cfg.gpu_multiplier else n

    def quota_exceeded(self, gavid, ncpus, gpus=None):
        """This host has had its daily share of jobs for this version.  As in
        BOINC, a row with no limit (daily_result_quota 0) is exceeded at once:
        such a host gets its first batch and then nothing more for the day."""
        limit = self.daily_limit(gavid, ncpus, gpus)
        return limit is not None and self.rows[gavid]["n_jobs_today"] >= limit

    def write(self):
        """Write the new and changed rows (one statement each)."""
        if self._rows is None:
            return
        for gavid in sorted(self.new):
            row = self.rows[gavid]
            self.db.execute("INSERT INTO host_app_version (%s) VALUES (%s) "
                            "ON DUPLICATE KEY UPDATE n_jobs_today=VALUES(n_jobs_today)"
                            % (", ".join(COLUMNS), ", ".join(["%s"] * len(COLUMNS))),
                            [row[c] for c in COLUMNS])
        for gavid in sorted(self.dirty - self.new):
            row = self.rows[gavid]
            self.db.execute("UPDATE host_app_version SET max_jobs_per_day=%s, n_jobs_today=%s, "
                            "consecutive_valid=%s WHERE host_id=%s AND app_version_id=%s",
                            (row["max_jobs_per_day"], row["n_jobs_today"],
                             row["consecutive_valid"], row["host_id"], gavid))
        self.new.clear()
        self.dirty.clear()
