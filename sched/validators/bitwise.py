"""sample_bitwise_validator: results must be byte-for-byte the same.

Each result is summarised by the md5 of every output file (leaving out
``<no_validate/>`` ones); two results match when the lists are equal.  A
missing ``<optional/>`` file counts as an empty md5, unlike an empty file.
With ``--is_gzip`` the files are gzip streams whose 10-byte header (time
stamp, OS) is left out.  Useful only for apps without floating point, or
with homogeneous redundancy.
"""

import hashlib

from ..validator import InvalidResult, Validator, run as run_validator

GZIP_HEADER = 10
GZIP_MAGIC = b"\x1f\x8b\x08"


def md5_file(path, is_gzip=False):
    """Hex md5 of a file, skipping a gzip header if asked."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        if is_gzip:
            head = f.read(GZIP_HEADER)
            if len(head) != GZIP_HEADER or not head.startswith(GZIP_MAGIC):
                raise InvalidResult("%s is not a gzip file" % path)
        while True:
            block = f.read(1 << 16)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


class BitwiseValidator(Validator):
    description = "A validator that requires a majority of results to be bitwise identical."

    def add_arguments(self, parser):
        parser.add("is_gzip", action="store_true",
                   help="files are gzipped; skip the header when comparing")

    def init_result(self, result, files):
        sums = []
        for f in files:
            if f.no_validate:
                continue
            try:
                sums.append(md5_file(f.path, self.daemon.args.is_gzip))
            except FileNotFoundError:
                if not f.optional:
                    raise InvalidResult("output file %s is missing" % f.path) from None
                sums.append("")         # not the md5 of an empty file
            # other OSErrors go to the framework: transient (EIO, ESTALE...) or bad
        return sums

    def compare_results(self, r1, files1, r2, files2):
        return r1.data == r2.data


def run():
    run_validator(BitwiseValidator, "sample_bitwise_validator")
