"""sched.crypt: BOINC key files and signatures, checked against keys and
signatures made by BOINC itself (tests/.../fixtures) and against cryptography."""

import datetime
import hashlib
import os
import re
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from testenv import SHARED
from sched import crypt
from sched.errors import BoincError

KEYS = os.path.join(SHARED, "fixtures", "boinc-made-project", "keys")
SCHED_REPLY = os.path.join(SHARED, "fixtures", "real-client-7.20", "run-plain",
                           "01_sched_reply.xml")


def boinc_file_signatures():
    """The <file_signature> texts BOINC's update_versions put in a reply."""
    with open(SCHED_REPLY) as f:
        xml = f.read()
    sigs = re.findall(r"<file_signature>\n(.*?\.\n)\s*</file_signature>", xml, re.S)
    assert len(sigs) == 3
    return sigs


@pytest.fixture(scope="module")
def pair():
    return crypt.generate_key_pair()


@pytest.fixture(scope="module")
def other_pair():
    return crypt.generate_key_pair()


# ---------------------------------------------------------------- key files

@pytest.mark.parametrize("name", ["code_sign_private", "code_sign_public",
                                  "upload_private", "upload_public"])
def test_boinc_key_files_round_trip_byte_for_byte(name, tmp_path):
    path = os.path.join(KEYS, name)
    read = crypt.read_private_key if name.endswith("private") else crypt.read_public_key
    write = crypt.write_private_key if name.endswith("private") else crypt.write_public_key
    key = read(path)
    out = tmp_path / name
    write(str(out), key)
    with open(path, "rb") as f:
        assert out.read_bytes() == f.read()


def test_fixture_keys_are_a_pair_with_e_65537():
    private = crypt.read_private_key(os.path.join(KEYS, "code_sign_private"))
    public = crypt.read_public_key(os.path.join(KEYS, "code_sign_public"))
    assert private.public_key() == public
    assert public.e == 65537 and public.bits == 1024 and public.n.bit_length() == 1024
    nums = private.to_cryptography().private_numbers()      # consistent RSA numbers
    assert nums.p * nums.q == public.n


def test_generated_key_text_layout(pair):
    private, public = pair
    for key, lines in ((private, 22), (public, 8)):
        text = crypt.key_text(key)
        rows = text.split("\n")
        assert rows[0] == "1024"
        assert rows[-2:] == [".", ""]
        hex_rows = rows[1:-2]
        assert len(hex_rows) == lines
        assert all(re.fullmatch("[0-9a-f]{64}", r) for r in hex_rows)
    # public exponent: a 128-byte field ending ...010001, zero padded
    pub_rows = crypt.key_text(public).split("\n")
    assert pub_rows[5:8] == ["0" * 64] * 3
    assert pub_rows[8] == "0" * 58 + "010001"
    assert public.e == 65537


def test_write_read_round_trip(pair, tmp_path):
    private, public = pair
    crypt.write_private_key(str(tmp_path / "priv"), private)
    crypt.write_public_key(str(tmp_path / "pub"), public)
    assert crypt.read_private_key(str(tmp_path / "priv")) == private
    assert crypt.read_public_key(str(tmp_path / "pub")) == public
    assert crypt.public_key_text(str(tmp_path / "pub")) == (tmp_path / "pub").read_text()


def test_reader_tolerates_whitespace_and_case(tmp_path):
    with open(os.path.join(KEYS, "upload_public")) as f:
        text = f.read()
    messy = "  " + text.upper().replace("\n", " \r\n\t")
    (tmp_path / "pub").write_text(messy)
    key = crypt.read_public_key(str(tmp_path / "pub"))
    assert crypt.key_text(key) == text


def test_generated_keys_differ():
    a, _ = crypt.generate_key_pair()
    b, _ = crypt.generate_key_pair()
    assert a.n != b.n


def test_generate_refuses_keys_too_big_for_the_format():
    with pytest.raises(crypt.CryptError, match="2048-bit keys don't fit"):
        crypt.generate_key_pair(2048)


# ---------------------------------------------------------------- key file errors

def one_line(exc):
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_missing_key_file(tmp_path):
    path = str(tmp_path / "nope")
    with pytest.raises(crypt.KeyFileError) as info:
        crypt.read_private_key(path)
    assert isinstance(info.value, BoincError)
    assert one_line(info.value) == "can't read key file %s: No such file or directory" % path


