"""bin/sign_executable, run as a program: signature text, BOINC's messages."""

import os
import subprocess
import sys

import pytest

from testenv import ROOT, SHARED
from sched import crypt

PROG = os.path.join(ROOT, "bin", "sign_executable")
KEYS = os.path.join(SHARED, "fixtures", "boinc-made-project", "keys")
USAGE = "syntax: sign_executable data_file private_key_file\n\nWrites signature to stdout.\n"


def sign_executable(*args):
    return subprocess.run([sys.executable, PROG] + [str(a) for a in args],
                          capture_output=True, text=True)


@pytest.fixture
def app(tmp_path):
    path = tmp_path / "worker_1_x86_64-pc-linux-gnu"
    path.write_bytes(b"\x7fELF" + os.urandom(5000))
    return path


@pytest.mark.parametrize("args", [[], ["one"], ["one", "two", "three"]])
def test_usage(args):
    proc = sign_executable(*args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", USAGE)


def test_signs_with_the_code_signing_key(app):
    proc = sign_executable(app, os.path.join(KEYS, "code_sign_private"))
    assert proc.returncode == 0 and proc.stderr == ""
    private = crypt.read_private_key(os.path.join(KEYS, "code_sign_private"))
    public = crypt.read_public_key(os.path.join(KEYS, "code_sign_public"))
    assert proc.stdout == crypt.sign_file(str(app), private)
    assert proc.stdout.endswith("\n.\n") and len(proc.stdout.split("\n")) == 6
    assert crypt.verify_file(str(app), proc.stdout, public)
    assert crypt.recover_signed_data(proc.stdout, public) == crypt.md5_file(str(app)).encode()


def test_missing_key(app, tmp_path):
    key = tmp_path / "invalid_private.key"
    proc = sign_executable(app, key)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == "add: can't read key file %s: No such file or directory\n" % key


def test_public_key_instead_of_private(app):
    proc = sign_executable(app, os.path.join(KEYS, "code_sign_public"))
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("add: can't read key file ")
    assert proc.stderr.endswith("found 256 (looks like a public key)\n")
    assert proc.stderr.count("\n") == 1


def test_missing_file(tmp_path):
    missing = tmp_path / "non_existent_file"
    proc = sign_executable(missing, os.path.join(KEYS, "code_sign_private"))
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == ("add: can't sign file: can't read file %s: No such file or directory\n"
                           % missing)
