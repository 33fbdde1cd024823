"""The one reader of config.xml (and project.xml).

``<config>`` options the C++ server reads are typed here with BOINC's
defaults; every other child of ``<config>`` stays reachable as text through
:meth:`Config.get`, as PHP and Python tools read them.  ``<daemons>`` and
``<tasks>`` become :class:`Daemon` and :class:`Task` entries.
"""

import marshal
import os

from . import paths
from .errors import ConfigError
from .xmlutil import XMLError, parse_bool, parse_file, strtol

# name -> (kind, default).  Kinds: s string, i int (strtol rules, 0x hex),
# f float, b bool, ls / li repeatable string / int, o octal permission.
OPTIONS = {
    # identity and database
    "master_url": ("s", ""), "long_name": ("s", ""),
    "db_name": ("s", ""), "db_user": ("s", ""), "db_passwd": ("s", ""),
    "db_host": ("s", ""), "db_port": ("i", 0), "db_socket": ("s", ""),
    "replica_db_name": ("s", ""), "replica_db_user": ("s", ""),
    "replica_db_passwd": ("s", ""), "replica_db_host": ("s", ""),
    "host": ("s", ""), "httpd_user": ("s", "apache"),
    "project_user_name": ("s", ""),
    # paths and URLs
    "key_dir": ("s", ""), "download_url": ("s", ""), "download_dir": ("s", ""),
    "upload_url": ("s", ""), "upload_dir": ("s", ""), "uldl_dir_fanout": ("i", 0),
    "app_dir": ("s", ""), "log_dir": ("s", ""), "bin_dir": ("s", ""),
    "cgi_bin_dir": ("s", ""), "pid_dir": ("s", ""), "tmp_dir": ("s", ""),
    # shared memory
    "shmem_key": ("i", 0), "shmem_work_items": ("i", 0), "feeder_query_size": ("i", 0),
    # upload certificates and the upload handler
    "ignore_upload_certificates": ("b", False),
    "dont_generate_upload_certificates": ("b", False),
    "fuh_debug_level": ("i", 3),
    "fuh_set_initial_permission": ("o", -1), "fuh_set_completed_permission": ("o", -1),
    # scheduler
    "sched_debug_level": ("i", 3), "scheduler_log_buffer": ("i", 32768),
    "sched_lockfile_dir": ("s", ""), "maintenance_delay": ("f", 3600.0),
    "min_sendwork_interval": ("i", 0), "next_rpc_delay": ("f", 0.0),
    "max_wus_to_send": ("i", 10), "max_wus_in_progress": ("i", 0),
    "max_wus_in_progress_gpu": ("i", 0), "max_ncpus": ("i", 64),
    "gpu_multiplier": ("i", 0), "daily_result_quota": ("i", 0),
    "max_results_accepted": ("i", 0), "report_max": ("i", 0),
    "report_grace_period": ("i", 0),
    "min_core_client_version": ("i", 0), "min_core_client_version_announced": ("i", 0),
    "min_core_client_upgrade_deadline": ("i", 0),
    "ban_os": ("ls", None), "ban_cpu": ("ls", None), "no_amd_k6": ("b", False),
    "resend_lost_results": ("b", False), "send_result_abort": ("b", False),
    "nowork_skip": ("b", False), "dont_send_jobs": ("b", False),
    "one_result_per_user_per_wu": ("b", False), "one_result_per_host_per_wu": ("b", False),
    "ignore_delay_bound": ("b", False), "default_disk_min_free_gb": ("f", 1.0),
    "dont_store_success_stderr": ("b", False), "non_cpu_intensive": ("b", False),
    "verify_files_on_app_start": ("b", False), "strict_memory_bound": ("b", False),
    "msg_to_host": ("b", False), "request_time_stats_log": ("b", False),
    "symstore": ("s", ""), "ended": ("b", False), "prefer_primary_platform": ("b", False),
    "version_select_random_factor": ("f", 1.0), "estimate_flops_from_hav_pfc": ("b", False),
    "rte_no_stats": ("b", False), "user_filter": ("b", False),
    "dont_search_host_for_user": ("li", None), "sched_old": ("b", False),
    "workload_sim": ("b", False), "job_size_matching": ("b", False),
    "size_classes": ("b", False), "batch_accel": ("b", False), "keyword_sched": ("b", False),
    "enable_assignment": ("b", False), "enable_assignment_multi": ("b", False),
    "enable_vda": ("b", False), "vda_host_timeout": ("f", 0.0),
    "locality_scheduling": ("b", False), "locality_scheduler_fraction": ("f", 0.0),
    "locality_scheduling_sorted_order": ("b", False),
    "locality_scheduling_wait_period": ("i", 0), "locality_scheduling_send_timeout": ("i", 0),
    "locality_scheduling_workunit_file": ("ls", None),
    "locality_scheduling_sticky_file": ("ls", None),
    "homogeneous_redundancy": ("i", 0), "hr_allocate_slots": ("b", False),
    "hr_class_static": ("b", False), "reliable_on_priority": ("i", 0),
    "reliable_max_avg_turnaround": ("i", 0), "reliable_max_error_rate": ("f", 0.0),
    "reliable_reduced_delay_bound": ("f", 0.0), "reliable_priority_on_over": ("i", 0),
    "reliable_priority_on_over_except_error": ("i", 0),
    "replace_download_url_by_timezone": ("s", ""), "max_download_urls_per_file": ("i", 0),
    "credit_by_app": ("b", False), "debug_req_reply_dir": ("s", ""),
    "user_url": ("b", True), "user_country": ("b", True),
    # back end
    "cache_md5_info": ("b", False), "file_deletion_strategy": ("i", 0),
    "distinct_beta_apps": ("b", False),
}

