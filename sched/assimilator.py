"""The assimilator framework: hand each finished workunit to a project's code.

A project's assimilator is a subclass of :class:`Assimilator` that defines
:meth:`Assimilator.assimilate`; ``bin/NAME`` just runs it (see
``sched/sample_assimilator.py``).  Each pass, as BOINC's assimilator
(database.md §7):

* reads the app's workunits with ``assimilate_state`` READY (1000, or
  ``--one_pass_N_WU N``) and all their results;
* a workunit with neither a canonical result nor an error gets
  ``error_mask |= NO_CANONICAL_RESULT`` (its result rows went missing);
* calls ``assimilate(wu, results, canonical)``; returning
  :data:`DEFER_ASSIMILATION` puts the workunit back to INIT (it comes back
  when another result arrives); any other non-zero return or an exception
  makes the daemon log it and exit with status 1, leaving that workunit
  READY, so that an operator notices (``bin/start --cron`` restarts it);
* marks the workunit DONE with ``transition_time = now`` so the
  transitioner schedules its file deletion.

A workunit's new state is written right after its handler returns
(:attr:`Assimilator.commit_every` = 1), so a daemon killed mid-pass hands
again only the one workunit it was working on.  Handlers that are cheap and
harmless to repeat may raise ``commit_every``: their states are then written
in a few statements per group, the fast path for large backlogs.

Rows are :class:`Row` dicts whose columns are also attributes
(``wu.name``, ``wu["name"]``); text and blob columns are ``str``.
"""

import time
import traceback

from . import states as S
from .daemon import Daemon
from .errors import BoincError

# BOINC's value (assimilate_handler.h); returned by a handler, it means
# "not yet: wait for another result".
DEFER_ASSIMILATION = 123321

DEFAULT_SLEEP_INTERVAL = 10
SELECT_LIMIT = 1000
RESULTS_CHUNK = 200             # workunits whose results are read in one query


class Row(dict):
    """A DB row: a dict whose columns can also be read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value


def text(value):
    """A text/blob column as ``str`` (blobs arrive as bytes)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


def row(values):
    return Row((k, text(v)) for k, v in values.items())


class Assimilator(Daemon):
    name = "assimilator"
    description = "Hand completed jobs of one app to the project's assimilate handler."
    sleep_interval = DEFAULT_SLEEP_INTERVAL
    commit_every = 1            # workunits handled per write of their states

    # -- for subclasses
    def assimilate(self, wu, results, canonical):
        """Handle one finished workunit.

        ``results`` are all its results (any outcome), ``canonical`` the
        canonical one or None (then ``wu.error_mask`` says why).  Return
        None or 0 when done, :data:`DEFER_ASSIMILATION` to wait for more
        results; anything else (or an exception) stops the daemon.
        """
        raise NotImplementedError

    # -- the daemon
    def add_arguments(self, parser):
        parser.add("app", metavar="NAME", help="handle jobs of this application (required)")
        parser.add("one_pass_N_WU", type=int, default=0, metavar="N",
                   help="handle at most N jobs, then exit")
        parser.add("dont_update_db", action="store_true",
                   help="don't change the DB (for testing a handler)")

    def setup(self):
        if not self.args.app:
            raise BoincError("--app NAME is required (the application whose jobs to handle)")
        app = self.db.query_one("SELECT id, name FROM app WHERE name=%s", (self.args.app,))
        if app is None:
            raise BoincError("Can't find app: %s (see the app table; add it with xadd)"
                             % self.args.app)
        self.app = Row(app)
        if self.args.one_pass_N_WU:
            self.args.one_pass = True
        if self.args.mod:
            self.log.debug("Using mod'ed WU enumeration.  modulus = %d  remainder = %d",
                           *self.args.mod)
        self.log.normal("Starting assimilator handler")

    def do_pass(self):
        clause, params = self.mod_clause("id")
        limit = self.args.one_pass_N_WU if self.args.one_pass_N_WU > 0 else SELECT_LIMIT
        wus = self.db.query(
            "SELECT * FROM workunit WHERE appid=%s AND assimilate_state=%s" + clause +
            " ORDER BY id LIMIT %s", (self.app.id, S.ASSIMILATE_READY) + params + (limit,))
        done = 0
        pending = []
        try:
            for start in range(0, len(wus), RESULTS_CHUNK):
                chunk = [row(w) for w in wus[start:start + RESULTS_CHUNK]]
                results = self._results(chunk)
                for wu in chunk:
                    self.check_stop()
                    pending.append(self._handle(wu, results.get(wu.id, [])))
                    done += 1
                    if len(pending) >= max(1, self.commit_every):
                        self._write(pending)
        finally:
            # Whatever happens next (stop request, handler failure), the
            # workunits already handled keep their new state.
            self._write(pending)
        if done:
            self.log.normal("Assimilated %d workunits.", done)
        # With --dont_update_db nothing changed: sleep rather than spin.
        return bool(done) and not self.args.dont_update_db

    def _results(self, wus):
        ids = [wu.id for wu in wus]
        rows = self.db.query(
            "SELECT * FROM result WHERE workunitid IN (%s) ORDER BY id"
            % ",".join(["%s"] * len(ids)), ids)
        by_wu = {}
        for r in rows:
            r = row(r)
            by_wu.setdefault(r.workunitid, []).append(r)
        return by_wu

    def _handle(self, wu, results):
        """Run the handler on ``wu``; return (wuid, new state, error bit to set)."""
        self.log.debug("[%s] assimilating WU %d; state=%d", wu.name, wu.id, wu.assimilate_state)
        canonical = None
        for r in results:
            if wu.canonical_resultid and r.id == wu.canonical_resultid:
                canonical = r
        set_error = 0
        if canonical is None and not wu.error_mask:
            self.log.critical("[%s] no canonical result", wu.name)
            set_error = S.WU_ERROR_NO_CANONICAL_RESULT
            wu.error_mask = set_error
        try:
            status = self.assimilate(wu, results, canonical)
        except BoincError as exc:
            raise BoincError("[%s] handler error: %s; exiting" % (wu.name, exc)) from None
        except Exception:
            self.log.critical("[%s] handler error:\n%s", wu.name, traceback.format_exc())
            raise BoincError("[%s] handler failed; exiting" % wu.name) from None
        if status and status != DEFER_ASSIMILATION:
            raise BoincError("[%s] handler error %r; exiting" % (wu.name, status))
        state = S.ASSIMILATE_INIT if status == DEFER_ASSIMILATION else S.ASSIMILATE_DONE
        return wu.id, state, set_error

    def _write(self, pending):
        """Write the new states of handled workunits: one UPDATE per kind."""
        if not pending or self.args.dont_update_db:
            pending.clear()
            return
        now = int(time.time())
        groups = {}
        for wuid, state, set_error in pending:
            groups.setdefault((state, set_error), []).append(wuid)
        for (state, set_error), ids in groups.items():
            self.db.execute(
                "UPDATE workunit SET assimilate_state=%%s, transition_time=%%s, "
                "error_mask=error_mask|%%s WHERE id IN (%s)" % ",".join(["%s"] * len(ids)),
                [state, now, set_error] + ids)
        pending.clear()
