"""The feeder's job cache in SysV shared memory -- the one description of it.

(docs/shmem.md explains the same for readers of either side.)

The feeder (sched/feeder.py) creates a segment with key ``<shmem_key>`` and
a semaphore with key ``ftok(project_dir, 'a')`` (value 1, taken with
SEM_UNDO so a process that dies holding it gives it back).  Schedulers
attach with :meth:`JobCache.attach`, scan the slots, and claim one before
they touch the database.  The segment is only a cache: the DB stays the
truth, so every claimed job is re-checked there before it is sent.

Layout (version ``LAYOUT_VERSION``; native byte order, no padding)::

    offset 0             header (HEADER, in a HEADER_BYTES region)
    slots_offset         slot table: max_wu_results x SLOT (fixed size)
    texts_offset         text areas: max_wu_results x slot_text_bytes
    catalog_offset       catalog: catalog_capacity bytes, marshal, catalog_length used

Header: ``magic`` (MAGIC) and ``layout_version`` first, so a reader of
another layout refuses the segment with a clear message; sizes and offsets
(readers use these, never their own constants); ``ready`` (set after the
feeder's first fill); ``generation`` (bumped on every table scan:
start-up and each ``reread_db``); ``feeder_pid``; catalog counts and
capacities; ``app_weight_sum``, ``locality_sched_lite``, ``have_nci_app``,
``have_<type>_apps`` for the five processor types; host p_fpops mean,
stddev, 50th and 95th percentile (BOINC's defaults below 10 hosts).

Slot: ``state`` (0 EMPTY, 1 PRESENT, else the PID of the scheduler that
reserved it), ``infeasible_count``, ``need_reliable``, ``xml_overflow``,
the byte lengths of the four texts, ``resultid``, ``time_added``,
``res_priority``, ``res_server_state``, ``res_report_deadline``,
``fpops_size`` (job size in standard deviations, job_size_matching), then
every numeric workunit column (``id`` is called ``workunitid`` here).
The slot's text area holds name, keywords, result_template_file and
xml_doc back to back; an xml_doc that does not fit is left out and
``xml_overflow`` set: :meth:`JobCache.workunit` then reads it from the DB.

Catalog: ``{"platforms", "apps", "app_versions", "assignments"}``, each a
list of row dicts (all columns; blobs as text).  In ``app_versions``,
``deprecated`` has BOINC's in-memory meaning (``superseded`` is the same
flag): an older version kept only because of ``app.min_version``, usable
only by jobs pinned with ``app_version_num``.  Apps may carry
``size_class_quantiles``.  Readers cache the decoded catalog by generation.

Who writes what: the feeder fills EMPTY slots (contents first, then the
state, under the semaphore), purges stale PRESENT slots and resets slots
of dead PIDs, both under the semaphore.  A scheduler claims PRESENT ->
its PID (under the semaphore, only if the resultid is the one it scanned),
then either :meth:`JobCache.release` (PID -> PRESENT, job not sent) or
:meth:`JobCache.take` (PID -> EMPTY: sent, or no longer sendable).  Slot
contents are stable while the slot is reserved.  A PRESENT slot may hold
a result another process has sent meanwhile (the feeder works from a
buffered query), which is why the DB re-check is mandatory.
"""

import marshal
import os
import struct
import time

import sysv_ipc

from .errors import BoincError
from .record import tuple_type

MAGIC = b"PYBOINC\x00"
LAYOUT_VERSION = 2

EMPTY, PRESENT = 0, 1

# BOINC's error numbers (lib/error_numbers.h) for what goes wrong here.
ERR_SHMGET = -144
ERR_SCHED_SHMEM = -156
ERR_SEMGET = -165

PROC_TYPES = ("CPU", "NVIDIA GPU", "AMD/ATI GPU", "Intel GPU", "Apple GPU")
_PROC_KEYS = ("cpu", "nvidia", "amd", "intel", "apple")

