"""One scheduler RPC, in BOINC's order (handle_request.cpp, process_request)."""

import os
import time

from ..db import DatabaseError
from ..md5 import md5_hex
from . import auth, prefs
from .quota import HostAppVersions

DELAY_UNACCEPTABLE_OS = 86400
DELAY_BAD_CLIENT_VERSION = 86400
DELAY_PLATFORM_UNSUPPORTED = 86400
DELAY_NO_WORK_TEMP = 0
DELAY_NO_WORK_SKIP = 0
DELAY_ANOTHER_INSTANCE = 60

HOST_COPY = ("timezone", "domain_name", "p_ncpus", "p_vendor", "p_model", "p_fpops", "p_iops",
             "p_membw", "os_name", "os_version", "m_nbytes", "m_cache", "m_swap", "d_total",
             "d_free", "n_bwup", "n_bwdown", "product_name")


class Context:
    """Everything one RPC needs, passed to each step."""

    def __init__(self, cfg, db, log, req, reply, cache, catalog, remote_addr, key_text):
        self.cfg, self.db, self.log, self.req, self.reply = cfg, db, log, req, reply
        self.cache, self.catalog = cache, catalog
        self.remote_addr = remote_addr
        self.code_sign_key = key_text
        self.user = self.host = self.team = None
        self.weak_auth = False
        self.prefs, self.project_prefs = {}, {}
        self.resend_lost_results = False
        self.quota = None

    def app_version(self, av_id):
        return self.catalog.app_version(av_id)


