"""Daily job quotas (host_app_version), as BOINC's scheduler applies them.

BOINC's facts (sched_send.cpp update_quota, sched_version.cpp
scaled_max_jobs_per_day, sched_send.cpp update_host_app_versions): a host's
first jobs of a version make its host_app_version row with no limit; the
next RPC sets the limit to daily_result_quota (if there is one); the limit
is scaled by the host's CPUs; it is checked per job, so one RPC stops at it.
"""

import os
import re

from accounts import create_user
from test_scheduler import fresh_state, request_text, rpc  # noqa: F401 (fixture)
from workproject import work_ready  # noqa: F401 (fixture)


def set_options(wp, **options):
    path = os.path.join(wp.dir, "config.xml")
    with open(path) as f:
        text = f.read()
    for tag, value in options.items():
        text, n = re.subn(r"<%s>[^<]*</%s>" % (tag, tag), "<%s>%s</%s>" % (tag, value, tag), text)
        if not n:
            text = text.replace("<config>", "<config>\n    <%s>%s</%s>" % (tag, value, tag), 1)
    with open(path, "w") as f:
        f.write(text)


def ask(wp, monkeypatch, auth, hostid=0, seqno=0, ncpus=1):
    """A request for plenty of work; (hostid, jobs sent, reply)."""
    text = request_text("run-plain", 1, auth, hostid=hostid, rpc_seqno=seqno, p_ncpus=ncpus,
                        work_req_seconds=1e6, cpu_req_secs=1e6, cpu_req_instances=ncpus)
    reply, _ = rpc(wp, text, monkeypatch)
    hostid = int(re.search(r"<hostid>(\d+)</hostid>", reply).group(1)) if "<hostid>" in reply \
        else hostid
    return hostid, len(re.findall(r"<result>\n", reply)), reply


def hav(wp, hostid):
    return wp.db.query_one("SELECT max_jobs_per_day, n_jobs_today FROM host_app_version "
                           "WHERE host_id=%s", (hostid,))


def test_first_batch_then_the_daily_limit(work_ready, monkeypatch):
    wp = work_ready(njobs=6)
    set_options(wp, daily_result_quota=2, min_sendwork_interval=0, max_wus_to_send=3)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    hostid, sent, reply = ask(wp, monkeypatch, auth)
    assert sent == 3, reply
    # a new row: no limit yet, the jobs of the RPC counted
    assert hav(wp, hostid) == {"max_jobs_per_day": 0, "n_jobs_today": 3}
    _, sent, reply = ask(wp, monkeypatch, auth, hostid, 1)
    assert sent == 0
    assert "Daily job limit (2) has been reached" in reply
    assert "This computer has finished a daily quota of 2 tasks" in reply
    assert hav(wp, hostid) == {"max_jobs_per_day": 2, "n_jobs_today": 3}


def test_limit_is_per_cpu_and_checked_per_job(work_ready, monkeypatch):
    wp = work_ready(njobs=10)
    set_options(wp, daily_result_quota=3, min_sendwork_interval=0, max_wus_to_send=1)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    hostid, sent, _ = ask(wp, monkeypatch, auth, ncpus=2)
    assert sent == 2                                    # max_wus_to_send x CPUs
    set_options(wp, max_wus_to_send=10)
    # limit 3 x 2 CPUs = 6; 2 sent already: this RPC stops after 4 more
    _, sent, reply = ask(wp, monkeypatch, auth, hostid, 1, ncpus=2)
    assert sent == 4, reply
    assert hav(wp, hostid) == {"max_jobs_per_day": 3, "n_jobs_today": 6}


def test_no_daily_quota_means_one_batch(work_ready, monkeypatch):
    """daily_result_quota 0: BOINC never gives the row a limit, and a row with
    limit 0 is exceeded, so a host gets its first batch and nothing more."""
    wp = work_ready(njobs=4)
    set_options(wp, daily_result_quota=0, min_sendwork_interval=0, max_wus_to_send=2)
    auth = create_user(wp.db, "vol@example.com", "volunteer")
    hostid, sent, _ = ask(wp, monkeypatch, auth)
    assert sent == 2
    _, sent, reply = ask(wp, monkeypatch, auth, hostid, 1)
    assert sent == 0 and "Daily job limit (0) has been reached" in reply
