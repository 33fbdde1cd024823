"""Batch assimilation: the batch-collect assimilator and its batch hook.

:class:`BatchAssimilator` is an assimilator that also hears when a batch is
done: after each pass, every batch whose last job was assimilated in it has
its row brought up to date (state COMPLETE, counts) and is handed to
:meth:`BatchAssimilator.batch_done` (by default: run ``--batch_script CMD``
as ``CMD BATCH_ID``).  A daemon stopped between a job's assimilation and the
hook misses that batch's call.

:class:`BatchCollectAssimilator` (``bin/batch_collect_assimilator``) is
BOINC's batch-collect paradigm: a job's canonical output files move to
``results/BATCH/WU__file_OPENNAME`` (``--outdir`` replaces ``results``);
a job with none gets an empty ``WU_no_output_files``; a failed job appends
its error mask (``0x..``) to ``WU_error``.  get_output.php finds the files
there; retire_batch deletes ``results/BATCH``.
"""

import os
import shlex
import subprocess

from .. import states as S
from ..assimilator import Assimilator
from ..errors import BoincError
from ..outputs import output_files
from ..stage import move_file
from . import batches


class BatchAssimilator(Assimilator):
    name = "batch_assimilator"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add("batch_script", metavar="CMD",
                   help="run 'CMD BATCH_ID' in the project directory when a batch is done")

    # -- for subclasses
    def assimilate_job(self, wu, results, canonical):
        """Handle one job (as Assimilator.assimilate)."""
        return 0

    def batch_done(self, batch):
        """A batch's last job has been assimilated; ``batch`` is its row, refreshed."""
        if self.args.batch_script:
            cmd = shlex.split(self.args.batch_script) + [str(batch["id"])]
            proc = subprocess.run(cmd, cwd=self.config.project_dir, stdin=subprocess.DEVNULL)
            if proc.returncode:
                self.log.critical("batch %d: %s exited with status %d", batch["id"],
                                  self.args.batch_script, proc.returncode)

    # -- the framework
    def assimilate(self, wu, results, canonical):
        status = self.assimilate_job(wu, results, canonical)
        if wu.batch and not status:
            self._touched.add(wu.batch)
        return status

    def do_pass(self):
        self._touched = set()
        try:
            return super().do_pass()
        finally:
            if not self.args.dont_update_db:
                for batch_id in sorted(self._touched):
                    self._maybe_done(batch_id)

    def _maybe_done(self, batch_id):
        left = self.db.scalar("SELECT count(*) FROM workunit WHERE batch = %s AND "
                              "assimilate_state <> %s", (batch_id, S.ASSIMILATE_DONE))
        if left:
            return
        batch = self.db.query_one("SELECT * FROM batch WHERE id = %s", (batch_id,))
        if batch is None:
            return
        batch = batches.refresh(self.db, batch)
        self.log.normal("batch %d done: %d jobs, %d failed", batch_id, batch["njobs"],
                        batch["nerror_jobs"])
        self.batch_done(batch)


class BatchCollectAssimilator(BatchAssimilator):
    name = "batch_collect_assimilator"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add("outdir", metavar="DIR",
                   help="where the batches' files go (default: results, in the project)")

    def setup(self):
        super().setup()
        self.outdir = self.config.project_path(self.args.outdir or batches.RESULTS_DIR)
        try:
            # the web server (retire_batch) deletes in here: its group, writable
            self.group = os.stat(self.config.upload_dir).st_gid
        except OSError:
            self.group = -1

    def _dir(self, path):
        if os.path.isdir(path):
            return
        try:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o2775)
            if self.group >= 0:
                try:
                    os.chown(path, -1, self.group)
                except OSError:
                    pass
        except OSError as exc:
            raise BoincError("can't make %s: %s" % (path, exc.strerror)) from None

    def assimilate_job(self, wu, results, canonical):
        self._dir(self.outdir)
        batch_dir = os.path.join(self.outdir, str(wu.batch))
        self._dir(batch_dir)
        if canonical is None:
            with open(os.path.join(batch_dir, "%s_error" % wu.name), "a") as f:
                f.write("0x%x\n" % wu.error_mask)
            return 0
        moved = False
        for f in output_files(self.config, canonical):
            dest = os.path.join(batch_dir, "%s__file_%s" % (wu.name, f.open_name))
            try:
                move_file(f.path, dest)
                moved = True
            except OSError as exc:
                if os.path.exists(dest):     # moved by an earlier, interrupted pass
                    moved = True
                elif not f.optional:
                    self.log.critical("[%s] can't move %s: %s", wu.name, f.path, exc.strerror)
        if not moved:
            open(os.path.join(batch_dir, "%s_no_output_files" % wu.name), "w").close()
        return 0


def run():
    BatchCollectAssimilator.run()
