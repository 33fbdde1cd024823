"""Drive a real BOINC client (Debian's boinc-client 7.20) from tests.

:class:`BoincClient` runs ``/usr/bin/boinc`` as a plain child process, in
its own process group, with a private data directory and its GUI RPC on
the Unix socket ``DIR/boinc_socket`` -- so several clients can run side by
side and none touches the system's BOINC.  Before starting it writes a
cc_config.xml and a global_prefs_override.xml that cut the client's delays
(see ../shared/boinc-reference/client-facts.md, sections 0 and 7).

Control and state go through :class:`GuiRpc`, the client's own XML protocol
(``<boinc_gui_rpc_request>…</boinc_gui_rpc_request>`` then ``\\003``, with
the auth1/auth2 nonce handshake).  Parsed results are plain dicts: a child
element becomes a key, its text the value ('' for an empty flag element
such as ``<ready_to_report/>``, so test flags with ``in``), an element with
children a nested dict, and a repeated tag a list.

Failures raise :class:`ClientError` (an AssertionError) whose message ends
with the tail of the client's log, stdoutdae.txt.
"""

import hashlib
import os
import signal
import socket
import subprocess
import time

from sched import xmlutil

BOINC = "/usr/bin/boinc"
BOINCCMD = "/usr/bin/boinccmd"
SOCKET_NAME = "boinc_socket"          # the client binds it in its data dir
LOG_NAME = "stdoutdae.txt"            # --redirectio
START_TIMEOUT = 60
RPC_TIMEOUT = 60

DEFAULT_LOG_FLAGS = dict(
    task=1, file_xfer=1, sched_ops=1,
    sched_op_debug=1, file_xfer_debug=1, task_debug=1, work_fetch_debug=1,
    http_debug=0,
)
DEFAULT_OPTIONS = dict(
    report_results_immediately=1, skip_cpu_benchmarks=1, no_gpus=1, no_opencl=1,
    no_info_fetch=1, dont_contact_ref_site=1, ncpus=1,
)
# suspend_cpu_usage 0: otherwise a busy build machine (>25% non-BOINC load)
# keeps every task suspended.
DEFAULT_PREFS = dict(
    run_if_user_active=1, run_gpu_if_user_active=1, suspend_cpu_usage=0, idle_time_to_run=0,
    cpu_usage_limit=100, max_ncpus_pct=100, work_buf_min_days=0, work_buf_additional_days=0,
    disk_min_free_gb=0.1, disk_max_used_pct=100, ram_max_used_busy_pct=90,
    ram_max_used_idle_pct=90, cpu_scheduling_period_minutes=60, leave_apps_in_memory=0,
)
# Every one is accepted by boinc 7.20.5 (see boinc --help).
DEFAULT_ARGS = (
    "--gui_rpc_unix_domain", "--redirectio", "--skip_cpu_benchmarks", "--no_gpus",
    "--sched_retry_delay_min", "5", "--sched_retry_delay_max", "30",
    "--pers_retry_delay_min", "5", "--pers_retry_delay_max", "30",
    "--master_fetch_interval", "30",
)


class ClientError(AssertionError):
    """The client (or the driver's wait for it) failed; the message has its log tail."""


# ----------------------------------------------------------------- helpers

def canonical_url(url):
    """A master URL as the client stores it: trailing '/', no '//' after the scheme."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "http", url
    while "//" in rest:
        rest = rest.replace("//", "/")
    if not rest.endswith("/"):
        rest += "/"
    return scheme + "://" + rest


def host_path(url):
    """The client's directory/file name part for a project URL (127.0.0.1_8081_name)."""
    rest = url.split("://", 1)[-1]
    out = "".join(c if c.isalnum() or c in ".-_" else "_" for c in rest)
    return out[:-1] if out.endswith("_") else out


def _xml_value(value):
    if value is True:
        return "1"
    if value is False or value is None:
        return "0"
    return xmlutil.escape(value)


def _xml_items(items, indent="    "):
    return "".join("%s<%s>%s</%s>\n" % (indent, k, _xml_value(v), k) for k, v in items.items())


def elem_to_dict(elem):
    """An element's children as a dict (see the module docstring)."""
    out = {}
    for child in elem:
        if not isinstance(child.tag, str):
            continue
        value = elem_to_dict(child) if len(child) else (child.text or "").strip()
        if child.tag in out:
            prev = out[child.tag]
            out[child.tag] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = value
    return out


