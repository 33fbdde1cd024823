"""sample_substr_validator: judge a result by its stderr output.

``--stderr_string X`` (repeatable): a result is valid if every X appears in
its ``stderr_out``; with ``--reject_if_present``, if none does.  Results of
a WU are never compared (any two match).
"""

from ..errors import BoincError
from ..validator import InvalidResult, Validator, run as run_validator


class SubstrValidator(Validator):
    description = "A validator that accepts results whose stderr contains (or lacks) strings."
    uses_files = False

    def add_arguments(self, parser):
        parser.add("stderr_string", action="append", default=[], metavar="X",
                   help="accept a task if X is present in its stderr (repeatable)")
        parser.add("reject_if_present", action="store_true",
                   help="reject (invalidate) the task if X is present instead")

    def setup(self, daemon):
        super().setup(daemon)
        if not daemon.args.stderr_string:
            raise BoincError("--stderr_string missing from command line")

    def init_result(self, result, files):
        reject = self.daemon.args.reject_if_present
        for s in self.daemon.args.stderr_string:
            present = s in result.stderr_out
            if present and reject:
                raise InvalidResult("stderr contains %r" % s)
            if not present and not reject:
                raise InvalidResult("stderr lacks %r" % s)
        return None


def run():
    run_validator(SubstrValidator, "sample_substr_validator")
