"""BOINC's RSA key files and signatures (the formats of BOINC's lib/crypt.cpp).

Keys are our own small frozen dataclasses, :class:`PublicKey` and
:class:`PrivateKey`, holding the RSA numbers as Python ints plus the ``bits``
field of the key file; ``to_cryptography()``/``from_cryptography()`` convert
to and from ``cryptography`` key objects (for PEM and key generation).

Key file (``keys/*_private``, ``keys/*_public``): the line ``1024``, then the
key's fixed-width fields as lowercase hex, 32 bytes to a line, then ``.``.
Every number is big-endian and left-padded with zeros to its field: public =
modulus(128) exponent(128) = 256 bytes; private = modulus(128)
publicExponent(128) exponent(128) prime1(64) prime2(64) primeExponent1(64)
primeExponent2(64) coefficient(64) = 704 bytes.

Signature: the MD5 of the data as 32 lowercase hex ASCII characters, with
PKCS#1 v1.5 type-1 padding and *no* DigestInfo, raised to the private
exponent (``cryptography``'s ``sign()`` always adds a DigestInfo, so we do
the RSA operation ourselves; type-1 padding is deterministic, so the result
is byte-identical to BOINC's).  Text form: hex, 32 bytes a line, then ``.``.

Operator errors are :class:`CryptError` subclasses with one-line messages
naming the file.
"""

import hashlib
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import BoincError

MAX_RSA_MODULUS_BITS = 1024
MODULUS_LEN = 128                 # bytes in a modulus/exponent field
PRIME_LEN = 64                    # bytes in a prime-sized field
PUBLIC_KEY_DATA_LEN = 2 * MODULUS_LEN                     # 256
PRIVATE_KEY_DATA_LEN = 3 * MODULUS_LEN + 5 * PRIME_LEN    # 704
PUBLIC_EXPONENT = 65537
PADDING_OVERHEAD = 11             # 00 01 <at least 8 x FF> 00

_PUBLIC_FIELDS = (("n", MODULUS_LEN), ("e", MODULUS_LEN))
_PRIVATE_FIELDS = (("n", MODULUS_LEN), ("e", MODULUS_LEN), ("d", MODULUS_LEN),
                   ("p", PRIME_LEN), ("q", PRIME_LEN), ("dmp1", PRIME_LEN),
                   ("dmq1", PRIME_LEN), ("iqmp", PRIME_LEN))


class CryptError(BoincError):
    """A key, signature or data file can't be read, written or used."""


class KeyFileError(CryptError):
    """A key file is missing, unreadable or malformed."""


class SignatureError(CryptError):
    """A signature is malformed or does not decrypt with the given key."""


# ---------------------------------------------------------------- keys

@dataclass(frozen=True)
class PublicKey:
    n: int
    e: int
    bits: int = MAX_RSA_MODULUS_BITS

    def to_cryptography(self):
        return rsa.RSAPublicNumbers(self.e, self.n).public_key()

    @classmethod
    def from_cryptography(cls, key):
        numbers = key.public_numbers()
        return cls(n=numbers.n, e=numbers.e, bits=key.key_size)


@dataclass(frozen=True)
class PrivateKey:
    n: int
    e: int
    d: int = field(repr=False)
    p: int = field(repr=False)
    q: int = field(repr=False)
    dmp1: int = field(repr=False)
    dmq1: int = field(repr=False)
    iqmp: int = field(repr=False)
    bits: int = MAX_RSA_MODULUS_BITS

    def public_key(self):
        return PublicKey(n=self.n, e=self.e, bits=self.bits)

    def to_cryptography(self):
        public = rsa.RSAPublicNumbers(self.e, self.n)
        return rsa.RSAPrivateNumbers(self.p, self.q, self.d, self.dmp1, self.dmq1,
                                     self.iqmp, public).private_key()

    @classmethod
    def from_cryptography(cls, key):
        nums = key.private_numbers()
        return cls(n=nums.public_numbers.n, e=nums.public_numbers.e, d=nums.d,
                   p=nums.p, q=nums.q, dmp1=nums.dmp1, dmq1=nums.dmq1,
                   iqmp=nums.iqmp, bits=key.key_size)


