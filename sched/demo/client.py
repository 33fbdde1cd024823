"""The volunteer's side of the demo: Debian's real BOINC client (``/usr/bin/boinc``).

It runs as a plain process in its own session with a private data
directory (``--dir``), its GUI RPC on the Unix socket ``DIR/boinc_socket``
(so it never meets the system's BOINC), and settings that cut its delays
for a demo: report results at once, no CPU benchmarks, no GPUs, a small
work buffer, don't pause for other load.  We talk to it with its own GUI RPC
protocol (auth1/auth2 with the password in ``gui_rpc_auth.cfg``); its pid is
in ``DIR/boinc.pid`` so a later run (or ``--stop``) can end it.
"""

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time

from .. import xmlutil
from ..errors import BoincError
from . import procs

BOINC = "/usr/bin/boinc"
SOCKET_NAME = "boinc_socket"
PID_FILE = "boinc.pid"
LOG_FILE = "stdoutdae.txt"
START_TIMEOUT = 60

CC_OPTIONS = dict(report_results_immediately=1, skip_cpu_benchmarks=1, no_gpus=1,
                  no_opencl=1, no_info_fetch=1, dont_contact_ref_site=1)
LOG_FLAGS = dict(task=1, file_xfer=1, sched_ops=1)
# A small buffer: ask for jobs whenever a CPU is idle.  suspend_cpu_usage 0:
# a busy machine would otherwise keep every task suspended.
PREFS = dict(run_if_user_active=1, suspend_cpu_usage=0, idle_time_to_run=0,
             cpu_usage_limit=100, max_ncpus_pct=100, work_buf_min_days=0.01,
             work_buf_additional_days=0, disk_min_free_gb=0.1, disk_max_used_pct=100,
             leave_apps_in_memory=0)
ARGS = ("--gui_rpc_unix_domain", "--redirectio", "--skip_cpu_benchmarks", "--no_gpus",
        "--sched_retry_delay_min", "5", "--sched_retry_delay_max", "30",
        "--pers_retry_delay_min", "5", "--pers_retry_delay_max", "30")

# The client's result states (client/result.h) we show.
FILES_UPLOADED = 5


def canonical_url(url):
    """A master URL as the client keeps it: with its trailing slash."""
    return url if url.endswith("/") else url + "/"


def _items(values):
    return "".join("    <%s>%s</%s>\n" % (k, v, k) for k, v in values.items())