for _topic in ("assignment client_files credit edf_sim_detail edf_sim_workload fcgi "
               "handle_results keyword locality locality_lite prefs quota "
               "request_details request_headers resend send send_job send_scan "
               "user_messages vda version_select").split():
    OPTIONS["debug_" + _topic] = ("b", False)

# Options given in another unit, converted into the option the code uses.
_CONVERTED = {
    "grace_period_hours": ("report_grace_period", lambda x: int(x * 3600)),
    "delete_delay_hours": ("delete_delay", lambda x: x * 3600),
}

# How many job slots the feeder keeps when config.xml does not say.  BOINC's
# feeder keeps 100 (MAX_WU_RESULTS): a dozen schedulers asking for 10 jobs
# each empty that faster than any feeder refills it, and then get no job
# however many wait in the DB.  A slot costs 8 KB of shared memory.
DEFAULT_SHMEM_WORK_ITEMS = 1000


class Daemon:
    """One ``<daemon>`` of config.xml."""
    FIELDS = dict(cmd="", host="", disabled=False, output="", pid_file="", lock_file="",
                  use_shell=False,
                  silent_start=False)       # bin/start --cron doesn't announce restarts

    def __init__(self, cmd, **values):
        values["cmd"] = cmd
        for name, default in self.FIELDS.items():
            setattr(self, name, values.pop(name, default))
        if values:
            raise TypeError("unknown field(s): %s" % ", ".join(sorted(values)))

    def as_dict(self):
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other):
        return type(self) is type(other) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % kv for kv in self.as_dict().items()))


class Task(Daemon):
    """One ``<task>`` of config.xml: a command run every ``period``."""
    FIELDS = dict(Daemon.FIELDS, period="", always_run=False)