# Catalog capacities: BOINC's compiled-in sizes, raised in config.xml with
# <shmem_max_platforms> etc. (our addition; BOINC needs a recompile).
DEFAULT_MAX = {"platforms": 50, "apps": 10, "app_versions": 100, "assignments": 10}
HEADER_BYTES = 4096
SLOT_TEXT_BYTES = 8192          # name+keywords+template name take at most 2032
CATALOG_BYTES = 4 << 20         # <shmem_catalog_bytes>; untouched pages cost nothing

# Host FLOPS statistics used when fewer than 10 hosts exist (PERF_INFO).
DEFAULT_PERF = (2.2e9, 0.7e9, 3.3e9, 3.3e9)

_HEADER_FIELDS = (
    ("magic", "8s"), ("layout_version", "I"), ("header_size", "I"),
    ("segment_size", "Q"), ("generation", "Q"), ("ready", "I"), ("feeder_pid", "i"),
    ("create_time", "d"), ("max_wu_results", "I"), ("slot_size", "I"),
    ("slot_text_bytes", "I"), ("slots_offset", "Q"), ("texts_offset", "Q"),
    ("catalog_offset", "Q"), ("catalog_capacity", "Q"), ("catalog_length", "Q"),
    ("nplatforms", "I"), ("napps", "I"), ("napp_versions", "I"), ("nassignments", "I"),
    ("max_platforms", "I"), ("max_apps", "I"), ("max_app_versions", "I"),
    ("max_assignments", "I"), ("app_weight_sum", "d"),
    ("locality_sched_lite", "B"), ("have_nci_app", "B"),
) + tuple(("have_%s_apps" % k, "B") for k in _PROC_KEYS) + (
    ("host_fpops_mean", "d"), ("host_fpops_stddev", "d"),
    ("host_fpops_50_percentile", "d"), ("host_fpops_95_percentile", "d"),
)

# Workunit columns kept in the slot header, in table order.
WU_NUMERIC = (
    ("id", "q"), ("create_time", "q"), ("appid", "q"), ("batch", "i"),
    ("rsc_fpops_est", "d"), ("rsc_fpops_bound", "d"), ("rsc_memory_bound", "d"),
    ("rsc_disk_bound", "d"), ("need_validate", "i"), ("canonical_resultid", "q"),
    ("canonical_credit", "d"), ("transition_time", "q"), ("delay_bound", "i"),
    ("error_mask", "i"), ("file_delete_state", "i"), ("assimilate_state", "i"),
    ("hr_class", "i"), ("opaque", "d"), ("min_quorum", "i"), ("target_nresults", "i"),
    ("max_error_results", "i"), ("max_total_results", "i"), ("max_success_results", "i"),
    ("priority", "i"), ("rsc_bandwidth_bound", "d"), ("fileset_id", "q"),
    ("app_version_id", "q"), ("transitioner_flags", "i"), ("size_class", "i"),
    ("app_version_num", "i"),
)
WU_TEXT = ("name", "keywords", "result_template_file", "xml_doc")
# Every workunit column but mod_time, in table order (the feeder's SELECT list).
WU_COLUMNS = (
    "id", "create_time", "appid", "name", "xml_doc", "batch", "rsc_fpops_est",
    "rsc_fpops_bound", "rsc_memory_bound", "rsc_disk_bound", "need_validate",
    "canonical_resultid", "canonical_credit", "transition_time", "delay_bound",
    "error_mask", "file_delete_state", "assimilate_state", "hr_class", "opaque",
    "min_quorum", "target_nresults", "max_error_results", "max_total_results",
    "max_success_results", "result_template_file", "priority", "rsc_bandwidth_bound",
    "fileset_id", "app_version_id", "transitioner_flags", "size_class", "keywords",
    "app_version_num",
)

