"""sample_trivial_validator: every result is valid.

A client error counts as a long-term failure, so that ``--check_punitive``
limits such hosts to one job a day.
"""

from .. import states
from ..validator import LongTermFailure, Validator, run as run_validator


class TrivialValidator(Validator):
    description = "A validator that accepts every result."
    uses_files = False

    def init_result(self, result, files):
        if result.outcome == states.RESULT_OUTCOME_CLIENT_ERROR:
            raise LongTermFailure("client error")
        return None

    def compare_results(self, r1, files1, r2, files2):
        return True


def run():
    run_validator(TrivialValidator, "sample_trivial_validator")
