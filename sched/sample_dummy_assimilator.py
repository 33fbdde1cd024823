"""sample_dummy_assimilator: log each finished job and mark it assimilated.

Its files are left for the file deleter (unless marked ``<no_delete/>`` or
the workunit's name contains ``nodelete``).  Cheap and harmless to repeat,
so job states are written in groups.
"""

from . import states as S
from .assimilator import Assimilator

_WARNINGS = (
    (S.WU_ERROR_COULDNT_SEND_RESULT, "couldn't send a result"),
    (S.WU_ERROR_TOO_MANY_ERROR_RESULTS, "too many error results"),
    (S.WU_ERROR_TOO_MANY_TOTAL_RESULTS, "too many total results"),
    (S.WU_ERROR_TOO_MANY_SUCCESS_RESULTS, "too many success results"),
)


class DummyAssimilator(Assimilator):
    name = "sample_dummy_assimilator"
    commit_every = 200

    def assimilate(self, wu, results, canonical):
        self.log.normal("Assimilating %s", wu.name)
        if canonical is not None:
            self.log.normal("Found canonical result")
            self.log.debug("[%s] canonical result\n%s", wu.name, canonical.xml_doc_out or "")
        else:
            self.log.normal("[%s] No canonical result", wu.name)
        for bit, what in _WARNINGS:
            if wu.error_mask & bit:
                self.log.warning("[%s] Warning: %s", wu.name, what)
        return 0


def run():
    DummyAssimilator.run()