class Config:
    """A parsed config.xml.  Known options are attributes; see :meth:`get`."""

    def __init__(self, path, project_dir, options=None, raw=None, daemons=None, tasks=None,
                 delete_delay=0.0):
        self.path, self.project_dir = path, project_dir
        self.options = options if options is not None else {}
        self.raw = raw if raw is not None else {}
        self.daemons = daemons if daemons is not None else []
        self.tasks = tasks if tasks is not None else []
        self.delete_delay = delete_delay

    def __repr__(self):
        return "Config(%r)" % self.path

    @property
    def options(self):
        return self._options

    @options.setter
    def options(self, options):
        # Each option is also a plain attribute: read on every request, so no
        # __getattr__ detour.
        self._options = options
        self.__dict__.update(options)

    def get(self, tag, default=None):
        """Text of any ``<config>`` child by name, as PHP's project_config_val."""
        return self.raw.get(tag, default)

    # Values derived the way the C++ programs derive them.
    @property
    def work_items(self):
        return self.shmem_work_items or DEFAULT_SHMEM_WORK_ITEMS

    @property
    def query_size(self):
        return self.feeder_query_size or 2 * self.work_items

    @property
    def replica(self):
        """Connection settings of the replica DB (the main one where unset)."""
        return dict(
            host=self.replica_db_host or self.db_host,
            name=self.replica_db_name or self.db_name,
            user=self.replica_db_user or self.db_user,
            passwd=self.replica_db_passwd or self.db_passwd)

    @property
    def this_host(self):
        """The host name daemons and tasks default to (``<config><host>``)."""
        return self.host or paths.short_hostname()

    def project_path(self, *parts):
        return os.path.join(self.project_dir, *parts)

    @property
    def keys_dir(self):
        return self.key_dir or self.project_path("keys")

    def key_path(self, name):
        return os.path.join(self.keys_dir, name)

    def dir(self, kind):
        """``bin``, ``cgi-bin``, or this host's ``log``/``pid``/``tmp`` dir.

        As BOINC: ``PROJECT/log_HOST`` etc., which only bin/start lets
        config.xml move, with ``<log_HOST_dir>`` (``<bin_dir>`` for bin/).
        ``<log_dir>``, which make_project writes, is not read by BOINC's
        programs, so a moved project keeps its logs inside it.
        """
        name = "%s_%s" % (kind, paths.short_hostname()) if kind in ("log", "pid", "tmp") \
            else kind
        return self.raw.get(name + "_dir") or self.project_path(name)

    def local_entries(self, entries, host=None):
        """The daemons or tasks meant for ``host`` (default: this host)."""
        host = host or paths.short_hostname()
        return [e for e in entries if (e.host or self.this_host) == host]


def _convert(kind, text, tag, path):
    try:
        if kind in ("s", "ls"):
            return text
        if kind in ("i", "li"):
            return strtol(text)
        if kind == "f":
            return float(text) if text else 0.0
        if kind == "o":
            value = int(text, 8)
            return value if value > 0 else -1
    except ValueError:
        raise ConfigError("%s: <%s> has a bad value %r" % (path, tag, text)) from None
    raise AssertionError(kind)


def _entry(cls, elem):
    values = {}
    for child in elem:
        if not isinstance(child.tag, str):
            continue
        name = child.tag
        if name in ("disabled", "use_shell", "always_run", "silent_start"):
            values[name] = parse_bool(child)
        elif name in cls.FIELDS:
            values[name] = (child.text or "").strip()
    if not values.get("cmd"):
        return None
    return cls(**values)


def parse_config(path, project_dir=None):
    """Parse the config.xml at ``path``; errors name the file and the tag."""
    try:
        root = parse_file(path)
    except OSError as exc:
        raise ConfigError("can't read %s: %s" % (path, exc.strerror)) from None
    except XMLError as exc:
        raise ConfigError("%s is not well-formed XML: %s" % (path, exc)) from None
    if root.tag != "boinc":
        raise ConfigError("%s: the root element must be <boinc>, not <%s>"
                          % (path, root.tag))
    config_elem = root.find("config")
    if config_elem is None:
        raise ConfigError("%s: no <config> section" % path)

    cfg = Config(path=path, project_dir=project_dir or os.path.dirname(os.path.abspath(path)))
    options = {name: ([] if kind in ("ls", "li") else default)
               for name, (kind, default) in OPTIONS.items()}
    for child in config_elem:
        if not isinstance(child.tag, str):
            continue
        tag, text = child.tag, (child.text or "").strip()
        cfg.raw[tag] = text
        if tag in _CONVERTED:
            target, fn = _CONVERTED[tag]
            value = fn(_convert("f", text, tag, path))
            if target in options:
                options[target] = value
            else:
                setattr(cfg, target, value)
            continue
        spec = OPTIONS.get(tag)
        if spec is None:
            continue
        kind = spec[0]
        if kind == "b":
            options[tag] = parse_bool(child)
        elif kind in ("ls", "li"):
            options[tag].append(_convert(kind, text, tag, path))
        else:
            options[tag] = _convert(kind, text, tag, path)

    for name in ("min_core_client_version", "min_core_client_version_announced"):
        if 0 < options[name] < 10000:      # given as maj*100+min: scale as BOINC
            options[name] *= 100
    if options["no_amd_k6"]:
        options["ban_cpu"].append(".*AMD.*\t.*Family 5 Model 8 Stepping 0.*")
    if options["batch_accel"] and options["size_classes"]:
        raise ConfigError("%s: can't have both batch_accel and size_classes" % path)
    if options["db_host"] and options["db_host"] == os.uname().nodename:    # gethostname()
        options["db_host"] = "localhost"
    cfg.options = options
    if cfg.raw.get("project_dir"):      # BOINC lets config.xml pin the project dir
        cfg.project_dir = cfg.raw["project_dir"]

    for section, cls, attr in (("daemons", Daemon, "daemons"), ("tasks", Task, "tasks")):
        elem = root.find(section)
        if elem is None:
            continue
        tag = section[:-1]
        for child in elem.findall(tag):
            entry = _entry(cls, child)
            if entry is not None:
                getattr(cfg, attr).append(entry)
    return cfg