def generate_key_pair(bits=MAX_RSA_MODULUS_BITS):
    """A new (PrivateKey, PublicKey) with e = 65537, as ``crypt_prog -genkey``."""
    if bits > MAX_RSA_MODULUS_BITS:
        raise CryptError("%d-bit keys don't fit BOINC's key format (at most %d bits)"
                         % (bits, MAX_RSA_MODULUS_BITS))
    try:
        key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)
    except ValueError as exc:
        raise CryptError("can't generate a %d-bit key: %s" % (bits, exc)) from None
    private = PrivateKey.from_cryptography(key)
    return private, private.public_key()


# ---------------------------------------------------------------- hex text

def hex_text(data):
    """BOINC's text form of bytes: hex, a newline every 32 bytes, then '.'."""
    if not data:
        raise CryptError("no data to write as hex")
    hexed = data.hex()
    lines = [hexed[i:i + 64] for i in range(0, len(hexed), 64)]
    return "\n".join(lines) + "\n.\n"


def parse_hex(text):
    """Bytes from BOINC hex text: whitespace is skipped, any other non-hex
    character (normally the closing '.') ends the data."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    digits = []
    for ch in text:
        if ch in "0123456789abcdefABCDEF":
            digits.append(ch)
        elif not ch.isspace():
            break
    if len(digits) % 2:
        digits.pop()            # a dangling half byte is dropped, as BOINC does
    return bytes.fromhex("".join(digits))


def _num_to_field(value, width, what):
    try:
        return value.to_bytes(width, "big")
    except OverflowError:
        raise CryptError("key %s is %d bits, too big for BOINC's key format "
                         "(at most %d-bit keys)" % (what, value.bit_length(),
                                                    MAX_RSA_MODULUS_BITS)) from None


def key_text(key):
    """The exact BOINC text of a PublicKey or PrivateKey."""
    fields = _PRIVATE_FIELDS if isinstance(key, PrivateKey) else _PUBLIC_FIELDS
    data = b"".join(_num_to_field(getattr(key, name), width, name)
                    for name, width in fields)
    return "%d\n%s" % (key.bits, hex_text(data))


def _parse_key(text, private, source):
    """A key from BOINC key text; ``source`` names it in error messages."""
    kind = "private" if private else "public"
    fail = "can't read key file %s: %%s" % source

    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    first, _, rest = text.lstrip().partition("\n")
    first = first.strip()
    if not first.isdigit() or not 0 < int(first) < 65536:
        raise KeyFileError(fail % ("first line should be the key size in bits "
                                   "(e.g. 1024), found %r" % first[:40]))
    data = parse_hex(rest)
    want = PRIVATE_KEY_DATA_LEN if private else PUBLIC_KEY_DATA_LEN
    if len(data) != want:
        other = PUBLIC_KEY_DATA_LEN if private else PRIVATE_KEY_DATA_LEN
        hint = (" (looks like a %s key)" % ("public" if private else "private")
                if len(data) == other else "")
        raise KeyFileError(fail % ("a %s key has %d bytes of hex data, found %d%s"
                                   % (kind, want, len(data), hint)))
    values, pos = {}, 0
    for name, width in (_PRIVATE_FIELDS if private else _PUBLIC_FIELDS):
        values[name] = int.from_bytes(data[pos:pos + width], "big")
        pos += width
    if values["n"] < 3 or values["e"] == 0 or (private and values["d"] == 0):
        raise KeyFileError(fail % "modulus or exponent is zero; not a valid key")
    cls = PrivateKey if private else PublicKey
    return cls(bits=int(first), **values)


def parse_private_key(text, source="<text>"):
    return _parse_key(text, True, source)


def parse_public_key(text, source="<text>"):
    return _parse_key(text, False, source)


def _read_key(path, private):
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as exc:
        raise KeyFileError("can't read key file %s: %s" % (path, exc.strerror or exc)) from None
    return _parse_key(text, private, path)


def read_private_key(path):
    return _read_key(path, True)


def read_public_key(path):
    return _read_key(path, False)


def public_key_text(path):
    """The exact BOINC text of the public key in ``path`` (normalised)."""
    return key_text(read_public_key(path))


def _write_text(path, text, what):
    try:
        with open(path, "w", encoding="ascii", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise CryptError("can't write %s %s: %s" % (what, path, exc.strerror or exc)) from None


def write_private_key(path, key):
    _write_text(path, key_text(key), "key file")


def write_public_key(path, key):
    _write_text(path, key_text(key), "key file")


# ---------------------------------------------------------------- PEM

def private_key_to_pem(key):
    """PKCS#1 PEM ('BEGIN RSA PRIVATE KEY'), what BOINC's -convkey b2o writes."""
    return key.to_cryptography().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption())