class Client:
    def __init__(self, directory, ncpus=None):
        self.dir = os.path.abspath(directory)
        self.ncpus = ncpus or os.cpu_count() or 1
        self.password = None
        self.proc = None
        self.sock = None

    def path(self, name):
        return os.path.join(self.dir, name)

    # -- process

    def stop_leftover(self):
        """End a client an interrupted run left behind."""
        procs.end(procs.read_pid(self.path(PID_FILE)), BOINC, timeout=20, group=True)

    def start(self):
        """A fresh data directory and a started client, its GUI RPC answering."""
        if not os.access(BOINC, os.X_OK):
            raise BoincError("%s not found: install Debian's boinc-client package "
                             "(scripts/setup does)" % BOINC)
        self.stop_leftover()
        os.makedirs(self.dir, exist_ok=True)
        # a new volunteer host each run: no state kept from an older project
        for name in os.listdir(self.dir):
            full = self.path(name)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
        with open(self.path("cc_config.xml"), "w") as f:
            f.write("<cc_config>\n<log_flags>\n%s</log_flags>\n<options>\n%s    <ncpus>%d"
                    "</ncpus>\n</options>\n</cc_config>\n" % (
                        _items(LOG_FLAGS), _items(CC_OPTIONS), self.ncpus))
        with open(self.path("global_prefs_override.xml"), "w") as f:
            f.write("<global_preferences>\n%s</global_preferences>\n" % _items(PREFS))
        self.password = secrets.token_hex(16)
        fd = os.open(self.path("gui_rpc_auth.cfg"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password)
        with open(self.path("console.txt"), "ab") as out:
            self.proc = subprocess.Popen([BOINC, "--dir", self.dir] + list(ARGS), cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        with open(self.path(PID_FILE), "w") as f:
            f.write("%d\n" % self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise BoincError("the BOINC client exited at start (status %s): %s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                self.call("<get_cc_status/>")
                return self
            except OSError:
                self.close_rpc()
            if time.monotonic() > deadline:
                self.stop()
                raise BoincError("the BOINC client's GUI RPC did not answer on %s"
                                 % self.path(SOCKET_NAME))
            time.sleep(0.2)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Ask it to quit, then end its process group (its apps with it)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.call("<quit/>")
            except (OSError, BoincError):
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        self.close_rpc()
        procs.end(self.proc.pid, BOINC, timeout=10, group=True)
        if self.proc.poll() is None:
            self.proc.wait()
        # apps it left behind are in its process group, which can't be reused
        # while one of them lives: this reaches only ours
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.unlink(self.path(PID_FILE))
        except FileNotFoundError:
            pass
        self.proc = None

    def log_tail(self, n=3):
        return procs.tail(self.path(LOG_FILE), n) or procs.tail(self.path("console.txt"), n)

    # -- GUI RPC

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        path = self.path(SOCKET_NAME)
        try:
            if len(path.encode()) < 100:
                s.connect(path)
            else:
                # a socket path is limited to 108 bytes: go there and use the short name
                here = os.getcwd()
                os.chdir(self.dir)
                try:
                    s.connect(SOCKET_NAME)
                finally:
                    os.chdir(here)
        except OSError:
            s.close()
            raise
        self.sock = s
        nonce = xmlutil.text_of(self._exchange("<auth1/>"), "nonce")
        digest = hashlib.md5(((nonce or "") + self.password).encode()).hexdigest()
        reply = self._exchange("<auth2>\n<nonce_hash>%s</nonce_hash>\n</auth2>" % digest)
        if reply.find("authorized") is None:
            raise BoincError("the BOINC client refused our GUI RPC password")

    def _exchange(self, body):
        self.sock.sendall(("<boinc_gui_rpc_request>\n%s\n</boinc_gui_rpc_request>\n\003"
                           % body).encode())
        chunks = []
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the BOINC client closed the GUI RPC connection")
            chunks.append(chunk)
            if chunk.endswith(b"\003"):
                break
        return xmlutil.parse_bytes(b"".join(chunks)[:-1], recover=True)

    def close_rpc(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def call(self, body):
        if self.sock is None:
            self._connect()
        try:
            reply = self._exchange(body)
        except OSError:
            self.close_rpc()
            self._connect()
            reply = self._exchange(body)
        error = reply.find("error")
        if error is not None:
            raise BoincError("the BOINC client answered %s with: %s" % (
                body.split(">")[0] + ">", (error.text or "").strip()))
        return reply

    # -- requests

    def attach(self, url, authenticator):
        self.call("<project_attach>\n<project_url>%s</project_url>\n<authenticator>%s"
                  "</authenticator>\n<project_name></project_name>\n</project_attach>"
                  % (xmlutil.escape(canonical_url(url)), xmlutil.escape(authenticator)))
        deadline = time.monotonic() + 60
        while True:
            poll = self.call("<project_attach_poll/>").find("project_attach_reply")
            num = xmlutil.strtol(xmlutil.text_of(poll, "error_num") if poll is not None
                                 else None, 0)
            if num == 0:
                return
            # -204 (ERR_IN_PROGRESS): still fetching the master page
            if num != -204 or time.monotonic() > deadline:
                raise BoincError("the BOINC client could not attach to %s: error %d %s (%s)"
                                 % (url, num, " ".join(poll.itertext()).strip(),
                                    self.log_tail()))
            time.sleep(0.5)

    def update(self, url):
        """A scheduler RPC now: report what is done, ask for more work."""
        self.call("<project_update>\n<project_url>%s</project_url>\n</project_update>"
                  % xmlutil.escape(canonical_url(url)))

    def tasks(self, url):
        """This project's tasks in the client: dicts name, state, running."""
        want = canonical_url(url)
        out = []
        for r in self.call("<get_results/>").iter("result"):
            if xmlutil.text_of(r, "project_url") != want:
                continue
            task = r.find("active_task")
            out.append(dict(
                name=xmlutil.text_of(r, "name"),
                state=xmlutil.strtol(xmlutil.text_of(r, "state"), 0),
                running=task is not None and xmlutil.strtol(
                    xmlutil.text_of(task, "active_task_state"), 0) == 1))
        return out