def _version_ok(ctx):
    cfg, req = ctx.cfg, ctx.req
    if cfg.min_core_client_version and req.core_client_version < cfg.min_core_client_version:
        v = cfg.min_core_client_version
        ctx.reply.message("Your BOINC client software is too old.  Please install the current "
                          "version (%d.%d.%d or later)." % (v // 10000, (v // 100) % 100, v % 100),
                          "notice")
        ctx.reply.set_delay(DELAY_BAD_CLIENT_VERSION)
        ctx.log.normal("Wrong client version from user: wanted %d, got %d",
                       cfg.min_core_client_version, req.core_client_version)
        return False
    return True


def _acceptable(ctx, patterns, text, what):
    if patterns:
        import re
    for pattern in patterns:
        try:
            if re.search(pattern, text):
                ctx.log.normal("Unacceptable %s %s", what, text.replace("\t", " "))
                ctx.reply.message("This project doesn't support %s %s"
                                  % (what, text.replace("\t", " ")), "notice")
                ctx.reply.set_delay(DELAY_UNACCEPTABLE_OS)
                return False
        except re.error:
            ctx.log.critical("BAD REGEXP: %s", pattern)
    return True


def _send_code_sign_key(ctx):
    """Send our public code-signing key when the client lacks it (or has an old one)."""
    have = ctx.req.code_sign_key.strip()
    ours = ctx.code_sign_key.strip()
    if not have:
        ctx.reply.code_sign_key = ours
        return True
    if have == ours:
        return True
    import glob
    for path in sorted(glob.glob(ctx.cfg.key_path("old_key_*"))):
        n = path.rsplit("_", 1)[-1]
        try:
            with open(path) as f:
                old = f.read().strip()
        except OSError:
            continue
        if old != have:
            continue
        sig_name = "signature_stripped_%s" % n if ctx.req.core_client_major_version >= 7 \
            else "signature_%s" % n
        try:
            with open(ctx.cfg.key_path(sig_name)) as f:
                signature = f.read()
        except OSError:
            ctx.log.critical("Can't read key signature file %s", sig_name)
            return False
        ctx.reply.code_sign_key = ours
        ctx.reply.code_sign_key_signature = signature
        return True
    ctx.reply.message("The project has changed its security key.  Please remove and add "
                      "this project.", "notice")
    return False


def _finite(v):
    return v if not isinstance(v, float) or v - v == 0.0 else 0.0     # no nan/inf


def _update_host(ctx, initial):
    """Copy what the client says about itself into the host row (changed columns only)."""
    req, host = ctx.req, ctx.host
    h = req.host
    new = {k: h[k] for k in HOST_COPY if k in h}
    ip = h.get("last_ip_addr", "")
    if ip != initial["last_ip_addr"]:
        new["last_ip_addr"], new["nsame_ip_addr"] = ip, 0
    else:
        new["nsame_ip_addr"] = initial["nsame_ip_addr"] + 1
    ts = req.time_stats
    for k in ("on_frac", "connected_frac", "active_frac", "gpu_active_frac"):
        if k in ts:
            new[k] = ts[k]
    if req.duration_correction_factor:
        new["duration_correction_factor"] = req.duration_correction_factor
    du = req.disk_usage
    new["d_boinc_used_total"] = du.get("d_boinc_used_total", 0.0)
    new["d_boinc_used_project"] = du.get("d_boinc_used_project", 0.0)
    if "d_project_share" in du:
        new["d_boinc_max"] = du["d_project_share"]
    ns = req.net_stats
    if "bwup" in ns:
        new["n_bwup"], new["n_bwdown"] = ns["bwup"], ns.get("bwdown", 0.0)
    if h.get("host_cpid"):
        new["host_cpid"] = md5_hex(h["host_cpid"] + ctx.user["email_addr"])
    if ctx.remote_addr:
        new["external_ip_addr"] = ctx.remote_addr[:255]
    new["rpc_seqno"] = req.rpc_seqno
    new["rpc_time"] = int(time.time())
    if req.coprocs:
        new["p_ngpus"] = int(sum(c.count for c in req.coprocs))
        new["p_gpu_fpops"] = sum(c.count * c.peak_flops for c in req.coprocs)
    else:
        new["p_ngpus"], new["p_gpu_fpops"] = 0, 0.0
    if "misc" in host:
        new["misc"] = _host_misc(req)
    else:
        new["serialnum"] = "[BOINC|%s]" % req.client_version_string
    # Columns set earlier in this RPC (credit, counters) are in ctx.host already.
    changed = {k: _finite(v) for k, v in new.items()}
    changed = {k: v for k, v in changed.items() if v != initial.get(k)}
    changed.update((k, v) for k, v in host.items()
                   if k not in changed and k != "id" and v != initial.get(k))
    if changed:
        # Sent, not waited for: the reply is written meanwhile, and the
        # outcome read after it has gone out (app.after_request) or before
        # the next statement (host_update_outcome).
        ctx.db.send("UPDATE host SET %s WHERE id=%%s" % ", ".join("%s=%%s" % k for k in changed),
                    list(changed.values()) + [host["id"]])
    host.update(changed)


def host_update_outcome(db, log):
    """Read the outcome of the host update _update_host sent; a failure is
    logged as BOINC logs it, and the RPC's reply stands, as BOINC's does."""
    try:
        db.outcome()
    except DatabaseError as exc:
        if log is not None:
            log.critical("host.update() failed: %s", exc)
            log.flush()


_misc_cache = {}


def _host_misc(req):
    key = (req.client_version_string, req.host.get("virtualbox_version"),
           req.host.get("p_features"), req.host.get("p_vm_extensions_disabled"),
           req.host.get("docker_version"), req.host.get("docker_type"))
    text = _misc_cache.get(key)
    if text is None:
        if len(_misc_cache) > 1000:
            _misc_cache.clear()
        text = _misc_cache[key] = _host_misc_text(req)
    return text


def _host_misc_text(req):
    info = [("client_version", req.client_version_string)]
    if req.host.get("virtualbox_version"):
        feats = req.host.get("p_features", "")
        info.append(("vbox", [("version", req.host["virtualbox_version"]),
                              ("hw_accel", "vmx" in feats or "svm" in feats),
                              ("hw_accel_enabled",
                               not req.host.get("p_vm_extensions_disabled"))]))
    if req.host.get("docker_version"):
        info.append(("docker", [("version", req.host["docker_version"]),
                                ("type", req.host.get("docker_type", 0))]))
    return _json(info, "")


def _json(value, indent):
    """``value`` (strings, ints, bools; lists of pairs for objects) as
    ``json.dumps(..., indent=4)`` writes it; the json module (and re behind
    it) is more than a CGI scheduler should import for one small object."""
    if isinstance(value, list):
        inner = indent + "    "
        return "{\n%s\n%s}" % (",\n".join('%s%s: %s' % (inner, _json_str(k), _json(v, inner))
                                           for k, v in value), indent)
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _json_str(value)


def _json_str(text):
    out = ['"']
    for c in text:
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif " " <= c <= "~":
            out.append(c)
        else:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
                        "\f": "\\f"}.get(c) or "".join(
                "\\u%04x" % u for u in _utf16(ord(c))))
    out.append('"')
    return "".join(out)


def _utf16(code):
    if code < 0x10000:
        return (code,)
    code -= 0x10000
    return (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF))


def _msgs(ctx):
    req, db, now = ctx.req, ctx.db, int(time.time())
    for msg in req.msgs_from_host:
        db.execute("INSERT INTO msg_from_host (create_time, hostid, variety, handled, xml) "
                   "VALUES (%s, %s, %s, 0, %s)",
                   (now, ctx.host["id"], msg.get("variety", ""), msg["xml"]))
        ctx.reply.message_ack = True
    if ctx.cfg.msg_to_host:
        rows = db.query("SELECT id, xml FROM msg_to_host WHERE hostid=%s AND handled=0",
                        (ctx.host["id"],))
        for row in rows:
            xml = row["xml"].decode() if isinstance(row["xml"], bytes) else row["xml"]
            ctx.reply.msgs_to_host.append(xml)
            db.execute("UPDATE msg_to_host SET handled=1 WHERE id=%s", (row["id"],))