def public_key_to_pem(key):
    """PKCS#1 PEM ('BEGIN RSA PUBLIC KEY'), what BOINC's -convkey b2o writes."""
    return key.to_cryptography().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)


def _check_rsa(key, source):
    if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        raise KeyFileError("%s: not an RSA key" % source)
    if key.key_size > MAX_RSA_MODULUS_BITS:
        raise KeyFileError("%s: %d-bit key; BOINC's key format holds at most %d bits"
                           % (source, key.key_size, MAX_RSA_MODULUS_BITS))
    return key


def private_key_from_pem(data, source="<PEM>"):
    """A PrivateKey from unencrypted PEM (PKCS#1 or PKCS#8)."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:        # encrypted: cryptography's message says so
        raise KeyFileError("could not load private key from %s: %s" % (source, exc)) from None
    except ValueError:
        raise KeyFileError("could not load private key from %s: not a PEM private key"
                           % source) from None
    return PrivateKey.from_cryptography(_check_rsa(key, source))


def public_key_from_pem(data, source="<PEM>"):
    """A PublicKey from PEM (SubjectPublicKeyInfo or PKCS#1)."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise KeyFileError("could not load public key from %s: not a PEM public key"
                           % source) from None
    return PublicKey.from_cryptography(_check_rsa(key, source))


# ---------------------------------------------------------------- RSA operations

def _modulus_len(key):
    return (key.n.bit_length() + 7) // 8


