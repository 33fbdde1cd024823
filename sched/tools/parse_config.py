"""``parse_config TAG``: print the value of ``<config><TAG>`` (as BOINC's)."""

import sys

from .. import cli, config


def main(argv):
    if len(argv) != 1:
        sys.stderr.write("usage: parse_config TAG\n")
        return 1
    cfg = config.load()
    value = cfg.get(argv[0])
    if value is None:
        return 1
    print(value)
    return 0


def run():
    cli.run(main)
