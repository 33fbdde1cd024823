"""submit_batch: submit a directory of input files as one batch, wait, collect.

    submit_batch --url URL --auth KEY APP DIR [--out OUTDIR]

One job per file of DIR (the app takes one input file), in name order.
While the jobs run, a progress bar on stderr (on a terminal) counts them;
each job's output files land in ``OUTDIR/INPUT_NAME/OPEN_NAME``.  The exit
status is 0 when every job succeeded, 1 when some failed, 2 on a usage or
server error.  With ``--no_wait`` it prints the batch id and returns.
The authenticator may also come from ``--auth_file`` or $BOINC_AUTHENTICATOR.
"""

import argparse
import os
import sys
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

from .client import Client, JobFailed
from .rpc import RemoteError

_WIDTH = 30


class Bar:
    """A one-line progress bar: done, failed and running jobs out of all."""

    def __init__(self, total, stream=sys.stderr, enabled=None):
        self.total, self.stream = total, stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.last = None

    def show(self, done, failed, running):
        if not self.enabled:
            return
        finished = done + failed
        filled = int(_WIDTH * finished / self.total) if self.total else _WIDTH
        text = "[%s%s] %d/%d done, %d failed, %d running" % (
            "#" * filled, "." * (_WIDTH - filled), done, self.total, failed, running)
        if text != self.last:
            self.stream.write("\r" + text + "\033[K")
            self.stream.flush()
            self.last = text

    def close(self):
        if self.enabled and self.last is not None:
            self.stream.write("\n")
            self.stream.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="submit_batch", description=__doc__.split("\n")[0])
    p.add_argument("app", help="the application's name")
    p.add_argument("dir", help="a directory of input files, one job each")
    p.add_argument("--url", "-url", required=True, help="the project's master URL")
    p.add_argument("--auth", "-auth", help="your account's authenticator (account key)")
    p.add_argument("--auth_file", "-auth_file", help="a file holding the authenticator")
    p.add_argument("--out", "-out", default=None,
                   help="where the outputs go (default: DIR_out next to DIR)")
    p.add_argument("--batch_name", "-batch_name", default=None)
    p.add_argument("--command_line", "-command_line", default=None)
    p.add_argument("--retries", "-retries", type=int, default=None,
                   help="failed instances replaced before a job fails")
    p.add_argument("--poll", "-poll", type=float, default=5.0, help="seconds between looks")
    p.add_argument("--no_wait", "-no_wait", action="store_true",
                   help="submit, print the batch id, and return")
    p.add_argument("--retire", "-retire", action="store_true",
                   help="retire the batch on the server once its outputs are here")
    return p.parse_args(argv)


def authenticator(args):
    if args.auth:
        return args.auth
    if args.auth_file:
        with open(args.auth_file) as f:
            return f.read().strip()
    return os.environ.get("BOINC_AUTHENTICATOR", "")


def main(argv=None, stream=sys.stderr):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    key = authenticator(args)
    if not key:
        stream.write("submit_batch: no authenticator (--auth, --auth_file or "
                     "$BOINC_AUTHENTICATOR)\n")
        return 2
    try:
        names = sorted(e.name for e in os.scandir(args.dir) if e.is_file())
    except OSError as exc:
        stream.write("submit_batch: can't read %s: %s\n" % (args.dir, exc.strerror))
        return 2
    if not names:
        stream.write("submit_batch: no input files in %s\n" % args.dir)
        return 2
    out = args.out or os.path.normpath(args.dir) + "_out"
    client = Client(args.url, key, poll_interval=args.poll)
    try:
        futures = client.map(args.app, [[Path(args.dir, n)] for n in names],
                             command_line=args.command_line, batch_name=args.batch_name,
                             retries=args.retries)
        batch = futures[0].batch
        stream.write("submit_batch: %d jobs submitted, batch %d\n" % (len(futures), batch.id))
        if args.no_wait:
            sys.stdout.write("%d\n" % batch.id)
            return 0
        return _collect(client, futures, names, out, Bar(len(futures), stream), stream,
                        args.retire)
    except RemoteError as exc:
        stream.write("submit_batch: %s\n" % exc)
        return 2
    finally:
        client.close()


def _collect(client, futures, names, out, bar, stream, retire):
    failed = []
    pending = dict(zip(futures, names))
    while pending:
        for f in [f for f in pending if f.done()]:
            name = pending.pop(f)
            try:
                files = f.result()
            except JobFailed as exc:
                failed.append((name, exc))
                continue
            d = os.path.join(out, name)
            os.makedirs(d, exist_ok=True)
            for open_name, data in files.items():
                with open(os.path.join(d, os.path.basename(open_name)), "wb") as fh:
                    fh.write(data)
        ok = len(futures) - len(pending) - len(failed)
        bar.show(ok, len(failed), sum(1 for f in pending if f.status == "in_progress"))
        if pending:
            wait(list(pending), timeout=1.0, return_when=FIRST_COMPLETED)
    bar.close()
    for name, exc in failed:
        stream.write("submit_batch: %s: %s\n" % (name, exc))
    stream.write("submit_batch: %d of %d jobs done; outputs in %s\n"
                 % (len(futures) - len(failed), len(futures), out))
    if retire:
        futures[0].batch.retire()
    return 1 if failed else 0


def run():
    sys.exit(main())
