"""``dir_hier_move SRC_DIR DST_DIR FANOUT``: move the files of a flat
directory into a hierarchy with that fanout (BOINC's tool).

Differences, on purpose: only files move (BOINC also renamed
subdirectories, so moving a directory into a hierarchy below itself moved
the new fan-out directories too); a ``NAME.md5`` or ``NAME.gz`` beside a
moved ``NAME`` moves with it into ``NAME``'s directory, where BOINC filed it
under its own hash; names starting with ``.`` stay, as BOINC's."""

import os
import sys

from .. import cli, paths
from ..errors import BoincError
from ..progress import Progress
from ..stage import GZ_SUFFIX, MD5_SUFFIX, move_file

USAGE = """
Usage: dir_hier_move <src_dir> <dst_dir> <fanout>
Moves files from <src_dir> (flat) into <dst_dir> (hierarchical) with the given <fanout>

"""


def plan_moves(src_dir, dst_dir, fanout):
    """(src, dst) pairs for every file of ``src_dir``."""
    names = sorted(n for n in os.listdir(src_dir)
                   if not n.startswith(".") and not os.path.isdir(os.path.join(src_dir, n)))
    present = set(names)
    moves = []
    for name in names:
        owner = name
        for suffix in (MD5_SUFFIX, GZ_SUFFIX):
            if name.endswith(suffix) and name[:-len(suffix)] in present:
                owner = name[:-len(suffix)]
        dst = os.path.join(os.path.dirname(paths.dir_hier_path(owner, dst_dir, fanout)), name)
        moves.append((os.path.join(src_dir, name), dst))
    return moves


def main(argv):
    if len(argv) != 3 or argv[0] in ("-h", "--help"):
        sys.stderr.write(USAGE)
        return 1
    src_dir, dst_dir, fanout = argv
    try:
        fanout = int(fanout)
    except ValueError:
        fanout = 0
    if fanout <= 0:
        sys.stderr.write(USAGE)
        return 1
    if not os.path.isdir(src_dir):
        raise BoincError("%s is not a directory" % src_dir)
    moves = plan_moves(src_dir, dst_dir, fanout)
    with Progress(len(moves), "moving", enabled=None if len(moves) > 1 else False) as bar:
        for src, dst in moves:
            try:
                os.makedirs(os.path.dirname(dst), mode=0o771, exist_ok=True)
                move_file(src, dst)
            except OSError as exc:
                raise BoincError("rename %s to %s: %s" % (src, dst, exc.strerror)) from None
            bar.advance()
    return 0


def run():
    cli.run(main)
