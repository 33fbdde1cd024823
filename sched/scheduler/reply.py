"""``<scheduler_reply>``: what we tell the client, written as BOINC writes it.

Element order and number formats follow BOINC's scheduler, so a reply of
ours and one of BOINC's for the same situation differ only in ids, times
and names.
"""

from .. import SCHEDULER_VERSION
from ..md5 import md5_hex
from ..record import Record
from ..xmlutil import escape

DELAY_MAX = 2 * 86400


def weak_auth(user):
    """``ID_md5(authenticator + passwd_hash)``: the account key that can't log in."""
    return "%d_%s" % (user["id"], md5_hex(user["authenticator"] + user["passwd_hash"]))


def rss_auth(user):
    return "%d_%s" % (user["id"], md5_hex(user["authenticator"] + user["passwd_hash"]
                                          + "notify_rss"))


class Reply(Record):
    request_delay = 0.0
    project_is_down = False
    nucleus_only = False
    user = None
    host = None
    team = None
    new_hostid = 0                 # sent only when the host was (re)assigned
    email_hash = ""
    send_global_prefs = False
    code_sign_key = ""
    code_sign_key_signature = ""
    message_ack = False
    njobs_sent = 0

    def __init__(self, **values):
        self.messages = []          # (priority, text)
        self.result_acks = []
        self.result_aborts = []
        self.result_aborts_if_not_started = []
        self.apps = []              # dicts, unique by id
        self.app_versions = []      # XML text, unique by id
        self.workunits = []         # XML text
        self.results = []           # XML text
        self.msgs_to_host = []      # raw XML
        self.file_deletes = []
        self.no_rsc_apps = []
        self._ids = set()
        super().__init__(**values)

    def set_delay(self, delay):
        self.request_delay = min(max(self.request_delay, delay), DELAY_MAX)

    def message(self, text, priority="low"):
        self.messages.append((priority, text))

    def add_unique(self, kind, ident, item):
        key = (kind, ident)
        if key not in self._ids:
            self._ids.add(key)
            getattr(self, kind).append(item)


def project_down(message, delay, ended=False):
    """The short reply BOINC sends before it gets to a request (text/plain)."""
    return ("<scheduler_reply>\n"
            "    <message priority=\"low\">%s</message>\n"
            "    <request_delay>%d</request_delay>\n"
            "    <project_is_down/>\n"
            "%s</scheduler_reply>\n" % (escape(message), int(delay),
                                        "    <ended>1</ended>\n" if ended else ""))


_GUI_TOKENS = frozenset(("authenticator", "hostid", "master_url", "project_name", "rss_auth",
                         "teamid", "team_name", "userid", "user_name", "weak_auth"))


def _drop_ifteam(text):
    """``<ifteam>...</ifteam>`` sections removed (the user has no team)."""
    parts, pos = [], 0
    while True:
        start = text.find("<ifteam>", pos)
        stop = text.find("</ifteam>", start + 8) if start >= 0 else -1
        if stop < 0:
            break
        parts.append(text[pos:start])
        pos = stop + 9
    parts.append(text[pos:])
    return "".join(parts)


def gui_urls(template, cfg, user, host, team):
    """gui_urls.xml with its ``<token/>``s filled in (once: values are not rescanned)."""
    if not template:
        return ""
    text = template
    if not (user and user.get("teamid")):
        text = _drop_ifteam(text)
    values = {
        "authenticator": user["authenticator"], "hostid": str(host["id"]),
        "master_url": cfg.master_url, "project_name": cfg.long_name,
        "rss_auth": rss_auth(user), "teamid": str(team["id"]) if team else "0",
        "team_name": escape(team["name"]) if team else "", "userid": str(user["id"]),
        "user_name": escape(user["name"]), "weak_auth": weak_auth(user),
    }
    pieces = text.split("<")
    for i in range(1, len(pieces)):
        token, slash, rest = pieces[i].partition("/>")
        pieces[i] = values[token] + rest if slash and token in _GUI_TOKENS \
            else "<" + pieces[i]
    return "".join(pieces)


def write(reply, req, cfg, gui_urls_text="", project_files_text=""):
    """The reply body (without the Content-type header)."""
    out = ["<scheduler_reply>\n<scheduler_version>%d</scheduler_version>\n"
           % SCHEDULER_VERSION]
    w = out.append
    version = req.core_client_version if req else 0
    if version >= 70028:
        w("<dont_use_dcf/>\n")
    if cfg.master_url:
        w("<master_url>%s</master_url>\n" % cfg.master_url)
    if cfg.ended:
        w("   <ended>1</ended>\n")
    if reply.request_delay or cfg.min_sendwork_interval:
        needed = max(1.01 * cfg.min_sendwork_interval, cfg.min_sendwork_interval + 1)
        if cfg.min_sendwork_interval and reply.request_delay < needed:
            reply.request_delay = needed
        w("<request_delay>%f</request_delay>\n" % reply.request_delay)
    for priority, text in reply.messages:
        if version and version <= 61100 and priority == "notice":
            priority = "high"
        w('<message priority="%s">%s</message>\n' % (priority, escape(text)))
    w("<project_name>%s</project_name>\n" % cfg.long_name)
    if reply.project_is_down:
        w("<project_is_down/>\n")
    elif not reply.nucleus_only:
        _write_body(reply, cfg, w, version, gui_urls_text, project_files_text)
    w("</scheduler_reply>\n")
    return "".join(out)


