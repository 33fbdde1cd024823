"""``<scheduler_request>`` → :class:`Request`, as leniently as BOINC reads it.

Unknown tags are skipped; string values are unescaped; numbers read as C's
atof/atoi would; raw blocks (``<stderr_out>``, preferences, trickles) are
kept verbatim.  Sizes are bounded by the caller (the request body limit) and
by the per-field caps below, which mirror BOINC's buffer and column sizes.
"""

from ..record import Record
from .scan import ScanError, as_bool, as_float, as_int, as_str, children, items

BLOB_SIZE = 65535           # a BLOB column; BOINC truncates stderr_out likewise
MAX_DAYS = 28 * 86400       # work requests are clamped to 28 days

HOST_STR = ("domain_name", "host_cpid", "p_vendor", "p_model", "os_name", "os_version",
            "product_name", "p_features", "virtualbox_version", "docker_version",
            "docker_compose_version")
HOST_NUM = ("p_fpops", "p_iops", "p_membw", "m_nbytes", "m_cache", "m_swap", "d_total",
            "d_free", "n_bwup", "n_bwdown")
HOST_INT = ("timezone", "p_ncpus", "docker_type", "docker_compose_type")


class ReportedResult(Record):
    name = ""
    client_state = 0
    cpu_time = 0.0
    elapsed_time = 0.0
    exit_status = 0
    app_version_num = 0
    peak_working_set_size = 0.0
    peak_swap_size = 0.0
    peak_disk_usage = 0.0
    stderr_out = ""
    xml_doc_out = ""



class Coproc(Record):
    count = 0.0
    peak_flops = 0.0
    req_secs = 0.0
    req_instances = 0.0
    estimated_delay = 0.0

    def __init__(self, type, **values):
        self.type = type
        super().__init__(**values)


class ClientAppVersion(Record):
    app_name = ""
    platform = ""
    plan_class = ""
    version_num = 0
    avg_ncpus = 1.0
    flops = 0.0



class Request(Record):
    authenticator = ""
    cross_project_id = ""
    hostid = 0
    rpc_seqno = 0
    platform_name = ""
    core_client_major_version = 0
    core_client_minor_version = 0
    core_client_release = 0
    work_req_seconds = 0.0
    cpu_req_secs = 0.0
    cpu_req_instances = 0.0
    estimated_delay = 0.0
    resource_share_fraction = 1.0
    rrs_fraction = 1.0
    prrs_fraction = 1.0
    duration_correction_factor = 0.0
    dont_send_work = False
    client_cap_plan_class = False
    sandbox = -1
    allow_multiple_clients = -1
    uptime = 0.0
    previous_uptime = 0.0
    global_prefs_xml = ""
    working_global_prefs_xml = ""
    global_prefs_source_email_hash = ""
    code_sign_key = ""
    client_brand = ""
    have_other_results_list = False

    def __init__(self, **values):
        self.alt_platforms = []
        self.host = {}
        self.time_stats = {}
        self.net_stats = {}
        self.disk_usage = {}
        self.coprocs = []
        self.app_versions = []
        self.results = []
        self.other_results = []         # names
        self.in_progress_results = []
        self.msgs_from_host = []        # dicts
        self.file_infos = []            # sticky files (names)
        super().__init__(**values)

    @property
    def core_client_version(self):
        return (10000 * self.core_client_major_version
                + 100 * self.core_client_minor_version + self.core_client_release)

    @property
    def client_version_string(self):
        return "%d.%d.%d" % (self.core_client_major_version, self.core_client_minor_version,
                             self.core_client_release)

    @property
    def platforms(self):
        """Platform names to try, primary first (alternates ignored for anonymous)."""
        if self.platform_name == "anonymous":
            return [self.platform_name]
        names = [self.platform_name] if self.platform_name else []
        return names + [p for p in self.alt_platforms if p not in names]

    @property
    def requesting_work(self):
        if self.dont_send_work:
            return False
        if self.work_req_seconds > 0 or self.cpu_req_secs > 0:
            return True
        return any(c.count and c.req_secs > 0 for c in self.coprocs)


def _numbers(inner, names):
    return {tag: as_float(value) for tag, value in items(inner) if tag in names}


# <host_info> tag -> (host key, converter)
_HOST_FIELDS = dict([(t, (t, as_str)) for t in HOST_STR] + [(t, (t, as_float)) for t in HOST_NUM]
                    + [(t, (t, as_int)) for t in HOST_INT]
                    + [("ip_addr", ("last_ip_addr", as_str)),
                       ("p_vm_extensions_disabled", ("p_vm_extensions_disabled", as_bool))])


def _host_info(inner):
    host = {}
    fields = _HOST_FIELDS
    for tag, value in items(inner):
        field = fields.get(tag)
        if field is not None:
            host[field[0]] = field[1](value)
    return host


def _result(inner):
    r = ReportedResult(exit_status=0)
    out = []
    for tag, value in items(inner):
        if tag == "name":
            r.name = as_str(value)
        elif tag == "state":
            r.client_state = as_int(value)
        elif tag == "final_cpu_time":
            r.cpu_time = as_float(value)
        elif tag == "final_elapsed_time":
            r.elapsed_time = as_float(value)
        elif tag == "exit_status":
            r.exit_status = as_int(value)
        elif tag == "app_version_num":
            r.app_version_num = as_int(value)
        elif tag == "final_peak_working_set_size":
            r.peak_working_set_size = as_float(value)
        elif tag == "final_peak_swap_size":
            r.peak_swap_size = as_float(value)
        elif tag == "final_peak_disk_usage":
            r.peak_disk_usage = as_float(value)
        elif tag == "stderr_out":
            r.stderr_out = (value or "")[:BLOB_SIZE]
        elif tag == "file_info":
            out.append("<file_info>%s</file_info>" % (value or "").strip())
    r.xml_doc_out = "".join(out)[:BLOB_SIZE]
    return r


