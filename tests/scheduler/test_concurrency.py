"""16 hosts at once against the scheduler under a real Apache: no job twice."""

import os
import re
import threading
import time
import urllib.request

import pytest

from accounts import create_user
from testenv import program_pids
from workproject import SHARED, work_ready  # noqa: F401 (fixture)

REQUEST = """<scheduler_request>
    <authenticator>{auth}</authenticator>
    <hostid>{hostid}</hostid>
    <rpc_seqno>{seqno}</rpc_seqno>
    <core_client_major_version>7</core_client_major_version>
    <core_client_minor_version>20</core_client_minor_version>
    <core_client_release>5</core_client_release>
    <work_req_seconds>{secs}</work_req_seconds>
    <cpu_req_secs>{secs}</cpu_req_secs>
    <cpu_req_instances>{instances}</cpu_req_instances>
    <estimated_delay>0.0</estimated_delay>
    <client_cap_plan_class>1</client_cap_plan_class>
    <platform_name>x86_64-pc-linux-gnu</platform_name>
<host_info>
    <domain_name>host{n}</domain_name>
    <ip_addr>10.0.0.{n}</ip_addr>
    <host_cpid>{cpid}</host_cpid>
    <p_ncpus>4</p_ncpus>
    <p_vendor>GenuineIntel</p_vendor>
    <p_model>Test CPU {n}</p_model>
    <p_fpops>1000000000.0</p_fpops>
    <m_nbytes>8000000000.0</m_nbytes>
    <d_total>100000000000.0</d_total>
    <d_free>50000000000.0</d_free>
    <os_name>Linux</os_name>
    <os_version>6.1</os_version>
</host_info>
<other_results>
</other_results>
</scheduler_request>
"""


def client(url, auth, n, sent, errors, total, deadline, start):
    """One host: registered by an RPC asking for no work, then, once every
    host is (``start``, a barrier), asking for work until all jobs are out
    (or time is up).  Without the barrier a host that got going first could
    take every job before the others had sent their first request."""
    hostid, seqno, secs = 0, 0, 0
    while sum(len(v) for v in sent.values()) < total and time.time() < deadline:
        body = REQUEST.format(auth=auth, hostid=hostid, seqno=seqno, n=n, secs=secs,
                              instances=4.0 if secs else 0.0,
                              cpid="%032x" % (n + 1)).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as r:
                reply = r.read().decode()
        except Exception as exc:         # noqa: BLE001 -- reported below
            errors.append(repr(exc))
            return
        if "</scheduler_reply>" not in reply:
            errors.append(reply[:200])
            return
        m = re.search(r"<hostid>(\d+)</hostid>", reply)
        if m:
            hostid, seqno = int(m.group(1)), 0
        seqno += 1
        if not secs:
            start.wait(60)
            secs = 100000.0
            continue
        names = re.findall(r"<result>\n<report_deadline>\d+</report_deadline>\n<wu_name>.*?"
                           r"</wu_name>\n<name>(.*?)</name>", reply)
        sent[n].extend(names)
        if not names:
            time.sleep(0.2)         # the feeder refills the cache every second


@pytest.mark.parametrize("mode", ["fcgi"])
def test_sixteen_hosts_every_job_sent_exactly_once(work_ready, private_apache, mode):
    wp = work_ready(njobs=0, feeder=False)
    # no pause between a host's RPCs; a cache of 400 jobs, refilled as it drains; 8 jobs
    # an RPC (2 per CPU), so that the hosts share them (at 200 an RPC, the first few
    # RPCs could take all 1,000)
    text = open(wp.config.path).read().replace("<min_sendwork_interval>6",
                                               "<min_sendwork_interval>0")
    text = re.sub(r"<max_wus_to_send>\d+", "<max_wus_to_send>2", text)
    text = text.replace("<config>", "<config>\n        <shmem_work_items>400</shmem_work_items>")
    open(wp.config.path, "w").write(text)
    wp.add_jobs(1000)
    wp.start_feeder()
    private_apache(wp.proj, mode=mode)
    url = wp.proj.url_base + "%s_cgi/%s" % (wp.proj.name, "fcgi" if mode == "fcgi" else "cgi")
    auths = [create_user(wp.db, "u%d@example.com" % i, "user%d" % i) for i in range(4)]
    sent = {n: [] for n in range(16)}
    errors = []
    deadline = time.time() + 300
    start = threading.Barrier(16)
    threads = [threading.Thread(target=client, args=(url, auths[n % 4], n, sent, errors,
                                                     1000, deadline, start))
               for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors[:3]
    all_sent = [name for names in sent.values() for name in names]
    assert len(all_sent) == len(set(all_sent)) == 1000
    rows = wp.db.query("SELECT server_state, hostid FROM result")
    assert len(rows) == 1000
    assert all(r["server_state"] == 4 and r["hostid"] for r in rows)
    assert len({r["hostid"] for r in rows}) > 1
    # mod_fcgid's scheduler processes run under SCHED_BATCH (sched.wsgi.serve_fcgi)
    pids = program_pids(os.path.join(str(wp.proj.dir), "cgi-bin", "fcgi"))
    assert pids
    assert {os.sched_getscheduler(pid) for pid in pids} == {os.SCHED_BATCH}