def _write_body(reply, cfg, w, version, gui_urls_text, project_files_text):
    user, host, team = reply.user, reply.host or {}, reply.team
    if cfg.symstore:
        w("<symstore>%s</symstore>\n" % cfg.symstore)
    if cfg.next_rpc_delay:
        w("<next_rpc_delay>%f</next_rpc_delay>\n" % cfg.next_rpc_delay)
    if user:
        w("<userid>%d</userid>\n<user_name>%s</user_name>\n"
          "<user_total_credit>%f</user_total_credit>\n"
          "<user_expavg_credit>%f</user_expavg_credit>\n"
          "<user_create_time>%d</user_create_time>\n"
          % (user["id"], escape(user["name"]), user["total_credit"],
             user["expavg_credit"], user["create_time"]))
        if reply.email_hash:
            w("<email_hash>%s</email_hash>\n" % reply.email_hash)
        if user["cross_project_id"]:
            w("<cross_project_id>%s</cross_project_id>\n<external_cpid>%s</external_cpid>\n"
              % (user["cross_project_id"],
                 md5_hex(user["cross_project_id"] + user["email_addr"])))
        if reply.send_global_prefs:
            w(_text(user["global_prefs"]) + "\n")
        w(_text(user["project_prefs"]) + "\n")
    if reply.new_hostid:
        w("<hostid>%d</hostid>\n" % reply.new_hostid)
    w("<host_total_credit>%f</host_total_credit>\n<host_expavg_credit>%f</host_expavg_credit>\n"
      "<host_venue>%s</host_venue>\n<host_create_time>%d</host_create_time>\n"
      % (host.get("total_credit", 0.0), host.get("expavg_credit", 0.0),
         host.get("venue", ""), host.get("create_time", 0)))
    if team:
        w("<teamid>%d</teamid>\n<team_name>%s</team_name>\n" % (team["id"],
                                                               escape(team["name"])))
    else:
        w("<team_name></team_name>\n")
    for tag, names in (("result_ack", reply.result_acks),
                       ("result_abort", reply.result_aborts),
                       ("result_abort_if_not_started", reply.result_aborts_if_not_started)):
        for name in names:
            w("<%s>\n    <name>%s</name>\n</%s>\n" % (tag, escape(name), tag))
    for app in reply.apps:
        w("<app>\n    <name>%s</name>\n    <user_friendly_name>%s</user_friendly_name>\n"
          "    <non_cpu_intensive>%d</non_cpu_intensive>\n"
          "    <fraction_done_exact>%d</fraction_done_exact>\n</app>\n"
          % (app["name"], app["user_friendly_name"], 1 if app["non_cpu_intensive"] else 0,
             1 if app["fraction_done_exact"] else 0))
    for xml in reply.app_versions:
        w(xml)
    for xml in reply.workunits:
        w(xml + "\n")
    for xml in reply.results:
        w(xml)
    if reply.code_sign_key:
        w("<code_sign_key>\n%s\n</code_sign_key>\n" % reply.code_sign_key)
    if reply.code_sign_key_signature:
        w("<code_sign_key_signature>\n%s</code_sign_key_signature>\n"
          % reply.code_sign_key_signature)
    if reply.message_ack:
        w("<message_ack/>\n")
    for xml in reply.msgs_to_host:
        w(xml + "\n")
    if cfg.non_cpu_intensive:
        w("<non_cpu_intensive/>\n")
    if cfg.strict_memory_bound:
        w("<strict_memory_bound/>\n")
    if cfg.verify_files_on_app_start:
        w("<verify_files_on_app_start/>\n")
    for name in reply.file_deletes:
        w("<delete_file_info>%s</delete_file_info>\n" % escape(name))
    for kind in reply.no_rsc_apps:
        w("<no_rsc_apps>%s</no_rsc_apps>\n" % kind)
    if user and gui_urls_text:
        w(gui_urls(gui_urls_text, cfg, user, host, team))
    if project_files_text:
        w(project_files_text + "\n")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def app_version_xml(av, platform_name, usage):
    """An app version as sent: stored xml_doc up to ``</app_version>``, plus usage.

    ``usage``: dict with avg_ncpus, projected_flops, and optionally cmdline, coproc
    (type, count) and gpu_ram.
    """
    doc = av["xml_doc"]
    cut = doc.find("</app_version>")
    if cut < 0:
        return None
    parts = [doc[:cut], "    <platform>%s</platform>\n" % platform_name]
    if av["plan_class"]:
        parts.append("    <plan_class>%s</plan_class>\n" % av["plan_class"])
    parts.append("    <avg_ncpus>%f</avg_ncpus>\n    <flops>%f</flops>\n"
                 % (usage["avg_ncpus"], usage["projected_flops"]))
    if usage.get("cmdline"):
        parts.append("    <cmdline>%s</cmdline>\n" % usage["cmdline"])
    if usage.get("coproc"):
        parts.append("    <coproc>\n        <type>%s</type>\n        <count>%f</count>\n"
                     "    </coproc>\n" % usage["coproc"])
    if usage.get("gpu_ram"):
        parts.append("    <gpu_ram>%f</gpu_ram>\n" % usage["gpu_ram"])
    parts.append("</app_version>\n")
    return "".join(parts)


def result_xml(xml_doc_in, platform_name, version_num, plan_class):
    """A result as sent: stored xml_doc_in up to ``</result>`` plus its version."""
    cut = xml_doc_in.find("</result>")
    if cut < 0:
        return None
    return ("%s\n    <platform>%s</platform>\n    <version_num>%d</version_num>\n"
            "    <plan_class>%s</plan_class>\n</result>\n"
            % (xml_doc_in[:cut], platform_name, version_num, plan_class))