@pytest.mark.parametrize("content, expected", [
    ("", "first line should be the key size"),
    ("hello\nworld\n", "first line should be the key size"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIC\n", "first line should be the key size"),
    ("1024\nzz\n.\n", "has 704 bytes of hex data, found 0"),
    ("1024\n" + "ab" * 703 + "\n.\n", "has 704 bytes of hex data, found 703"),
    ("1024\n" + "00" * 704 + "\n.\n", "modulus or exponent is zero"),
])
def test_malformed_private_key(tmp_path, content, expected):
    path = tmp_path / "key"
    path.write_text(content)
    with pytest.raises(crypt.KeyFileError) as info:
        crypt.read_private_key(str(path))
    text = one_line(info.value)
    assert text.startswith("can't read key file %s: " % path)
    assert expected in text


def test_wrong_size_key_says_which_kind(tmp_path):
    with pytest.raises(crypt.KeyFileError) as info:
        crypt.read_private_key(os.path.join(KEYS, "code_sign_public"))
    assert "found 256 (looks like a public key)" in one_line(info.value)
    with pytest.raises(crypt.KeyFileError) as info:
        crypt.read_public_key(os.path.join(KEYS, "code_sign_private"))
    assert "has 256 bytes of hex data, found 704 (looks like a private key)" in one_line(info.value)


def test_unwritable_key_file(pair, tmp_path):
    path = str(tmp_path / "no" / "such" / "dir" / "key")
    with pytest.raises(crypt.CryptError) as info:
        crypt.write_private_key(path, pair[0])
    assert one_line(info.value) == "can't write key file %s: No such file or directory" % path


# ---------------------------------------------------------------- signatures vs BOINC's

@pytest.mark.parametrize("index", [0, 1, 2])
def test_boinc_file_signatures_are_reproduced_byte_for_byte(index):
    sig = boinc_file_signatures()[index]
    public = crypt.read_public_key(os.path.join(KEYS, "code_sign_public"))
    private = crypt.read_private_key(os.path.join(KEYS, "code_sign_private"))
    md5 = crypt.recover_signed_data(sig, public)
    assert re.fullmatch(rb"[0-9a-f]{32}", md5)
    assert crypt.sign_md5(md5.decode(), private) == sig
    assert crypt.check_md5_signature(md5.decode(), sig, public)
    assert not crypt.check_md5_signature("0" * 32, sig, public)


def test_sign_file_with_boinc_key(tmp_path):
    private = crypt.read_private_key(os.path.join(KEYS, "code_sign_private"))
    public = crypt.read_public_key(os.path.join(KEYS, "code_sign_public"))
    data = tmp_path / "app"
    data.write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
    sig = crypt.sign_file(str(data), private)
    assert crypt.verify_file(str(data), sig, public)
    expected = hashlib.md5(data.read_bytes()).hexdigest().encode()
    assert crypt.recover_signed_data(sig, public) == expected


# ---------------------------------------------------------------- signatures

def test_signature_text_layout(pair, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    sig = crypt.sign_file(str(path), pair[0])
    rows = sig.split("\n")
    assert len(rows) == 6 and rows[4:] == [".", ""]
    assert all(re.fullmatch("[0-9a-f]{64}", r) for r in rows[:4])


def test_signature_is_pkcs1_type1_over_hex_md5_without_digestinfo(pair, tmp_path):
    # independent check with cryptography's own RSA: recovering the data with
    # PKCS#1 v1.5 and no hash algorithm gives back the ascii md5
    private, public = pair
    path = tmp_path / "f"
    path.write_bytes(b"some data")
    raw = crypt.parse_hex(crypt.sign_file(str(path), private))
    assert len(raw) == 128
    recovered = public.to_cryptography().recover_data_from_signature(raw, padding.PKCS1v15(), None)
    assert recovered == hashlib.md5(b"some data").hexdigest().encode()


def test_sign_and_verify_file(pair, other_pair, tmp_path):
    private, public = pair
    path = tmp_path / "f"
    path.write_bytes(b"contents")
    sig = crypt.sign_file(str(path), private)
    assert crypt.verify_file(str(path), sig, public)
    assert not crypt.verify_file(str(path), sig, other_pair[1])           # wrong key
    path.write_bytes(b"contentz")
    assert not crypt.verify_file(str(path), sig, public)                  # changed file


def test_sign_and_verify_string(pair, other_pair):
    private, public = pair
    text = "<name>wu_1_0</name><max_nbytes>1000000</max_nbytes>"
    sig = crypt.sign_string(text, private)
    assert sig == crypt.sign_string(text.encode(), private)              # deterministic
    assert crypt.verify_string(text, sig, public)
    assert not crypt.verify_string(text + " ", sig, public)
    assert not crypt.verify_string(text, sig, other_pair[1])
    assert crypt.recover_signed_data(sig, public) == hashlib.md5(text.encode()).hexdigest().encode()


def test_md5_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3000000)
    assert crypt.md5_file(str(path)) == hashlib.md5(b"x" * 3000000).hexdigest()


def test_md5_of_missing_file_is_a_clear_error(tmp_path, pair):
    path = str(tmp_path / "missing")
    with pytest.raises(crypt.CryptError) as info:
        crypt.sign_file(path, pair[0])
    assert one_line(info.value) == "can't read file %s: No such file or directory" % path


@pytest.mark.parametrize("mangle", [
    lambda s: s.replace(s[10], "0" if s[10] != "0" else "1", 1),   # one digit changed
    lambda s: s[:64] + "\n.\n",                                     # truncated
    lambda s: "",                                                   # empty
    lambda s: "not hex at all",
    lambda s: "f" * 256 + "\n.\n",                                  # above the modulus
])
def test_corrupted_signature_is_invalid(pair, tmp_path, mangle):
    private, public = pair
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    bad = mangle(crypt.sign_file(str(path), private))
    assert crypt.verify_file(str(path), bad, public) is False
    assert crypt.verify_string("abc", bad, public) is False


def test_recover_reports_a_bad_signature(pair):
    sig = crypt.sign_string("x", pair[0])
    with pytest.raises(crypt.SignatureError) as info:
        crypt.recover_signed_data(sig.replace(sig[0], "0" if sig[0] != "0" else "1", 1), pair[1])
    assert "wrong key or corrupted signature" in one_line(info.value)


def test_hex_text_and_parse():
    assert crypt.hex_text(bytes(range(40))) == (bytes(range(32)).hex() + "\n"
                                                + bytes(range(32, 40)).hex() + "\n.\n")
    assert crypt.hex_text(b"\xab" * 32) == "ab" * 32 + "\n.\n"
    assert crypt.parse_hex("AB cd\r\n01\n.\nff") == b"\xab\xcd\x01"


# ---------------------------------------------------------------- PEM

def test_pem_round_trip(pair):
    private, public = pair
    pem = crypt.private_key_to_pem(private)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert crypt.private_key_from_pem(pem) == private
    pub_pem = crypt.public_key_to_pem(public)
    assert pub_pem.startswith(b"-----BEGIN RSA PUBLIC KEY-----\n")
    assert crypt.public_key_from_pem(pub_pem) == public
    spki = public.to_cryptography().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert crypt.public_key_from_pem(spki) == public


def test_pem_that_does_not_fit_the_format():
    big = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(crypt.KeyFileError, match="big.pem: 2048-bit key"):
        crypt.private_key_from_pem(big, "big.pem")
    eckey = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(crypt.KeyFileError, match="ec.pem: not an RSA key"):
        crypt.private_key_from_pem(eckey, "ec.pem")
    with pytest.raises(crypt.KeyFileError, match="could not load private key from x"):
        crypt.private_key_from_pem(b"junk", "x")


# ---------------------------------------------------------------- certificates

def make_name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(subject, issuer, public, signer, ca=None, days=(-1, 30)):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(now + datetime.timedelta(days=days[0]))
               .not_valid_after(now + datetime.timedelta(days=days[1])))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                        critical=True)
    return builder.sign(signer, hashes.SHA256())