def _lock_host(ctx):
    """``<sched_lockfile_dir>``: one scheduler per host at a time.  Returns a file or None."""
    import fcntl
    path = os.path.join(ctx.cfg.sched_lockfile_dir, "CGI_%07d" % ctx.host["id"])
    f = open(path, "a+")
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        other = f.read().strip()
        f.close()
        ctx.log.critical("Another scheduler instance [PID=%s] is running for [HOST#%d]",
                         other or "?", ctx.host["id"])
        return False
    f.truncate(0)
    f.write("%d\n" % os.getpid())
    f.flush()
    return (f, path)


def process_request(ctx):
    """Handle one parsed request; fills ctx.reply.  DB is open, cache attached."""
    req, reply, cfg, log = ctx.req, ctx.reply, ctx.cfg, ctx.log
    ok_to_send = not cfg.dont_send_jobs
    if not _version_ok(ctx) or not _acceptable(
            ctx, cfg.ban_os, "%s\t%s" % (req.host.get("os_name", ""),
                                         req.host.get("os_version", "")), "OS") \
            or not _acceptable(ctx, cfg.ban_cpu, "%s\t%s" % (req.host.get("p_vendor", ""),
                                                              req.host.get("p_model", "")), "CPU"):
        ok_to_send = False
    if not ok_to_send and not req.results:
        reply.nucleus_only = True
        return
    no_work = req.requesting_work and not ctx.cache.present()
    if no_work and cfg.nowork_skip and not req.results and req.hostid:
        reply.message("No work available", "low")
        reply.set_delay(DELAY_NO_WORK_SKIP)
        reply.nucleus_only = True
        log.normal("No work - skipping DB access")
        return
    try:
        auth.authenticate(ctx)
    except auth.AuthFailed:
        return
    initial = dict(ctx.host)
    log.indent = 1
    log.normal("Request: [USER#%d] [HOST#%d] [IP %s] client %s", ctx.user["id"],
               ctx.host["id"], ctx.remote_addr or "", req.client_version_string)
    log.indent = 2
    if ctx.host.get("max_results_day") == -1:
        reply.message("Not accepting requests from this host", "low")
        reply.set_delay(86400)
        reply.nucleus_only = True
        return
    lock = None
    if cfg.sched_lockfile_dir:
        lock = _lock_host(ctx)
        if lock is False:
            reply.message("Another scheduler instance is running for this host", "low")
            reply.set_delay(DELAY_ANOTHER_INSTANCE)
            reply.nucleus_only = True
            return
    try:
        _process(ctx, initial, ok_to_send, no_work)
        if lock:            # the host row is written before the next RPC may start
            host_update_outcome(ctx.db, log)
    finally:
        if lock:
            lock[0].close()
            try:
                os.unlink(lock[1])
            except OSError:
                pass


def _process(ctx, initial, ok_to_send, no_work):
    req, reply, cfg, log = ctx.req, ctx.reply, ctx.cfg, ctx.log
    ctx.quota = HostAppVersions(ctx.db, cfg, log, ctx.host)
    known = [p for p in req.platforms if ctx.catalog.platform_by_name(p)]
    if not known:
        reply.message("This project doesn't support computers of type %s" % req.platform_name,
                      "notice")
        log.critical("[HOST#%d] platform '%s' not found", ctx.host["id"], req.platform_name)
        reply.set_delay(DELAY_PLATFORM_UNSUPPORTED)
        _update_host(ctx, initial)
        return
    prefs.handle_global_prefs(ctx)
    last_rpc_time = initial["rpc_time"]
    # What the RPC doesn't need is not imported (a CGI process pays for each module).
    if req.results:
        from . import results
        results.handle_results(ctx)
    if not req.requesting_work:
        ok_to_send = False
    resend_lost = ok_to_send and (cfg.resend_lost_results or ctx.resend_lost_results)
    if req.have_other_results_list and (resend_lost or (cfg.send_result_abort
                                                        and req.other_results)):
        from . import resend
        if resend_lost and resend.resend_lost_work(ctx):
            ok_to_send = False
        if cfg.send_result_abort:
            resend.send_result_abort(ctx)
    if req.requesting_work:
        if not _send_code_sign_key(ctx):
            ok_to_send = False
        if not no_work and ok_to_send:
            if cfg.min_sendwork_interval:
                diff = time.time() - last_rpc_time
                if diff < cfg.min_sendwork_interval:
                    ok_to_send = False
                    text = ("Not sending work. Last request too recent. Please wait %d seconds."
                            % int(cfg.min_sendwork_interval - diff))
                    log.normal("%s", text)
                    reply.message(text, "low")
                    reply.set_delay(1.01 * cfg.min_sendwork_interval)
            if ok_to_send:
                from . import send
                send.send_work(ctx)
        if no_work:
            reply.message("Project has no tasks available", "low")
    _msgs(ctx)
    _update_host(ctx, initial)
    ctx.quota.write()