_SLOT_FIELDS = (
    ("state", "i"), ("infeasible_count", "i"), ("need_reliable", "B"),
    ("xml_overflow", "B"), ("name_len", "H"), ("keywords_len", "H"), ("rtf_len", "H"),
    ("xml_len", "I"), ("resultid", "q"), ("time_added", "d"), ("res_priority", "i"),
    ("res_server_state", "i"), ("res_report_deadline", "d"), ("fpops_size", "d"),
) + tuple(("workunitid" if n == "id" else n, f) for n, f in WU_NUMERIC)

HEADER = struct.Struct("=" + "".join(f for _, f in _HEADER_FIELDS))
SLOT = struct.Struct("=" + "".join(f for _, f in _SLOT_FIELDS))
Header = tuple_type("Header", [n for n, _ in _HEADER_FIELDS])
_slot_type = []


def _slot():
    """:class:`Slot`: a slot as read, its index in the table, then the SLOT
    fields.  Made on first use (a scheduler RPC asking for no work reads no
    slot)."""
    if not _slot_type:
        _slot_type.append(tuple_type("Slot", ["index"] + [n for n, _ in _SLOT_FIELDS]))
    return _slot_type[0]


def __getattr__(name):
    if name == "Slot":
        return _slot()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))

_WU_NUM_NAMES = [n for n, _ in WU_NUMERIC]
_SLOT_NAMES = [n for n, _ in _SLOT_FIELDS]
_WU_FIRST = _SLOT_NAMES.index("workunitid")


def _offset(fields, name):
    fmt = "=" + "".join(f for n, f in fields[:[n for n, _ in fields].index(name)])
    return struct.calcsize(fmt)


_COLUMN_STRUCTS = {}         # field names -> their struct's iter_unpack (JobCache.columns)
_H_READY = _offset(_HEADER_FIELDS, "ready")
_H_GENERATION = _offset(_HEADER_FIELDS, "generation")
_H_CATALOG_LENGTH = _offset(_HEADER_FIELDS, "catalog_length")
_S_INFEASIBLE = _offset(_SLOT_FIELDS, "infeasible_count")
_S_RESULTID = _offset(_SLOT_FIELDS, "resultid")
_S_FPOPS_SIZE = _offset(_SLOT_FIELDS, "fpops_size")
_SHM_DEST = 0o1000          # shm_perm.mode bit: marked for removal
_I32 = struct.Struct("=i")
_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
_F64 = struct.Struct("=d")
_I64 = struct.Struct("=q")