def test_subject_name_hash_matches_openssl():
    # values printed by `openssl x509 -noout -subject_hash` (OpenSSL 3.0)
    assert crypt.subject_name_hash(make_name("Test CA")) == 0x3387b84d
    assert crypt.subject_name_hash(x509.Name([])) == 0xeea339da
    mixed = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "  Big   Org\tInc  "),
        x509.NameAttribute(NameOID.COMMON_NAME, "Ünïcode Name ÄB")])
    assert crypt.subject_name_hash(mixed) == 0x601cc3e4
    # OpenSSL compares names canonically: case and spacing don't matter
    assert (crypt.canonical_name(make_name("  test   ca "))
            == crypt.canonical_name(make_name("Test CA")))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_subject_name_hash_matches_openssl_command(tmp_path):
    key = rsa.generate_private_key(65537, 1024)
    rdn = x509.RelativeDistinguishedName
    name = x509.Name([rdn([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops  Team")]),
                      rdn([x509.NameAttribute(NameOID.COMMON_NAME, "zz"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AA")]),
                      rdn([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "Foo@Example.COM")])])
    cert = make_cert(name, name, key.public_key(), key)
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "c.pem"), "-noout",
                          "-subject_hash"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "%08x" % crypt.subject_name_hash(name)


class CertWorld:
    """A CA directory laid out as OpenSSL's hashed directory, and a leaf."""

    def __init__(self, tmp_path):
        self.ca_dir = tmp_path / "ca"
        self.cert_dir = tmp_path / "certs"
        self.ca_dir.mkdir()
        self.cert_dir.mkdir()
        self.ca_key = rsa.generate_private_key(65537, 1024)
        self.ca = make_cert(make_name("Test CA"), make_name("Test CA"),
                            self.ca_key.public_key(), self.ca_key, ca=True)
        self.boinc_private, self.boinc_public = crypt.generate_key_pair()
        self.data = tmp_path / "data"
        self.data.write_bytes(b"program bytes")

    def install_ca(self, cert):
        name = "%08x.0" % crypt.subject_name_hash(cert.subject)
        (self.ca_dir / name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def add_leaf(self, **kw):
        leaf = make_cert(make_name("Leaf"), self.ca.subject,
                         self.boinc_public.to_cryptography(), self.ca_key, **kw)
        path = self.cert_dir / "leaf.pem"
        path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        return str(path)

    def signature(self):
        return crypt.parse_hex(crypt.sign_file(str(self.data), self.boinc_private))

    def verify(self):
        return crypt.cert_verify(str(self.data), self.signature(), str(self.cert_dir),
                                 str(self.ca_dir))


def test_cert_verify_valid_chain(tmp_path):
    world = CertWorld(tmp_path)
    world.install_ca(world.ca)
    leaf = world.add_leaf(ca=False)
    (world.cert_dir / "README").write_text("not a certificate")
    found, problems = world.verify()
    assert found == leaf and problems == []


def test_cert_verify_wrong_signature(tmp_path):
    world = CertWorld(tmp_path)
    world.install_ca(world.ca)
    world.add_leaf()
    other = crypt.generate_key_pair()[0]
    bad = crypt.parse_hex(crypt.sign_file(str(world.data), other))
    found, _ = crypt.cert_verify(str(world.data), bad, str(world.cert_dir), str(world.ca_dir))
    assert found is None


def test_cert_verify_unknown_ca(tmp_path):
    world = CertWorld(tmp_path)
    leaf = world.add_leaf()
    assert world.verify() == (None, [(leaf, "unable to get issuer certificate")])


def test_cert_verify_ca_under_a_wrong_hash_name_is_not_found(tmp_path):
    world = CertWorld(tmp_path)
    (world.ca_dir / "ca_cert.pem").write_bytes(world.ca.public_bytes(serialization.Encoding.PEM))
    world.add_leaf()
    assert world.verify()[0] is None


def test_cert_verify_expired_leaf(tmp_path):
    world = CertWorld(tmp_path)
    world.install_ca(world.ca)
    world.add_leaf(days=(-10, -1))
    found, problems = world.verify()
    assert found is None and "expired or not yet valid" in problems[0][1]


def test_cert_verify_issuer_must_be_a_ca(tmp_path):
    world = CertWorld(tmp_path)
    world.ca = make_cert(make_name("Test CA"), make_name("Test CA"),
                         world.ca_key.public_key(), world.ca_key, ca=False)
    world.install_ca(world.ca)
    world.add_leaf()
    found, problems = world.verify()
    assert found is None and problems[0][1].startswith("invalid CA certificate")