def _coprocs(inner):
    found = []
    for tag, value, _ in children(inner or ""):
        if tag not in ("coproc_cuda", "coproc_ati", "coproc_intel_gpu", "coproc"):
            continue
        kind = {"coproc_cuda": "NVIDIA", "coproc_ati": "ATI",
                "coproc_intel_gpu": "intel_gpu"}.get(tag)
        fields = {}
        for t, v, _ in children(value or ""):
            if t == "type":
                kind = as_str(v)
            elif t in ("count", "peak_flops", "req_secs", "req_instances", "estimated_delay"):
                fields[t] = as_float(v)
        if kind:
            found.append(Coproc(type=kind, **fields))
    return found


def _app_versions(inner):
    versions = []
    for tag, value, _ in children(inner or ""):
        if tag != "app_version":
            continue
        av = ClientAppVersion()
        for t, v, _ in children(value or ""):
            if t in ("app_name", "platform", "plan_class"):
                setattr(av, t, as_str(v))
            elif t == "version_num":
                av.version_num = as_int(v)
            elif t in ("avg_ncpus", "flops"):
                setattr(av, t, as_float(v))
        versions.append(av)
    return versions


def _names(inner, item_tag):
    names = []
    for tag, value, _ in children(inner or ""):
        if tag == item_tag:
            for t, v in items(value):
                if t == "name":
                    names.append(as_str(v))
                    break
    return names


# Top-level leaves: tag -> converter (the Request attribute has the tag's name).
_SIMPLE = dict(
    [(t, as_str) for t in ("authenticator", "cross_project_id", "platform_name",
                           "client_brand", "global_prefs_source_email_hash")]
    + [(t, as_int) for t in ("hostid", "rpc_seqno", "core_client_major_version",
                             "core_client_minor_version", "core_client_release", "sandbox",
                             "allow_multiple_clients")]
    + [(t, as_float) for t in ("work_req_seconds", "cpu_req_secs", "cpu_req_instances",
                               "resource_share_fraction", "rrs_fraction", "prrs_fraction",
                               "duration_correction_factor", "uptime", "previous_uptime",
                               "estimated_delay")]
    + [(t, as_bool) for t in ("dont_send_work", "client_cap_plan_class")])
_TIME_STATS = frozenset(("on_frac", "connected_frac", "active_frac", "gpu_active_frac",
                         "client_start_time", "previous_uptime",
                         "cpu_and_network_available_frac"))
_NET_STATS = frozenset(("bwup", "bwdown"))
_DISK_USAGE = frozenset(("d_boinc_used_total", "d_boinc_used_project", "d_project_share"))


def parse(text):
    """Parse a request body (str).  Raises ScanError when it can't be read."""
    start = text.find("<scheduler_request")
    if start < 0:
        raise ScanError("no start tag")
    body = None
    for tag, inner, _ in children(text, start):
        if tag == "scheduler_request":
            body = inner
        break
    if body is None:
        raise ScanError("no end tag")
    req = Request()
    simple = _SIMPLE
    for tag, inner, _ in children(body):
        convert = simple.get(tag)
        if convert is not None:
            setattr(req, tag, convert(inner))
        elif tag == "alt_platform":
            name = as_str(dict((t, v) for t, v, _ in children(inner or "")).get("name"))
            if name:
                req.alt_platforms.append(name)
        elif tag == "global_preferences":
            req.global_prefs_xml = ("<global_preferences>\n%s\n</global_preferences>\n"
                                    % (inner or "").strip())[:BLOB_SIZE]
        elif tag == "working_global_preferences":
            req.working_global_prefs_xml = (inner or "")[:BLOB_SIZE]
        elif tag == "host_info":
            req.host = _host_info(inner)
        elif tag == "time_stats":
            req.time_stats = _numbers(inner, _TIME_STATS)
        elif tag == "net_stats":
            req.net_stats = _numbers(inner, _NET_STATS)
        elif tag == "disk_usage":
            req.disk_usage = _numbers(inner, _DISK_USAGE)
        elif tag == "coprocs":
            req.coprocs = _coprocs(inner)
        elif tag == "app_versions":
            req.app_versions = _app_versions(inner)
        elif tag == "result":
            req.results.append(_result(inner))
        elif tag == "other_results":
            req.have_other_results_list = True
            req.other_results = _names(inner, "other_result")
        elif tag == "in_progress_results":
            req.in_progress_results = _names(inner, "ip_result")
        elif tag == "code_sign_key":
            req.code_sign_key = (inner or "").strip()
        elif tag == "msg_from_host":
            msg = {"xml": (inner or "")[:BLOB_SIZE]}
            for t, v, _ in children(inner or ""):
                if t == "variety":
                    msg["variety"] = as_str(v)[:255]
            req.msgs_from_host.append(msg)
        elif tag == "file_info":
            name = as_str(dict((t, v) for t, v, _ in children(inner or "")).get("name"))
            if name:
                req.file_infos.append(name)
    # The authenticator ends at the first quote (BOINC guards its SQL this way).
    for quote in ("'", '"'):
        req.authenticator = req.authenticator.split(quote)[0]
    req.work_req_seconds = min(max(req.work_req_seconds, 0.0), MAX_DAYS)
    req.cpu_req_secs = min(max(req.cpu_req_secs, 0.0), MAX_DAYS)
    return req