def load(project_dir=None):
    """Find the project directory as BOINC does and parse its config.xml."""
    project_dir = project_dir or paths.find_project_dir()
    return load_file(os.path.join(project_dir, paths.CONFIG_FILE), project_dir)


# A parsed config.xml, kept beside it in marshal's format: reading it takes a
# fraction of a millisecond, and a CGI program then imports neither lxml nor
# json (nor the re module json needs).  Whoever parses config.xml and may
# write the project dir (daemons, bin/ tools) refreshes it; it is used only
# while config.xml is unchanged (mtime, size).
CACHE_FILE = ".config_cache"
CACHE_VERSION = 2


def load_file(path, project_dir=None):
    """parse_config(path), through the cache when it is current."""
    project_dir = project_dir or os.path.dirname(os.path.abspath(path))
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError("can't read %s: %s" % (path, exc.strerror)) from None
    key = [CACHE_VERSION, os.path.abspath(path), st.st_mtime_ns, st.st_size]
    cache_path = os.path.join(project_dir, CACHE_FILE)
    try:
        with open(cache_path, "rb") as f:
            data = marshal.load(f)
        if data["key"] == key and data["project_dir"] == project_dir:
            return _from_cache(data)
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        pass
    cfg = parse_config(path, project_dir)
    data = dict(key=key, project_dir=project_dir, path=cfg.path,
                effective_dir=cfg.project_dir, options=cfg.options, raw=cfg.raw,
                daemons=[d.as_dict() for d in cfg.daemons],
                tasks=[t.as_dict() for t in cfg.tasks], delete_delay=cfg.delete_delay)
    tmp = "%s.%d" % (cache_path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            marshal.dump(data, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, cache_path)
    except OSError:             # not ours to write (Apache's user): fine
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return cfg


def _from_cache(data):
    return Config(data["path"], data["effective_dir"], data["options"], data["raw"],
                  [Daemon(**d) for d in data["daemons"]], [Task(**t) for t in data["tasks"]],
                  data["delete_delay"])


# ---------------------------------------------------------------- project.xml

class ProjectXml:
    def __init__(self):
        self.platforms = []     # dicts: name, user_friendly_name
        self.apps = []          # dicts: name, user_friendly_name, ...


def parse_project_xml(path):
    """Read project.xml: the ``<platform>`` and ``<app>`` entries xadd adds."""
    try:
        root = parse_file(path)
    except OSError as exc:
        raise ConfigError("can't read %s: %s" % (path, exc.strerror)) from None
    except XMLError as exc:
        raise ConfigError("%s is not well-formed XML: %s" % (path, exc)) from None
    result = ProjectXml()
    for kind, target in (("platform", result.platforms), ("app", result.apps)):
        for elem in root.iter(kind):
            item = {c.tag: (c.text or "").strip() for c in elem if isinstance(c.tag, str)}
            if not item.get("name"):
                raise ConfigError("%s: a <%s> without <name>" % (path, kind))
            target.append(item)
    return result


def write_xml(root, path, mode=None):
    """Write an lxml tree to ``path`` atomically, pretty-printed."""
    from lxml import etree
    tmp = path + ".tmp%d" % os.getpid()
    etree.ElementTree(root).write(tmp, pretty_print=True, encoding="utf-8")
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)
