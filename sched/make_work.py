"""make_work: keep a cushion of unsent results by cloning template workunits.

For testing, as BOINC's sched/make_work.cpp: while the first template's app
has at most ``--cushion`` results that are not yet sent (server_state <=
UNSENT), insert copies of the templates (round robin) until their
``target_nresults`` cover the shortfall, then wait for the transitioner to
make results for the last copy.  Copies are named ``wu_<start>_<seq>``;
each input file gets the new name ``<name>__<start>_<seq>`` in its
``<name>`` and ``<file_name>`` elements while its URL stays the same, so
clients fetch the template's file under a fresh name -- no file is copied
(BOINC's program renames only the last input file of a multi-file
workunit, a slip we don't copy).  ``--max_wus`` stops (exit 0) once the
workunit table holds that many rows.
"""

import re
import time

from . import crypt
from . import states
from .daemon import Daemon, Stop
from .errors import BoincError

# Columns a clone gets from its template, i.e. all but id and mod_time.
COLUMNS = (
    "create_time", "appid", "name", "xml_doc", "batch", "rsc_fpops_est", "rsc_fpops_bound",
    "rsc_memory_bound", "rsc_disk_bound", "need_validate", "canonical_resultid",
    "canonical_credit", "transition_time", "delay_bound", "error_mask", "file_delete_state",
    "assimilate_state", "hr_class", "opaque", "min_quorum", "target_nresults",
    "max_error_results", "max_total_results", "max_success_results", "result_template_file",
    "priority", "rsc_bandwidth_bound", "fileset_id", "app_version_id", "transitioner_flags",
    "size_class", "keywords", "app_version_num",
)
_INSERT = "INSERT INTO workunit (%s) VALUES (%s)" % (
    ", ".join(COLUMNS), ", ".join(["%s"] * len(COLUMNS)))
_NAME = re.compile(r"<name>\s*(.*?)\s*</name>", re.S)


def rename_file(xml_doc, old, new):
    """Replace ``old`` by ``new`` as the content of <name> and <file_name>."""
    pattern = re.compile(r"<(name|file_name)>(\s*)%s(\s*)</\1>" % re.escape(old))
    return pattern.sub(lambda m: "<%s>%s%s%s</%s>" % (m.group(1), m.group(2), new,
                                                       m.group(3), m.group(1)), xml_doc)


class MakeWork(Daemon):
    name = "make_work"
    description = ("Create WU and result records as needed to maintain a pool of work "
                   "(for testing purposes).  Clones the WU of the given name.")
    sleep_interval = 10.0       # also between looks for the transitioner's results

    def add_arguments(self, p):
        p.add("wu_name", action="append", default=[], metavar="NAME",
              help="the template WU (repeatable: used in turn)")
        p.add("cushion", type=int, default=300, metavar="N",
              help="make work if at most N results are unsent (default 300)")
        p.add("max_wus", type=int, default=0, metavar="N",
              help="exit once the workunit table has N rows (0: no limit)")
        p.add("credit_from_wu", action="store_true",
              help="copy canonical_credit from the template")

    def setup(self):
        args = self.args
        if not args.wu_name:
            raise BoincError("Must supply at least one WU name (--wu_name NAME)")
        self.log.normal("Starting: cushion %d, max_wus %d", args.cushion, args.max_wus)
        self.templates = []
        for name in args.wu_name:
            row = self.db.query_one("SELECT * FROM workunit WHERE name=%s", (name,))
            if row is None:
                raise BoincError("can't find wu %s" % name)
            if isinstance(row["xml_doc"], bytes):
                row["xml_doc"] = row["xml_doc"].decode("utf-8", "replace")
            self.templates.append(row)
        # BOINC's make_work insists on the key, though the results are the
        # transitioner's to make.
        path = self.config.key_path("upload_private")
        try:
            crypt.read_private_key(path)
        except BoincError as exc:
            raise BoincError("can't read key %s: %s" % (path, exc)) from None
        self.start_time = int(time.time())
        self.wu_seq = 0
        self.file_seq = 0
        self.next_template = 0

    def do_pass(self):
        args, db = self.args, self.db
        unsent = db.scalar("SELECT COUNT(*) FROM result WHERE server_state<=%s AND appid=%s",
                           (states.RESULT_SERVER_STATE_UNSENT, self.templates[0]["appid"]))
        total = db.scalar("SELECT COUNT(*) FROM workunit") if args.max_wus else 0
        self.log.debug("unsent: %d cushion: %d", unsent, args.cushion)
        if unsent > args.cushion:
            return False
        needed = args.cushion - unsent
        while True:         # at least one, as BOINC
            template = self.templates[self.next_template]
            self.next_template = (self.next_template + 1) % len(self.templates)
            if args.max_wus and total >= args.max_wus:
                self.log.normal("Reached max_wus = %d", args.max_wus)
                raise Stop()
            total += 1
            new_id = self.clone(template)
            needed -= template["target_nresults"]
            if needed <= 0:
                break
        if not args.one_pass:
            self.wait_for_results(new_id)
        return True

    def clone(self, template):
        """Insert a copy of ``template``; return its id."""
        now = int(time.time())
        wu = dict(template)
        doc = template["xml_doc"] or ""
        for old in _NAME.findall(doc):
            new = "%s__%d_%d" % (old, self.start_time, self.file_seq)
            self.file_seq += 1
            wu["xml_doc"] = rename_file(wu["xml_doc"], old, new)
        wu.update(
            create_time=now, name="wu_%d_%d" % (self.start_time, self.wu_seq),
            need_validate=0, canonical_resultid=0, hr_class=0, transition_time=now,
            canonical_credit=template["canonical_credit"] if self.args.credit_from_wu else 0,
            error_mask=0, file_delete_state=states.FILE_DELETE_INIT,
            assimilate_state=states.ASSIMILATE_INIT)
        self.wu_seq += 1
        new_id = self.db.insert(_INSERT, [wu[c] for c in COLUMNS])
        self.log.debug("Created %s, clone of %s", wu["name"], template["name"])
        return new_id

    def wait_for_results(self, wu_id):
        """Don't run ahead of the transitioner: wait for a result of ``wu_id``."""
        while True:
            n = self.db.scalar("SELECT COUNT(*) FROM result WHERE workunitid=%s", (wu_id,))
            self.log.debug("result.count for %d returned %d", wu_id, n)
            if n:
                return
            self.sleep(self.sleep_interval)


def run():
    MakeWork.run()
