"""Done when: a batch of 10 jobs submitted through the RPCs with our library
(over Apache, FastCGI), run by the real BOINC client, the futures resolve with
the right output files, query_batch shows the batch completed, the batch's
outputs come as a zip, and retire_batch cleans it up (collected files gone;
then the file deleter and db_purge --batch remove the jobs)."""

import io
import os
import subprocess
import sys
import zipfile

import pytest

from accounts import create_user
from pyboinc_submit import Client, Server, as_completed
from sched import states as S
from sched.submit import auth

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "scheduler"))
from workproject import work_ready  # noqa: E402, F401 (fixture)

NJOBS = 10


class Daemons:
    """The back end as background processes of the project (stopped by pid)."""

    def __init__(self, proj):
        self.procs = []
        self.log = open(os.path.join(proj.dir, "daemons_test.log"), "ab")
        for argv in (["transitioner"], ["sample_trivial_validator", "--app", "worker"],
                     ["batch_collect_assimilator", "--app", "worker"]):
            self.procs.append(subprocess.Popen(
                [os.path.join(proj.dir, "bin", argv[0])] + argv[1:] +
                ["-d", "3", "--sleep_interval", "1"], cwd=proj.dir, stdout=self.log,
                stderr=self.log, stdin=subprocess.DEVNULL))

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()


def run(proj, *argv):
    res = subprocess.run([os.path.join(proj.dir, "bin", argv[0])] + list(argv[1:]),
                         cwd=proj.dir, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


@pytest.mark.slow
def test_ten_jobs_through_the_rpcs_and_the_real_client(work_ready, private_apache,
                                                        boinc_client):
    wp = work_ready(njobs=0, extra=("--fcgi",))
    text = open(wp.config.path).read().replace("<min_sendwork_interval>6",
                                               "<min_sendwork_interval>0")
    open(wp.config.path, "w").write(text)
    private_apache(wp.proj)
    url = wp.proj.url(wp.proj.name + "/")
    key = create_user(wp.db, "scientist@example.org", "scientist")
    uid = wp.db.scalar("SELECT id FROM user WHERE authenticator = %s", (key,))
    app_id = wp.db.scalar("SELECT id FROM app WHERE name = 'worker'")
    auth.grant(wp.db, uid, [app_id])
    volunteer = create_user(wp.db, "vol@example.org", "volunteer")
    daemons = Daemons(wp.proj)
    try:
        inputs = [b"job %d says hello\n" % i for i in range(NJOBS)]
        with Client(url, key, poll_interval=1) as c:
            futures = c.map("worker", [[data] for data in inputs], batch_name="e2e")
            batch = futures[0].batch
            assert len(futures) == NJOBS

            client = boinc_client(ncpus=4)
            client.attach(url, volunteer)
            client.wait_for(lambda: all(f.done() for f in futures), timeout=400, nudge_url=url,
                            nudge_every=5, what="the 10 futures resolved")
            expected = {f: {"out": data.upper()} for f, data in zip(futures, inputs)}
            for f in as_completed(futures, timeout=60):
                assert f.result() == expected[f], f.name

        s = Server(url, key)
        info = s.query_batch(batch.id, get_cpu_time=True, get_job_details=True)
        assert (info["state"], info["njobs"], info["nerror_jobs"], info["fraction_done"]) == (
            S.BATCH_STATE_COMPLETE, NJOBS, 0, 1.0)
        assert info["name"] == "e2e" and info["completion_time"] > 0
        assert [j["status"] for j in info["job"]] == ["done"] * NJOBS

        # the assimilator collects every job's output into results/BATCH/
        collected = os.path.join(wp.dir, "results", str(batch.id))
        client.wait_for(lambda: len(os.listdir(collected)) == NJOBS
                        if os.path.isdir(collected) else None, timeout=120,
                        what="the outputs collected")
        name, data, ctype = s.download(cmd="batch", batch_id=batch.id)
        assert name == "batch_%d.zip" % batch.id and ctype == "application/zip"
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert sorted(z.read(n) for n in z.namelist()) == sorted(d.upper() for d in inputs)

        # retire: the collected files go (deleted by Apache's user), the batch is RETIRED
        s.retire_batch(batch.id)
        assert not os.path.exists(collected)
        assert wp.db.scalar("SELECT state FROM batch WHERE id = %s", (batch.id,)) == \
            S.BATCH_STATE_RETIRED
        assert s.query_batches() == []
    finally:
        daemons.stop()
    # ... and the back end purges its jobs: file deletion, then db_purge --batch
    run(wp.proj, "transitioner", "--one_pass", "-d", "1")
    run(wp.proj, "file_deleter", "--one_pass", "-d", "1")
    run(wp.proj, "db_purge", "--one_pass", "--batch", "--min_age_days", "0", "-d", "1")
    assert wp.db.scalar("SELECT count(*) FROM workunit WHERE batch = %s", (batch.id,)) == 0
    assert wp.db.scalar("SELECT count(*) FROM result WHERE batch = %s", (batch.id,)) == 0
    assert wp.db.scalar("SELECT state FROM batch WHERE id = %s", (batch.id,)) == \
        S.BATCH_STATE_RETIRED
