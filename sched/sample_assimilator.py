"""sample_assimilator: copy each finished job's output files to sample_results/.

As BOINC's sample: a job's canonical output files are copied to
``PROJECT/sample_results/WU_NAME`` (``WU_NAME_0``, ``WU_NAME_1`` ... when
there are several); when none could be copied an empty
``WU_NAME_no_output_files`` marks the job.  A failed job appends
``WU_NAME: 0xERROR_MASK`` to ``sample_results/errors``.  ``--outdir DIR``
(relative to the project) replaces ``sample_results``.
"""

import os
import shutil

from .assimilator import Assimilator
from .errors import BoincError
from .outputs import output_files

DEFAULT_OUTDIR = "sample_results"


class SampleAssimilator(Assimilator):
    name = "sample_assimilator"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add("outdir", default=DEFAULT_OUTDIR, metavar="DIR",
                   help="where to put the files (default %s, in the project)" % DEFAULT_OUTDIR)

    def setup(self):
        super().setup()
        self.outdir = self.config.project_path(self.args.outdir)

    def assimilate(self, wu, results, canonical):
        try:
            os.makedirs(self.outdir, exist_ok=True)
        except OSError as exc:
            raise BoincError("can't make %s: %s" % (self.outdir, exc.strerror)) from None
        if canonical is None:
            with open(os.path.join(self.outdir, "errors"), "a") as f:
                f.write("%s: 0x%x\n" % (wu.name, wu.error_mask))
            return 0
        files = output_files(self.config, canonical)
        copied = False
        for i, (path, _logical) in enumerate(files):
            name = wu.name if len(files) == 1 else "%s_%d" % (wu.name, i)
            try:
                shutil.copyfile(path, os.path.join(self.outdir, name))
                copied = True
            except OSError as exc:
                self.log.critical("[%s] can't copy %s: %s", wu.name, path, exc.strerror)
        if not copied:
            open(os.path.join(self.outdir, wu.name + "_no_output_files"), "w").close()
        return 0


def run():
    SampleAssimilator.run()