def _parse_reply(data):
    """Parse a GUI RPC reply (bytes, no \\003); tolerate odd bytes in log text."""
    try:
        return xmlutil.parse_bytes(data)
    except xmlutil.XMLError:
        text = data.decode("utf-8", errors="replace")
        text = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
        return xmlutil.parse_bytes(text, recover=True)


# ----------------------------------------------------------------- GUI RPC

class GuiRpc:
    """One authenticated GUI RPC connection over the client's Unix socket."""

    def __init__(self, sock_path, password, timeout=RPC_TIMEOUT):
        self.sock_path, self.password, self.timeout = sock_path, password, timeout
        self.sock = None

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.sock_path)
        except OSError:
            s.close()
            raise
        self.sock = s
        nonce = xmlutil.text_of(self._exchange("<auth1/>"), "nonce")
        if not nonce:
            raise ConnectionError("GUI RPC: no nonce in the auth1 reply")
        digest = hashlib.md5((nonce + self.password).encode()).hexdigest()
        if self._exchange("<auth2>\n<nonce_hash>%s</nonce_hash>\n</auth2>" % digest).find(
                "authorized") is None:
            raise ConnectionError("GUI RPC: the client refused our password (auth2)")
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _exchange(self, body):
        request = "<boinc_gui_rpc_request>\n%s\n</boinc_gui_rpc_request>\n\003" % body
        self.sock.sendall(request.encode("utf-8"))
        chunks = []
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("GUI RPC: the client closed the connection")
            chunks.append(chunk)
            if chunk.endswith(b"\003"):
                break
        return _parse_reply(b"".join(chunks)[:-1])

    def call(self, body):
        """Send one request (the XML inside boinc_gui_rpc_request); return the reply root."""
        if self.sock is None:
            self.connect()
        try:
            return self._exchange(body)
        except (OSError, ConnectionError):
            # The client closes connections it dislikes; one fresh try.
            self.close()
            self.connect()
            return self._exchange(body)


# ----------------------------------------------------------------- the client