def encrypt_private(key, data):
    """RSA private-key operation on ``data`` with PKCS#1 type-1 padding.

    Like BOINC, input longer than the key allows is cut short."""
    k = _modulus_len(key)
    data = bytes(data[:max(0, (key.bits + 7) // 8 - PADDING_OVERHEAD)])
    if len(data) > k - PADDING_OVERHEAD:
        raise CryptError("%d bytes are too many to sign with a %d-bit key"
                         % (len(data), key.n.bit_length()))
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    m = int.from_bytes(block, "big")
    if key.p and key.q and key.dmp1 and key.dmq1 and key.iqmp:
        # The Chinese remainder form: the same number, three times faster
        # (the transitioner signs every output file when certificates are on).
        m1, m2 = pow(m, key.dmp1, key.p), pow(m, key.dmq1, key.q)
        s = (m2 + key.q * ((key.iqmp * (m1 - m2)) % key.p)) % key.n
    else:
        s = pow(m, key.d, key.n)
    return s.to_bytes(k, "big")


def decrypt_public(key, signature):
    """The data inside ``signature`` (bytes), or SignatureError if it doesn't
    decrypt to a type-1 padded block under ``key``."""
    k = _modulus_len(key)
    if not signature or len(signature) > k:
        raise SignatureError("signature is %d bytes; a %d-bit key makes %d-byte signatures"
                             % (len(signature), key.n.bit_length(), k))
    value = int.from_bytes(signature, "big")
    if value >= key.n:
        raise SignatureError("signature is not a number below the key's modulus "
                             "(wrong key or corrupted signature)")
    block = pow(value, key.e, key.n).to_bytes(k, "big")
    end = block.find(b"\x00", 2)
    if (block[:2] != b"\x00\x01" or end < 10
            or block[2:end] != b"\xff" * (end - 2) or end == k - 1):
        raise SignatureError("signature does not decrypt with this public key "
                             "(wrong key or corrupted signature)")
    return block[end + 1:]


def recover_signed_data(signature, public_key):
    """What a signature signs (for BOINC signatures: a 32-char hex md5).
    ``signature`` is BOINC signature text or raw bytes."""
    if isinstance(signature, str):
        signature = parse_hex(signature)
    return decrypt_public(public_key, bytes(signature))


# ---------------------------------------------------------------- signatures

def md5_file(path):
    """Lowercase hex MD5 of a file's contents."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise CryptError("can't read file %s: %s" % (path, exc.strerror or exc)) from None
    return digest.hexdigest()


def _as_bytes(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


def sign_md5(md5_hex, private_key):
    """Signature text for an MD5 already computed (32 hex chars)."""
    return hex_text(encrypt_private(private_key, md5_hex.encode("ascii")))


def sign_file(path, private_key):
    """BOINC signature text of a file (``<file_signature>``, sign_executable)."""
    return sign_md5(md5_file(path), private_key)


def sign_string(s, private_key):
    """BOINC signature text of a string (``<xml_signature>``, -sign_string).
    A str is signed as its UTF-8 bytes."""
    return sign_md5(hashlib.md5(_as_bytes(s)).hexdigest(), private_key)


def check_md5_signature(md5_hex, signature, public_key):
    """True if ``signature`` (text or bytes) signs ``md5_hex``.  Raises
    SignatureError if it is empty or doesn't decrypt under the key."""
    if isinstance(signature, str):
        signature = parse_hex(signature)
    if not signature:
        raise SignatureError("signature has no hex data")
    return decrypt_public(public_key, bytes(signature)) == md5_hex.encode("ascii")


def _verify(md5_hex, sig_text, public_key):
    try:
        return check_md5_signature(md5_hex, sig_text, public_key)
    except SignatureError:
        return False


def verify_file(path, sig_text, public_key):
    """True if ``sig_text`` is a valid signature of the file.  A malformed or
    undecryptable signature is just invalid; an unreadable file raises."""
    return _verify(md5_file(path), sig_text, public_key)


def verify_string(s, sig_text, public_key):
    """True if ``sig_text`` is a valid signature of the string (str as UTF-8)."""
    return _verify(hashlib.md5(_as_bytes(s)).hexdigest(), sig_text, public_key)


# ---------------------------------------------------------------- certificates
#
# ``crypt_prog -cert_verify``: find, among the certificates in a directory, one
# whose chain verifies against a CA directory laid out as OpenSSL's hashed
# directory (``<subject hash>.<n>`` files) and whose RSA key decrypts the
# signature to the file's md5.

_CANON_TAGS = {0x0C: "utf-8", 0x13: "latin-1", 0x14: "latin-1", 0x16: "latin-1",
               0x1A: "latin-1", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}
_ASCII_SPACE = " \t\n\v\f\r"
# Extensions OpenSSL understands; any other critical one fails verification.
_HANDLED_CRITICAL = {
    "2.5.29.15", "2.5.29.17", "2.5.29.19", "2.5.29.32", "2.5.29.37", "2.5.29.36",
    "2.5.29.30", "2.5.29.33", "2.5.29.54", "2.16.840.1.113730.1.1",
    "1.3.6.1.5.5.7.1.14", "1.3.6.1.5.5.7.1.7", "1.3.6.1.5.5.7.1.8"}


def _der_items(data):
    """(tag, full TLV bytes, content) for each DER element in ``data``."""
    pos = 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        head = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos + 2:pos + 2 + count], "big")
            head += count
        end = pos + head + length
        yield tag, data[pos:end], data[pos + head:end]
        pos = end


def _der(tag, content):
    n = len(content)
    if n < 0x80:
        size = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        size = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + size + content


def _canon_string(tag, content):
    """OpenSSL's canonical form of a name value: UTF-8, trimmed, inner runs of
    ASCII whitespace made one space, ASCII lower-cased."""
    text = content.decode(_CANON_TAGS[tag], errors="replace").strip(_ASCII_SPACE)
    out, in_space = [], False
    for ch in text:
        if ch in _ASCII_SPACE:
            if not in_space:
                out.append(" ")
            in_space = True
            continue
        in_space = False
        out.append(ch.lower() if ch.isascii() else ch)
    return _der(0x0C, "".join(out).encode("utf-8"))


def canonical_name(name):
    """OpenSSL's canonical encoding of an x509.Name (what it hashes and compares)."""
    (_, _, seq), = _der_items(name.public_bytes())
    out = []
    for _, _, rdn in _der_items(seq):
        entries = []
        for _, _, atv in _der_items(rdn):
            (_, oid, _), (tag, value, content) = list(_der_items(atv))
            if tag in _CANON_TAGS:
                value = _canon_string(tag, content)
            entries.append(_der(0x30, oid + value))
        out.append(_der(0x31, b"".join(sorted(entries))))
    return b"".join(out)


def subject_name_hash(name):
    """OpenSSL's ``X509_NAME_hash`` (``openssl x509 -subject_hash``)."""
    return int.from_bytes(hashlib.sha1(canonical_name(name)).digest()[:4], "little")


def _load_cert(path):
    from cryptography import x509
    try:
        with open(path, "rb") as f:
            return x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError):
        return None


