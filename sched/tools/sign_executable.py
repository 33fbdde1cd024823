"""``sign_executable DATA_FILE PRIVATE_KEY_FILE``: print the file's BOINC
signature (as ``<file_signature>`` holds it) to stdout; exit 1 on any error,
with BOINC's messages ("add: can't read key ...", "add: can't sign file ...").
"""

import sys

from .. import cli, crypt

USAGE = """\
syntax: sign_executable data_file private_key_file

Writes signature to stdout.
"""


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(USAGE)
        return 1
    path, key_path = argv
    try:
        key = crypt.read_private_key(key_path)
    except crypt.CryptError as exc:
        sys.stderr.write("add: %s\n" % exc)        # "add: can't read key file ..."
        return 1
    try:
        signature = crypt.sign_file(path, key)
    except crypt.CryptError as exc:
        sys.stderr.write("add: can't sign file: %s\n" % exc)
        return 1
    sys.stdout.write(signature)
    return 0


def run():
    cli.run(main)
