"""``dir_hier_path FILENAME``: the absolute path of FILENAME in the download
hierarchy (its subdirectory is created), as BOINC's tool prints it."""

import os
import sys

from .. import cli, config, paths
from ..errors import BoincError

USAGE = """
Usage: dir_hier_path <filename>
   Run this in a project's root directory.
   Prints the absolute path of the file in the download hierarchy,
   and creates the directory if needed.

"""


def main(argv):
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        sys.stderr.write(USAGE)
        return 1
    cfg = config.load()
    if not cfg.download_dir:
        raise BoincError("can't find <download_dir> in %s" % cfg.path)
    try:
        path = paths.dir_hier_path(argv[0], cfg.download_dir, cfg.uldl_dir_fanout, create=True)
    except OSError as exc:
        raise BoincError("dir_hier_path(): can't create the directory of %s: %s"
                         % (argv[0], exc.strerror)) from None
    print(os.path.abspath(path))
    return 0


def run():
    cli.run(main)