class BoincClient:
    """A real BOINC client in ``data_dir`` (created if missing).

    ``ncpus``: the cc_config ``ncpus`` option.  ``options``: more cc_config
    options (name -> value; True/False become 1/0), ``log_flags``: more or
    changed log flags, ``prefs``: more or changed global_prefs_override
    values.  ``args``: extra command-line arguments.  Call :meth:`start`
    (the ``boinc_client`` fixture does) and always :meth:`stop`.
    """

    def __init__(self, data_dir, ncpus=1, options=None, log_flags=None, prefs=None,
                 args=(), password=None, boinc=BOINC, boinccmd=BOINCCMD):
        self.dir = os.path.abspath(data_dir)
        self.options = dict(DEFAULT_OPTIONS, ncpus=ncpus, **(options or {}))
        self.log_flags = dict(DEFAULT_LOG_FLAGS, **(log_flags or {}))
        self.prefs = dict(DEFAULT_PREFS, **(prefs or {}))
        self.args = list(args)
        self.password = password or os.urandom(16).hex()
        self.boinc, self.boinccmd_path = boinc, boinccmd
        self.proc = None
        self.rpc = None

    def __repr__(self):
        return "BoincClient(%r, pid=%s)" % (self.dir, self.proc and self.proc.pid)

    # -- files
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_config(self):
        """Write cc_config.xml, global_prefs_override.xml and gui_rpc_auth.cfg."""
        os.makedirs(self.dir, exist_ok=True)
        with open(self.path("cc_config.xml"), "w") as f:
            f.write("<cc_config>\n<log_flags>\n%s</log_flags>\n<options>\n%s</options>\n"
                    "</cc_config>\n" % (_xml_items(self.log_flags), _xml_items(self.options)))
        with open(self.path("global_prefs_override.xml"), "w") as f:
            f.write("<global_preferences>\n%s</global_preferences>\n" % _xml_items(self.prefs))
        fd = os.open(self.path("gui_rpc_auth.cfg"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password)

    def command_line(self):
        return [self.boinc, "--dir", self.dir, *DEFAULT_ARGS, *self.args]

    # -- process
    def start(self, timeout=START_TIMEOUT):
        """Start the client; return self once its GUI RPC answers."""
        if self.proc is not None:
            raise RuntimeError("%r already started" % self)
        sock_path = self.path(SOCKET_NAME)
        if len(sock_path.encode()) >= 108:
            raise ValueError("data dir too long for a Unix socket path: %s" % self.dir)
        self.write_config()
        with open(self.path("console.txt"), "ab") as console:
            # start_new_session: its own process group (and its apps with it),
            # so stop() can end exactly what we started.
            self.proc = subprocess.Popen(self.command_line(), cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=console,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.rpc = GuiRpc(sock_path, self.password)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.fail("the client exited with status %s while starting" % self.proc.returncode)
            try:
                self.rpc.call("<get_cc_status/>")
                return self
            except (OSError, ConnectionError):
                self.rpc.close()
            if time.monotonic() > deadline:
                self.fail("no GUI RPC on %s after %ss" % (sock_path, timeout))
            time.sleep(0.2)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """Quit via GUI RPC, then SIGTERM / SIGKILL the process group. Idempotent."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                self.rpc.call("<quit/>")
            except (OSError, ConnectionError, xmlutil.XMLError):
                pass
            if not self._wait(timeout):
                self._signal_group(pgid, signal.SIGTERM)
                if not self._wait(10):
                    self._signal_group(pgid, signal.SIGKILL)
                    self.proc.wait()
        if self.rpc is not None:
            self.rpc.close()
        # Apps the client left behind are in its group; the group id can't be
        # reused while any of them lives, so this reaches only ours.
        self._signal_group(pgid, signal.SIGKILL)

    def _wait(self, timeout):
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    @staticmethod
    def _signal_group(pgid, sig):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    # -- diagnostics
    def log_text(self):
        """The client's whole log (stdoutdae.txt), '' before it exists."""
        try:
            with open(self.path(LOG_NAME), "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=80):
        parts = []
        for name in (LOG_NAME, "stderrdae.txt", "console.txt"):
            try:
                with open(self.path(name), "rb") as f:
                    text = f.read().decode("utf-8", errors="replace")
            except FileNotFoundError:
                continue
            if text.strip():
                parts.append("--- %s (last %d lines) ---\n%s" % (
                    name, lines, "\n".join(text.splitlines()[-lines:])))
        return "\n".join(parts) or "(no client log in %s)" % self.dir

    def fail(self, message):
        raise ClientError("%s [%s]\n%s" % (message, self.dir, self.log_tail()))

    # -- GUI RPC requests
    def call(self, body):
        """A raw GUI RPC: the reply root; an ``<error>`` reply raises ClientError."""
        if self.rpc is None:
            raise RuntimeError("%r not started" % self)
        try:
            reply = self.rpc.call(body)
        except (OSError, ConnectionError) as exc:
            self.fail("GUI RPC %s failed: %s" % (body.split(">", 1)[0] + ">", exc))
        error = reply.find("error")
        if error is not None:
            self.fail("GUI RPC %s: error %r" % (body.split(">", 1)[0] + ">",
                                               (error.text or "").strip()))
        return reply

    def _project_op(self, tag, url):
        self.call("<%s>\n<project_url>%s</project_url>\n</%s>"
                  % (tag, xmlutil.escape(canonical_url(url)), tag))

    def attach(self, url, authenticator, project_name=""):
        """Attach to the project at master URL ``url`` with an account key.

        The client answers the attach request itself with success even when
        it refuses the URL; the outcome is in project_attach_poll's error_num.
        """
        self.call("<project_attach>\n<project_url>%s</project_url>\n"
                  "<authenticator>%s</authenticator>\n<project_name>%s</project_name>\n"
                  "</project_attach>" % (xmlutil.escape(canonical_url(url)),
                                         xmlutil.escape(authenticator),
                                         xmlutil.escape(project_name)))
        poll = elem_to_dict(self.call("<project_attach_poll/>").find("project_attach_reply"))
        if xmlutil.strtol(poll.get("error_num"), 0) != 0:
            self.fail("attach to %s refused: error_num %s %s" % (
                url, poll.get("error_num"), poll.get("message", "")))

    def update(self, url):
        """Ask for a scheduler RPC now (ignores backoff and request_delay)."""
        self._project_op("project_update", url)

    def set_no_more_work(self, url):
        self._project_op("project_nomorework", url)

    def allow_more_work(self, url):
        self._project_op("project_allowmorework", url)

    def detach(self, url):
        self._project_op("project_detach", url)

    def results(self, active_only=False):
        """The client's tasks (get_results) as dicts: name, wu_name, state, ..."""
        reply = self.call("<get_results>\n<active_only>%d</active_only>\n</get_results>"
                          % bool(active_only))
        return [elem_to_dict(r) for r in reply.iter("result")]

    tasks = results

    def old_results(self):
        """Results the server acknowledged (get_old_results): result_name, exit_status, ..."""
        return [elem_to_dict(r) for r in self.call("<get_old_results/>").iter("old_result")]

    def project_status(self):
        """Every attached project (get_project_status) as dicts."""
        return [elem_to_dict(p) for p in self.call("<get_project_status/>").iter("project")]

    def project(self, url):
        """The project_status dict of ``url``, or None if not attached."""
        want = canonical_url(url)
        for p in self.project_status():
            if p.get("master_url") == want:
                return p
        return None

    def messages(self, seqno=0):
        """Log messages after ``seqno``: dicts project, pri, seqno, body, time."""
        reply = self.call("<get_messages>\n<seqno>%d</seqno>\n</get_messages>" % seqno)
        return [elem_to_dict(m) for m in reply.iter("msg")]

    def message_bodies(self, url=None):
        """Message texts, all or those tagged with project ``url`` (or its name)."""
        names = None
        if url is not None:
            p = self.project(url) or {}
            names = {canonical_url(url), p.get("project_name") or canonical_url(url)}
        return [m["body"] for m in self.messages() if names is None or m.get("project") in names]

    def file_transfers(self):
        return [elem_to_dict(f) for f in self.call("<get_file_transfers/>").iter("file_transfer")]

    def cc_status(self):
        return elem_to_dict(self.call("<get_cc_status/>").find("cc_status"))

    # -- the client's files
    def client_state(self):
        """client_state.xml's root element (None before the client wrote it)."""
        try:
            return xmlutil.parse_file(self.path("client_state.xml"), recover=True)
        except FileNotFoundError:
            return None

    def scheduler_urls(self, url):
        """The scheduler URLs the client found for ``url`` (from client_state.xml)."""
        state = self.client_state()
        want = canonical_url(url)
        if state is None:
            return []
        for p in state.iter("project"):
            if xmlutil.text_of(p, "master_url") == want:
                return [(e.text or "").strip() for e in p.findall("scheduler_url")]
        return []

    def project_file(self, kind, url):
        """Bytes of DIR/{kind}_{host_path}.xml (kind: master, sched_request, sched_reply,
        account, statistics), or None."""
        try:
            with open(self.path("%s_%s.xml" % (kind, host_path(url))), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def boinccmd(self, *args, check=True):
        """Run boinccmd against this client (its fixed argument order); CompletedProcess."""
        argv = [self.boinccmd_path, "--passwd", self.password, "--unix_domain", *args]
        done = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            self.fail("boinccmd %s: exit %d: %s%s" % (" ".join(args), done.returncode,
                                                      done.stdout, done.stderr))
        return done

    # -- waiting
    def wait_for(self, predicate, timeout=120, poll=1.0, nudge_url=None, nudge_every=5.0,
                 what=None):
        """Poll ``predicate()`` until it returns something true; return that.

        With ``nudge_url``, force a scheduler RPC (:meth:`update`) every
        ``nudge_every`` seconds to skip the client's backoffs.  Raises
        ClientError (with the log tail) after ``timeout`` seconds or if the
        client exits.
        """
        what = what or getattr(predicate, "__name__", "condition")
        deadline = time.monotonic() + timeout
        next_nudge = time.monotonic() + nudge_every
        while True:
            if not self.running():
                self.fail("client exited (status %s) while waiting for %s"
                          % (self.proc and self.proc.returncode, what))
            value = predicate()
            if value:
                return value
            now = time.monotonic()
            if now > deadline:
                self.fail("timed out after %ss waiting for %s" % (timeout, what))
            if nudge_url is not None and now >= next_nudge:
                self.update(nudge_url)
                next_nudge = now + nudge_every
            time.sleep(poll)
