"""``stage_file [--gzip] [--copy] [--verbose] PATH...``: stage input files.

Each PATH (a file, or a directory: all its regular files) is moved, or with
``--copy`` copied, to its place in the download hierarchy, and a ``.md5``
cache file is written beside it; ``--gzip`` also makes ``NAME.gz`` (for
``<gzip/>`` in an input template).  A file already staged with the same
contents is left alone; a name already taken by different contents is
refused with BOINC's message.  As BOINC's ``tools/stage_file``, run in (or
below) the project directory; unlike it, several PATHs may be given, and
every one is checked before any is moved, so a refusal stages nothing.
"""

import os
import sys

from .. import cli, config
from ..errors import BoincError
from ..progress import Progress
from ..stage import plan_staging, stage

USAGE = """usage: stage_file [--gzip] [--copy] [--verbose] path...
    --gzip      make a gzipped version of file for compressed download
                (use with <gzip/> in the input template)
    --copy      copy the file (default is to move it)
    --verbose   verbose output
    path        The file to stage; if directory, stage all files in that dir
"""


def _sources(paths):
    out = []
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if os.path.isfile(full):
                    out.append(full)
        elif os.path.exists(path):
            out.append(path)
        else:
            raise BoincError("no such file: %s" % path)
    return out


def main(argv):
    flags = {"gzip": False, "copy": False, "verbose": False}
    paths = []
    for arg in argv:
        name = arg.lstrip("-") if arg.startswith("-") else None
        if name in flags:
            flags[name] = True
        elif name in ("h", "help"):
            sys.stdout.write(USAGE)
            return 0
        elif name is not None:
            sys.stderr.write(USAGE)
            return 1
        else:
            paths.append(arg)
    if not paths:
        sys.stderr.write(USAGE)
        return 1
    cfg = config.load()
    if not cfg.uldl_dir_fanout:
        raise BoincError("can't find <uldl_dir_fanout> in %s" % cfg.path)
    if not cfg.download_dir:
        raise BoincError("can't find <download_dir> in %s" % cfg.path)

    sources = _sources(paths)
    verbose = flags["verbose"]
    many = len(sources) > 1
    with Progress(len(sources), "checking", enabled=None if many else False) as bar:
        plans = plan_staging(sources, cfg.download_dir, cfg.uldl_dir_fanout, bar)
    with Progress(len(plans), "staging", enabled=None if many else False) as bar:
        for plan in plans:
            if verbose:
                bar.clear()
            stage(plan, copy=flags["copy"], make_gzip=flags["gzip"],
                  say=(lambda line: print(line, flush=True)) if verbose else None)
            bar.advance()
    return 0


def run():
    cli.run(main)