def _ext(cert, oid):
    from cryptography import x509
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _may_issue(issuer, cert):
    """Can ``issuer`` have issued ``cert`` (names, key ids, key usage)?  The
    signature itself is checked once the chain is built."""
    from cryptography.x509.oid import ExtensionOID
    if canonical_name(issuer.subject) != canonical_name(cert.issuer):
        return False
    akid = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if akid is not None:
        skid = _ext(issuer, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        if akid.key_identifier and skid is not None and akid.key_identifier != skid.digest:
            return False
        if (akid.authority_cert_serial_number is not None
                and akid.authority_cert_serial_number != issuer.serial_number):
            return False
    usage = _ext(issuer, ExtensionOID.KEY_USAGE)
    return usage is None or usage.key_cert_sign


def _valid_at(cert, now):
    before = getattr(cert, "not_valid_before_utc", None)
    after = getattr(cert, "not_valid_after_utc", None)
    if before is None:          # cryptography < 42: naive UTC datetimes
        before, after = cert.not_valid_before, cert.not_valid_after
        now = now.replace(tzinfo=None)
    return before <= now <= after


def _check_signed_by(cert, issuer):
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519
    key = issuer.public_key()
    sig, tbs = cert.signature, cert.tbs_certificate_bytes
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(sig, tbs, cert.signature_algorithm_parameters, cert.signature_hash_algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, tbs, cert.signature_algorithm_parameters)
    elif isinstance(key, dsa.DSAPublicKey):
        key.verify(sig, tbs, cert.signature_hash_algorithm)
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        key.verify(sig, tbs)
    else:
        raise ValueError("unsupported issuer key type")


class _CaDir:
    """Certificates found the way OpenSSL's hashed-directory lookup finds them."""

    def __init__(self, ca_dirs):
        self.dirs = [d for d in ca_dirs.split(":") if d]

    def by_subject(self, name):
        wanted, found = canonical_name(name), []
        for d in self.dirs:
            n = 0
            while True:
                path = os.path.join(d, "%08x.%d" % (subject_name_hash(name), n))
                if not os.path.exists(path):
                    break
                cert = _load_cert(path)
                if cert is not None and canonical_name(cert.subject) == wanted:
                    found.append(cert)
                n += 1
        return found


def verify_cert_chain(cert, ca_dir, now=None):
    """None if ``cert`` chains to a self-signed certificate in ``ca_dir``
    (OpenSSL's default checks, no purpose), else the reason it doesn't."""
    import datetime
    from cryptography.x509.oid import ExtensionOID
    now = now or datetime.datetime.now(datetime.timezone.utc)
    store = _CaDir(ca_dir)
    chain = [cert]
    while len(chain) < 100:
        top = chain[-1]
        if _may_issue(top, top):                 # self-signed: must be trusted
            if len(chain) == 1 and not any(c == top for c in store.by_subject(top.subject)):
                return "self-signed certificate not in the CA directory"
            break
        issuers = [c for c in store.by_subject(top.issuer) if _may_issue(c, top)]
        if not issuers:
            return "unable to get issuer certificate"
        issuers.sort(key=lambda c: not _valid_at(c, now))   # prefer current ones
        chain.append(issuers[0])
    else:
        return "certificate chain too long"

    below = 0           # non-self-issued intermediates below the current CA
    for depth, c in enumerate(chain):
        if not _valid_at(c, now):
            return "certificate %s is expired or not yet valid" % c.subject.rfc4514_string()
        try:
            extensions = list(c.extensions)
        except ValueError as exc:
            return "invalid extension: %s" % exc
        for ext in extensions:
            if ext.critical and ext.oid.dotted_string not in _HANDLED_CRITICAL:
                return "unhandled critical extension %s" % ext.oid.dotted_string
        if depth == 0:
            continue
        constraints = _ext(c, ExtensionOID.BASIC_CONSTRAINTS)
        usage = _ext(c, ExtensionOID.KEY_USAGE)
        is_ca = (constraints.ca if constraints is not None else
                 (usage is not None and usage.key_cert_sign) or
                 (c.version.name == "v1" and _may_issue(c, c)))
        if not is_ca:
            return "invalid CA certificate %s" % c.subject.rfc4514_string()
        if (depth > 1 and constraints is not None and constraints.path_length is not None
                and below > constraints.path_length):
            return "path length constraint exceeded"
        if canonical_name(c.subject) != canonical_name(c.issuer):
            below += 1
        try:
            _check_signed_by(chain[depth - 1], c)
        except Exception:  # noqa: BLE001 - any failure means a bad signature
            return "certificate signature failure"
    return None


def cert_verify(path, signature, cert_dir, ca_dir):
    """``crypt_prog -cert_verify``: the path of the first certificate in
    ``cert_dir`` that verifies against ``ca_dir`` and whose RSA key shows
    ``signature`` (bytes) signs the file's md5; else None.  Also returns the
    (path, reason) of each certificate that failed chain verification."""
    problems = []
    if not os.path.isfile(path):
        return None, problems
    md5 = md5_file(path).encode("ascii")
    try:
        names = sorted(os.listdir(cert_dir))
    except OSError:
        return None, problems
    for name in names:
        cert_path = "%s/%s" % (cert_dir, name)
        cert = _load_cert(cert_path)
        if cert is None:
            continue
        reason = verify_cert_chain(cert, ca_dir)
        if reason:
            problems.append((cert_path, reason))
            continue
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            problems.append((cert_path, "only RSA keys are supported"))
            continue
        numbers = key.public_numbers()
        try:
            if decrypt_public(PublicKey(numbers.n, numbers.e, key.key_size), signature) == md5:
                return cert_path, problems
        except SignatureError:
            pass
    return None, problems