class ShmemError(BoincError):
    """The cache can't be used; ``code`` is BOINC's error number for it."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def semaphore_key(project_dir):
    """The semaphore's key: ``ftok(project_dir, 'a')`` as BOINC's get_key."""
    return sysv_ipc.ftok(project_dir, ord("a"), silence_warning=True)


def plan_class_to_proc_type(plan_class):
    """Index into PROC_TYPES of the processor a plan class runs on (BOINC's rule)."""
    for needles, kind in ((("cuda", "nvidia"), 1), (("ati", "amd"), 2),
                          (("intel_gpu",), 3), (("apple_gpu",), 4)):
        if any(n in plan_class for n in needles):
            return kind
    return 0


def _align(n, to):
    return (n + to - 1) // to * to


class Catalog:
    """Platforms, apps, app versions and assignments as the feeder read them."""

    def __init__(self, generation, data, header):
        self.generation = generation
        self.platforms = data["platforms"]
        self.apps = data["apps"]
        self.app_versions = data["app_versions"]
        self.assignments = data["assignments"]
        self.app_weight_sum = header.app_weight_sum
        self.have_nci_app = bool(header.have_nci_app)
        self.locality_sched_lite = bool(header.locality_sched_lite)
        self.have_apps_for_proc_type = [bool(getattr(header, "have_%s_apps" % k))
                                        for k in _PROC_KEYS]
        self.perf = dict(host_fpops_mean=header.host_fpops_mean,
                         host_fpops_stddev=header.host_fpops_stddev,
                         host_fpops_50_percentile=header.host_fpops_50_percentile,
                         host_fpops_95_percentile=header.host_fpops_95_percentile)
        self._apps = {a["id"]: a for a in self.apps}
        self._platforms = {p["name"]: p for p in self.platforms}
        self._avs = {av["id"]: av for av in self.app_versions}
        self._by_app_platform = {}
        for av in self.app_versions:
            self._by_app_platform.setdefault((av["appid"], av["platformid"]), []).append(av)

    def app(self, appid):
        return self._apps.get(appid)

    def app_by_name(self, name):
        return next((a for a in self.apps if a["name"] == name), None)

    def platform_by_name(self, name):
        return self._platforms.get(name)

    def app_version(self, avid):
        return self._avs.get(avid)

    def app_versions_for(self, appid, platformid):
        """The cached versions of an app for a platform (newest per plan class,
        plus older ones kept by ``min_version``, flagged ``deprecated``)."""
        return self._by_app_platform.get((appid, platformid), [])


class JobCache:
    """A process's view of the segment.  Schedulers get one from :meth:`attach`."""

    def __init__(self, shm, sem, key):
        self.key = key
        self._shm = shm
        self._sem = sem
        self._mv = memoryview(shm)
        self._catalog = None
        h = self.header()
        self.max_wu_results = h.max_wu_results
        self._slots_off = h.slots_offset
        self._slot_size = h.slot_size
        self._texts_off = h.texts_offset
        self._text_bytes = h.slot_text_bytes
        self._catalog_off = h.catalog_offset

    @classmethod
    def attach(cls, cfg):
        """Attach the feeder's segment and semaphore named by ``cfg``.

        Raises :class:`ShmemError` with ``code`` ERR_SHMGET (-144) when there
        is no segment -- the scheduler then logs ``Can't attach shmem: -144
        (feeder not running?)`` -- and ERR_SCHED_SHMEM for a foreign layout.
        """
        key = cfg.shmem_key
        if not key:
            raise ShmemError(ERR_SHMGET, "%s has no <shmem_key>" % cfg.path)
        try:
            shm = sysv_ipc.SharedMemory(key)
        except sysv_ipc.ExistentialError:
            raise ShmemError(ERR_SHMGET, "can't attach shmem: no segment with key 0x%x "
                             "(feeder not running?)" % key) from None
        except sysv_ipc.Error as exc:
            raise ShmemError(ERR_SHMGET, "can't attach shmem: key 0x%x: %s" % (key, exc)) from None
        try:
            check_layout(shm, key)
            sem = sysv_ipc.Semaphore(semaphore_key(cfg.project_dir))
        except sysv_ipc.Error as exc:
            shm.detach()
            raise ShmemError(ERR_SEMGET, "can't attach the feeder's semaphore "
                             "(ftok(%s, 'a')): %s (feeder not running?)"
                             % (cfg.project_dir, exc)) from None
        except BaseException:
            shm.detach()
            raise
        sem.undo = True
        return cls(shm, sem, key)

    def detach(self):
        if self._mv is not None:
            self._mv.release()
            self._mv = None
            try:
                self._shm.detach()
            except sysv_ipc.Error:
                pass

    # -- header
    def header(self):
        return Header._make(HEADER.unpack_from(self._mv, 0))

    @property
    def ready(self):
        """True once the feeder has made its first pass (and until it exits)."""
        return _U32.unpack_from(self._mv, _H_READY)[0] != 0

    @property
    def removed(self):
        """True once the feeder has removed the segment (it exited or restarted):
        a long-lived process then detaches and attaches again."""
        try:
            return bool(self._shm.mode & _SHM_DEST)
        except sysv_ipc.Error:
            return True

    @property
    def generation(self):
        return _U64.unpack_from(self._mv, _H_GENERATION)[0]

    def catalog(self):
        """The decoded catalog; decoded again only when the generation moved."""
        cached = self._catalog
        if cached is not None and cached.generation == self.generation:
            return cached
        if not self._lock():
            raise ShmemError(ERR_SEMGET, "shmem key 0x%x: the feeder's semaphore is gone "
                             "(feeder stopped?)" % self.key)
        try:
            header = self.header()
            raw = bytes(self._mv[self._catalog_off:self._catalog_off + header.catalog_length])
        finally:
            self._unlock()
        data = marshal.loads(raw) if raw else {"platforms": [], "apps": [],
                                               "app_versions": [], "assignments": []}
        self._catalog = Catalog(header.generation, data, header)
        return self._catalog

    # -- the semaphore; it vanishes when the feeder exits
    def _lock(self):
        try:
            self._sem.acquire()
            return True
        except sysv_ipc.Error:
            return False

    def _unlock(self):
        try:
            self._sem.release()
        except sysv_ipc.Error:
            pass

    # -- slots
    def _off(self, slot):
        i = slot[0] if isinstance(slot, tuple) else slot
        if not 0 <= i < self.max_wu_results:
            raise IndexError("slot %d out of range (0..%d)" % (i, self.max_wu_results - 1))
        return self._slots_off + i * self._slot_size

    def slots(self):
        """Every slot (EMPTY, PRESENT and reserved), read in one go."""
        end = self._slots_off + self.max_wu_results * self._slot_size
        data = bytes(self._mv[self._slots_off:end])
        make = _slot()._make
        return [make((i,) + t) for i, t in enumerate(SLOT.iter_unpack(data))]

    def columns(self, *names):
        """For every slot, in order, the tuple of the SLOT fields ``names``
        (given in slot order): one pass over a copy of the slot table that
        skips the other fields, for looks at a large cache that don't need
        whole slots."""
        unpack = _COLUMN_STRUCTS.get(names)
        if unpack is None:
            fmt = "=" + "".join(f if n in names else "%dx" % struct.calcsize("=" + f)
                                for n, f in _SLOT_FIELDS)
            unpack = _COLUMN_STRUCTS[names] = struct.Struct(fmt).iter_unpack
        end = self._slots_off + self.max_wu_results * self._slot_size
        return list(unpack(bytes(self._mv[self._slots_off:end])))

    def count_empty(self):
        """How many slots are EMPTY (a cheap look, for the feeder's sleep)."""
        return sum(1 for (state,) in self.columns("state") if state == EMPTY)

    def present(self):
        """``(index, resultid, res_priority, infeasible_count)`` of each PRESENT
        slot: what choosing among them needs (then :meth:`slot` reads one)."""
        return [(i, resultid, priority, infeasible) for i, (state, infeasible, resultid, priority)
                in enumerate(self.columns("state", "infeasible_count", "resultid",
                                          "res_priority")) if state == PRESENT]

    def present_slots(self):
        """The PRESENT slots as :class:`Slot` tuples (``.index`` is the slot)."""
        end = self._slots_off + self.max_wu_results * self._slot_size
        data = bytes(self._mv[self._slots_off:end])
        make = _slot()._make
        return [make((i,) + t) for i, t in enumerate(SLOT.iter_unpack(data)) if t[0] == PRESENT]

    def slot(self, slot):
        i = slot[0] if isinstance(slot, tuple) else slot
        return _slot()._make((i,) + SLOT.unpack_from(self._mv, self._off(slot)))

    def claim(self, slot, expected_resultid=None, pid=None):
        """Reserve ``slot`` for ``pid`` (default: this process).

        True only if the slot is still PRESENT and still holds
        ``expected_resultid`` (default: the resultid of a :class:`Slot`).
        False too when the feeder has gone away meanwhile.
        """
        off = self._off(slot)
        if expected_resultid is None:
            expected_resultid = slot.resultid
        pid = os.getpid() if pid is None else pid
        if pid <= PRESENT:
            raise ValueError("a PID must be > 1, not %d" % pid)
        mv = self._mv
        if not self._lock():
            return False
        try:
            if (_I32.unpack_from(mv, off)[0] != PRESENT
                    or _I64.unpack_from(mv, off + _S_RESULTID)[0] != expected_resultid):
                return False
            _I32.pack_into(mv, off, pid)
            return True
        finally:
            self._unlock()

    def _from_pid(self, slot, pid, new_state):
        off = self._off(slot)
        pid = os.getpid() if pid is None else pid
        if not self._lock():
            return False
        try:
            if _I32.unpack_from(self._mv, off)[0] != pid:
                return False
            _I32.pack_into(self._mv, off, new_state)
            return True
        finally:
            self._unlock()

    def release(self, slot, pid=None):
        """Give a reserved slot back (PID -> PRESENT): the job was not sent."""
        return self._from_pid(slot, pid, PRESENT)

    def take(self, slot, pid=None):
        """Empty a reserved slot (PID -> EMPTY): sent, or no longer sendable."""
        return self._from_pid(slot, pid, EMPTY)

    def note_infeasible(self, slot):
        """Count one more host the job didn't fit (raises its score later)."""
        off = self._off(slot) + _S_INFEASIBLE
        _I32.pack_into(self._mv, off, _I32.unpack_from(self._mv, off)[0] + 1)

    def workunit(self, slot, db=None):
        """The slot's workunit as a dict of its columns (``id``, ``name``, ...).

        ``xml_doc`` is text; None when it did not fit the slot and no ``db``
        was given to read it from.  Stable only while you hold the slot.
        """
        s = self.slot(slot)
        wu = dict(zip(_WU_NUM_NAMES, s[1 + _WU_FIRST:]))
        start = self._texts_off + s.index * self._text_bytes
        raw = bytes(self._mv[start:start + s.name_len + s.keywords_len + s.rtf_len + s.xml_len])
        a = s.name_len
        b = a + s.keywords_len
        c = b + s.rtf_len
        wu["name"] = raw[:a].decode("utf-8", "replace")
        wu["keywords"] = raw[a:b].decode("utf-8", "replace")
        wu["result_template_file"] = raw[b:c].decode("utf-8", "replace")
        if s.xml_overflow:
            wu["xml_doc"] = None
            if db is not None:
                doc = db.scalar("SELECT xml_doc FROM workunit WHERE id=%s", (s.workunitid,))
                if isinstance(doc, bytes):
                    doc = doc.decode("utf-8", "replace")
                wu["xml_doc"] = doc
        else:
            wu["xml_doc"] = raw[c:].decode("utf-8", "replace")
        return wu


def check_layout(shm, key):
    """Refuse a segment that is not ours or of another layout version."""
    head = shm.read(12, 0)
    magic, version = head[:8], struct.unpack("=I", head[8:12])[0]
    if magic != MAGIC:
        if magic == b"\0" * 8:
            raise ShmemError(ERR_SCHED_SHMEM, "shmem key 0x%x: the segment is not "
                             "initialised yet (feeder starting?)" % key)
        raise ShmemError(ERR_SCHED_SHMEM, "shmem key 0x%x was not made by this feeder "
                         "(BOINC's C++ feeder, or another program, owns the key): stop it "
                         "or choose another <shmem_key>" % key)
    if version != LAYOUT_VERSION:
        raise ShmemError(ERR_SCHED_SHMEM, "shmem key 0x%x has layout version %d, this "
                         "program reads version %d: restart the feeder from this "
                         "installation (bin/stop; bin/start)" % (key, version, LAYOUT_VERSION))


class FeederCache(JobCache):
    """The feeder's side: create, fill, publish, destroy."""

    @classmethod
    def create(cls, cfg, nslots, max_counts=None, catalog_capacity=CATALOG_BYTES,
               slot_text_bytes=SLOT_TEXT_BYTES):
        """Destroy any old semaphore and segment, then make new ones (0666)."""
        key = cfg.shmem_key
        if not key:
            raise BoincError("%s has no <shmem_key>: add one, e.g. <shmem_key>0x1111abcd"
                             "</shmem_key>" % cfg.path)
        if nslots < 1:
            raise BoincError("%s: <shmem_work_items> must be at least 1" % cfg.path)
        slot_text_bytes = max(slot_text_bytes, 4096)
        max_counts = dict(DEFAULT_MAX, **(max_counts or {}))
        sem_key = semaphore_key(cfg.project_dir)
        destroy(key, sem_key)

        slots_off = HEADER_BYTES
        texts_off = _align(slots_off + nslots * SLOT.size, 64)
        catalog_off = _align(texts_off + nslots * slot_text_bytes, 4096)
        size = catalog_off + catalog_capacity
        try:
            shm = sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, mode=0o666, size=size,
                                        init_character=b"\0")
        except sysv_ipc.Error as exc:
            raise BoincError("can't create shmem: key 0x%x, %d bytes: %s (lower "
                             "<shmem_work_items> or raise kernel.shmmax)"
                             % (key, size, exc)) from None
        header = dict(
            magic=MAGIC, layout_version=LAYOUT_VERSION, header_size=HEADER_BYTES,
            segment_size=size, generation=0, ready=0, feeder_pid=os.getpid(),
            create_time=time.time(), max_wu_results=nslots,
            slot_size=SLOT.size, slot_text_bytes=slot_text_bytes, slots_offset=slots_off,
            texts_offset=texts_off, catalog_offset=catalog_off,
            catalog_capacity=catalog_capacity, catalog_length=0, nplatforms=0, napps=0,
            napp_versions=0, nassignments=0,
            max_platforms=max_counts["platforms"], max_apps=max_counts["apps"],
            max_app_versions=max_counts["app_versions"],
            max_assignments=max_counts["assignments"], app_weight_sum=0.0,
            locality_sched_lite=0, have_nci_app=0, **{"have_%s_apps" % k: 0 for k in _PROC_KEYS},
            host_fpops_mean=DEFAULT_PERF[0], host_fpops_stddev=DEFAULT_PERF[1],
            host_fpops_50_percentile=DEFAULT_PERF[2], host_fpops_95_percentile=DEFAULT_PERF[3])
        mv = memoryview(shm)
        HEADER.pack_into(mv, 0, *[header[name] for name in Header._fields])
        mv.release()
        try:
            sem = sysv_ipc.Semaphore(sem_key, sysv_ipc.IPC_CREX, mode=0o666, initial_value=1)
        except sysv_ipc.Error as exc:
            shm.detach()
            shm.remove()
            raise BoincError("can't create semaphore ftok(%s, 'a'): %s"
                             % (cfg.project_dir, exc)) from None
        sem.undo = True
        cache = cls(shm, sem, key)
        cache.sem_key = sem_key
        return cache

    def _set(self, name, value):
        fields = _HEADER_FIELDS
        off = _offset(fields, name)
        fmt = dict(fields)[name]
        struct.pack_into("=" + fmt, self._mv, off, value)

    def set_ready(self, ready=True):
        _U32.pack_into(self._mv, _H_READY, 1 if ready else 0)

    def write_catalog(self, data, summary):
        """Store a new catalog and its header summary; bump the generation.

        ``summary``: header field -> value (counts, flags, perf).  Raises
        BoincError when the encoded catalog exceeds the catalog area.
        """
        raw = marshal.dumps(data)
        capacity = self.header().catalog_capacity
        if len(raw) > capacity:
            raise BoincError("the app/app_version catalog needs %d bytes of shared memory, "
                             "more than the %d of the catalog area: deprecate old app "
                             "versions or raise <shmem_catalog_bytes> in config.xml, then "
                             "restart the feeder" % (len(raw), capacity))
        self._sem.acquire()
        try:
            self._mv[self._catalog_off:self._catalog_off + len(raw)] = raw
            _U64.pack_into(self._mv, _H_CATALOG_LENGTH, len(raw))
            for name, value in summary.items():
                self._set(name, value)
            _U64.pack_into(self._mv, _H_GENERATION, self.generation + 1)
        finally:
            self._sem.release()

    def put(self, index, resultid, res_priority, res_server_state, res_report_deadline,
            wu, infeasible_count, need_reliable, time_added):
        """Write a job into EMPTY slot ``index`` (still EMPTY: see publish)."""
        texts = [(wu.get(n) or "") for n in WU_TEXT[:3]]
        texts = [t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in texts]
        xml = wu.get("xml_doc") or b""
        if isinstance(xml, str):
            xml = xml.encode("utf-8")
        used = sum(len(t) for t in texts)
        if used > self._text_bytes:     # only a non-BOINC schema can get here
            texts = [t[:self._text_bytes // 3] for t in texts]
            used = sum(len(t) for t in texts)
        overflow = used + len(xml) > self._text_bytes
        if overflow:
            xml = b""
        start = self._texts_off + index * self._text_bytes
        blob = b"".join(texts) + xml
        self._mv[start:start + len(blob)] = blob
        values = (EMPTY, infeasible_count, 1 if need_reliable else 0, 1 if overflow else 0,
                  len(texts[0]), len(texts[1]), len(texts[2]), len(xml), resultid,
                  time_added, res_priority, res_server_state, float(res_report_deadline),
                  0.0) + tuple(wu[n] for n in _WU_NUM_NAMES)
        SLOT.pack_into(self._mv, self._off(index), *values)

    def publish(self, filled=(), dead=(), bump=()):
        """Under one lock: filled slots -> PRESENT; slots of dead PIDs (given
        as ``(index, pid)``) -> PRESENT if still held by that PID; an
        infeasible_count of 0 -> 1 in ``bump`` slots.  Returns the reset
        ``(index, pid)`` pairs."""
        mv, reset = self._mv, []
        self._sem.acquire()
        try:
            for i in filled:
                _I32.pack_into(mv, self._off(i), PRESENT)
            for i, pid in dead:
                if _I32.unpack_from(mv, self._off(i))[0] == pid:
                    _I32.pack_into(mv, self._off(i), PRESENT)
                    reset.append((i, pid))
            for i in bump:
                off = self._off(i) + _S_INFEASIBLE
                if _I32.unpack_from(mv, off)[0] == 0:
                    _I32.pack_into(mv, off, 1)
        finally:
            self._sem.release()
        return reset

    def unpublish(self, index, resultid):
        """PRESENT -> EMPTY if the slot still holds ``resultid`` (stale purge)."""
        off = self._off(index)
        self._sem.acquire()
        try:
            if (_I32.unpack_from(self._mv, off)[0] != PRESENT
                    or _I64.unpack_from(self._mv, off + _S_RESULTID)[0] != resultid):
                return False
            _I32.pack_into(self._mv, off, EMPTY)
            return True
        finally:
            self._sem.release()

    def empty_present(self):
        """Every PRESENT slot -> EMPTY (after a rescan); reserved ones stay."""
        self._sem.acquire()
        try:
            for i in range(self.max_wu_results):
                off = self._off(i)
                if _I32.unpack_from(self._mv, off)[0] == PRESENT:
                    _I32.pack_into(self._mv, off, EMPTY)
        finally:
            self._sem.release()

    def set_fpops_size(self, index, value):
        _F64.pack_into(self._mv, self._off(index) + _S_FPOPS_SIZE, value)

    def destroy(self):
        """Mark not ready, detach, remove the segment and the semaphore."""
        if self._mv is not None:
            self.set_ready(False)
        self.detach()
        destroy(self.key, self.sem_key)


def destroy(key, sem_key=None):
    """Remove the segment ``key`` and the semaphore ``sem_key`` if they exist."""
    try:
        shm = sysv_ipc.SharedMemory(key)
    except sysv_ipc.ExistentialError:
        pass
    else:
        shm.remove()
        shm.detach()
    if sem_key is not None:
        try:
            sysv_ipc.Semaphore(sem_key).remove()
        except sysv_ipc.ExistentialError:
            pass
