"""bin/crypt_prog, run as a program: BOINC's verbs, output and exit codes."""

import datetime
import hashlib
import os
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from testenv import ROOT, SHARED
from sched import crypt

PROG = os.path.join(ROOT, "bin", "crypt_prog")
KEYS = os.path.join(SHARED, "fixtures", "boinc-made-project", "keys")


def crypt_prog(*args, cwd=None):
    return subprocess.run([sys.executable, PROG] + [str(a) for a in args],
                          capture_output=True, text=True, cwd=cwd)


def error_line(proc):
    """stderr must be exactly one 'Error: ...' line, no traceback."""
    assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.rstrip("\n")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two key pairs made by crypt_prog -genkey."""
    d = tmp_path_factory.mktemp("keys")
    for n in ("1", "2"):
        proc = crypt_prog("-genkey", "1024", d / ("priv" + n), d / ("pub" + n))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "creating keys in %s and %s\n" % (d / ("priv" + n), d / ("pub" + n))
    return d


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(b"hello world\n")
    return path


def test_usage():
    for args in ([], ["-sign"], ["-sign", "a"], ["-genkey", "1024", "a"], ["-frobnicate"],
                 ["-convkey", "b2o", "priv", "a"], ["sign", "a", "b"]):
        proc = crypt_prog(*args)
        assert proc.returncode == 1
        assert proc.stderr.startswith("Usage: crypt_prog options\n\nOptions:\n\n-genkey n ")
        assert "-cert_verify file signature certificate_dir ca_dir\n" in proc.stderr
        assert proc.stdout == ""


@pytest.mark.parametrize("bits", ["512", "2048", "abc"])
def test_genkey_only_1024(bits, tmp_path):
    proc = crypt_prog("-genkey", bits, tmp_path / "a", tmp_path / "b")
    assert proc.returncode == 2
    assert error_line(proc) == "Error: only 1024-bit keys are supported"
    assert not (tmp_path / "a").exists()


def test_genkey_writes_a_key_pair(keys):
    private = crypt.read_private_key(str(keys / "priv1"))
    public = crypt.read_public_key(str(keys / "pub1"))
    assert private.public_key() == public and public.e == 65537
    assert (keys / "pub1").read_text() == crypt.key_text(public)
    assert crypt.read_public_key(str(keys / "pub2")) != public


def test_genkey_unwritable(tmp_path):
    proc = crypt_prog("-genkey", "1024", tmp_path / "no" / "priv", tmp_path / "pub")
    assert proc.returncode == 2
    assert error_line(proc) == ("Error: can't write key file %s: No such file or directory"
                                % (tmp_path / "no" / "priv"))


def test_sign_and_verify(keys, data, tmp_path):
    proc = crypt_prog("-sign", data, keys / "priv1")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == crypt.sign_file(str(data), crypt.read_private_key(str(keys / "priv1")))
    sig = tmp_path / "sig"
    sig.write_text(proc.stdout)

    proc = crypt_prog("-verify", data, sig, keys / "pub1")
    assert (proc.returncode, proc.stdout) == (0, "signature is valid\n")

    other = tmp_path / "other"
    other.write_bytes(b"hello world!\n")
    proc = crypt_prog("-verify", other, sig, keys / "pub1")
    assert (proc.returncode, proc.stdout) == (1, "signature is invalid\n")


def test_verify_with_wrong_key_is_an_error_as_in_boinc(keys, data, tmp_path):
    # BOINC: the signature doesn't decrypt under the key -> error, exit 2
    sig = tmp_path / "sig"
    sig.write_text(crypt_prog("-sign", data, keys / "priv1").stdout)
    proc = crypt_prog("-verify", data, sig, keys / "pub2")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "wrong key or corrupted signature" in error_line(proc)


def test_verify_corrupted_signature(keys, data, tmp_path):
    text = crypt_prog("-sign", data, keys / "priv1").stdout
    sig = tmp_path / "sig"
    sig.write_text(("1" if text[0] != "1" else "2") + text[1:])
    proc = crypt_prog("-verify", data, sig, keys / "pub1")
    assert proc.returncode == 2
    assert error_line(proc).startswith("Error: %s: signature does not decrypt" % sig)
    sig.write_text("garbage\n")
    proc = crypt_prog("-verify", data, sig, keys / "pub1")
    assert proc.returncode == 2
    assert error_line(proc) == "Error: signature file %s has no hex data" % sig


def test_sign_string_and_verify_string(keys, tmp_path):
    proc = crypt_prog("-sign_string", "test", keys / "priv1")
    assert proc.returncode == 0
    assert proc.stdout == crypt.sign_string("test", crypt.read_private_key(str(keys / "priv1")))
    sig = tmp_path / "sig"
    sig.write_text(proc.stdout)
    assert crypt_prog("-verify_string", "test", sig, keys / "pub1").stdout == "signature is valid\n"
    proc = crypt_prog("-verify_string", "tesT", sig, keys / "pub1")
    assert (proc.returncode, proc.stdout) == (1, "signature is invalid\n")
    assert crypt_prog("-verify_string", "test", sig, keys / "pub2").returncode == 2


def test_fixture_key_signature_verifies(tmp_path, data):
    proc = crypt_prog("-sign", data, os.path.join(KEYS, "code_sign_private"))
    sig = tmp_path / "sig"
    sig.write_text(proc.stdout)
    proc = crypt_prog("-verify", data, sig, os.path.join(KEYS, "code_sign_public"))
    assert (proc.returncode, proc.stdout) == (0, "signature is valid\n")
    md5 = crypt.recover_signed_data(sig.read_text(),
                                    crypt.read_public_key(os.path.join(KEYS, "code_sign_public")))
    assert md5 == hashlib.md5(data.read_bytes()).hexdigest().encode()


def test_test_crypt(keys):
    proc = crypt_prog("-test_crypt", keys / "priv1", keys / "pub1")
    assert (proc.returncode, proc.stdout) == (0, "out: encryption test successful\n")
    proc = crypt_prog("-test_crypt", keys / "priv1", keys / "pub2")
    assert proc.returncode == 2 and "keys are not a pair" in error_line(proc)


def test_missing_and_bad_keys(keys, data, tmp_path):
    missing = tmp_path / "missing"
    proc = crypt_prog("-sign", data, missing)
    assert proc.returncode == 2
    assert error_line(proc) == "Error: can't read key file %s: No such file or directory" % missing
    proc = crypt_prog("-sign", data, keys / "pub1")
    assert proc.returncode == 2 and "found 256 (looks like a public key)" in error_line(proc)
    bad = tmp_path / "bad"
    bad.write_text("1024\n" + "ab" * 100 + "\n.\n")
    proc = crypt_prog("-verify", data, data, bad)
    assert proc.returncode == 2 and "has 256 bytes of hex data, found 100" in error_line(proc)
    proc = crypt_prog("-sign", missing, keys / "priv1")
    assert proc.returncode == 2
    assert error_line(proc) == "Error: can't read file %s: No such file or directory" % missing


def test_convkey_round_trips(keys, tmp_path):
    for kind, name, header in (("priv", "priv1", b"-----BEGIN RSA PRIVATE KEY-----\n"),
                               ("pub", "pub1", b"-----BEGIN RSA PUBLIC KEY-----\n")):
        pem, back = tmp_path / (name + ".pem"), tmp_path / (name + ".back")
        assert crypt_prog("-convkey", "b2o", kind, keys / name, pem).returncode == 0
        assert pem.read_bytes().startswith(header)
        assert crypt_prog("-convkey", "o2b", kind, pem, back).returncode == 0
        assert back.read_bytes() == (keys / name).read_bytes()


def test_convkey_reads_pem_made_elsewhere(tmp_path):
    key = rsa.generate_private_key(65537, 1024)
    (tmp_path / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (tmp_path / "p.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert crypt_prog("-convkey", "o2b", "priv", tmp_path / "k.pem", tmp_path / "k").returncode == 0
    assert crypt_prog("-convkey", "o2b", "pub", tmp_path / "p.pem", tmp_path / "p").returncode == 0
    private = crypt.read_private_key(str(tmp_path / "k"))
    assert private.d == key.private_numbers().d
    assert crypt.read_public_key(str(tmp_path / "p")) == private.public_key()


def test_convkey_errors(keys, tmp_path):
    proc = crypt_prog("-convkey", "x2y", "priv", keys / "priv1", tmp_path / "o")
    assert proc.returncode == 2 and error_line(proc) == "Error: invalid conversion type: x2y"
    proc = crypt_prog("-convkey", "b2o", "secret", keys / "priv1", tmp_path / "o")
    assert proc.returncode == 2 and error_line(proc) == "Error: invalid key type: secret"
    proc = crypt_prog("-convkey", "o2b", "priv", keys / "priv1", tmp_path / "o")
    assert proc.returncode == 2
    assert error_line(proc).startswith("Error: could not load private key from %s" % (keys / "priv1"))
    big = tmp_path / "big.pem"
    big.write_bytes(rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    proc = crypt_prog("-convkey", "o2b", "priv", big, tmp_path / "o")
    assert proc.returncode == 2 and "2048-bit key" in error_line(proc)
    assert not (tmp_path / "o").exists()


def test_convsig_round_trip(keys, data, tmp_path):
    sig = tmp_path / "sig"
    sig.write_text(crypt_prog("-sign", data, keys / "priv1").stdout)
    assert crypt_prog("-convsig", "b2o", sig, tmp_path / "raw").returncode == 0
    raw = (tmp_path / "raw").read_bytes()
    assert len(raw) == 128 and raw == crypt.parse_hex(sig.read_text())
    assert crypt_prog("-convsig", "o2b", tmp_path / "raw", tmp_path / "back").returncode == 0
    assert (tmp_path / "back").read_bytes() == sig.read_bytes()
    proc = crypt_prog("-convsig", "x", sig, tmp_path / "o")
    assert proc.returncode == 2 and error_line(proc) == "Error: invalid conversion type: x"


def _cert(subject, issuer, public, signer, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))


def test_cert_verify(keys, data, tmp_path):
    ca_dir, cert_dir = tmp_path / "ca", tmp_path / "certs"
    ca_dir.mkdir()
    cert_dir.mkdir()
    ca_key = rsa.generate_private_key(65537, 1024)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = _cert(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    (ca_dir / "3387b84d.0").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_public = crypt.read_public_key(str(keys / "pub1")).to_cryptography()
    leaf = _cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Leaf")]), ca_name,
                 leaf_public, ca_key, False)
    (cert_dir / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    sig = tmp_path / "sig"
    sig.write_text(crypt_prog("-sign", data, keys / "priv1").stdout)

    proc = crypt_prog("-cert_verify", data, sig, cert_dir, ca_dir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "signature verified using certificate%s/leaf.pem\n" % cert_dir

    sig.write_text(crypt_prog("-sign", data, keys / "priv2").stdout)      # not the leaf's key
    proc = crypt_prog("-cert_verify", data, sig, cert_dir, ca_dir)
    assert proc.returncode == 2 and proc.stdout == ""
    assert error_line(proc) == "Error: signature cannot be verified."

    os.remove(ca_dir / "3387b84d.0")                                       # CA unknown
    sig.write_text(crypt_prog("-sign", data, keys / "priv1").stdout)
    proc = crypt_prog("-cert_verify", data, sig, cert_dir, ca_dir)
    assert proc.returncode == 2
    assert proc.stderr == ("ERROR: Cannot verify certificate ('%s/leaf.pem'): unable to get "
                           "issuer certificate\nError: signature cannot be verified.\n" % cert_dir)
