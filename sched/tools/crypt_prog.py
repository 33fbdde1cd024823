"""``crypt_prog``: BOINC's key and signature utility (same verbs, arguments,
output and exit codes as BOINC's: 0 ok, 1 usage or invalid signature, 2 error).

Errors are one line on stderr, ``Error: ...``, naming the file at fault.
"""

import os
import sys

from .. import cli, crypt
from ..crypt import CryptError

USAGE = """\
Usage: crypt_prog options

Options:

-genkey n private_keyfile public_keyfile
    create an n-bit key pair
-sign file private_keyfile
    create a signature for a given file, write to stdout
-sign_string string private_keyfile
    create a signature for a given string
-verify file signature_file public_keyfile
    verify a file signature
-verify_string string signature_file public_keyfile
    verify a string signature
-test_crypt private_keyfile public_keyfile
    test encrypt/decrypt functions
-convkey o2b/b2o priv/pub input_file output_file
    convert keys between BOINC and OpenSSL format
-convsig b2o/o2b input_file output_file
    convert signature between BOINC and OpenSSL format
-cert_verify file signature certificate_dir ca_dir
    verify a signature using a directory of certificates
"""

TEST_STRING = b"encryption test successful"
STRING_SIGNATURE_MAX = 511      # BOINC reads at most this much of a string's signature file


class Failed(Exception):
    """Stop a verb with exit status 2 and an ``Error:`` line."""


def _read(path, what, limit=-1):
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError as exc:
        raise Failed("can't read %s %s: %s" % (what, path, exc.strerror or exc)) from None


def _write(path, data, what):
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise Failed("can't write %s %s: %s" % (what, path, exc.strerror or exc)) from None


def _signature(path, limit=-1):
    sig = crypt.parse_hex(_read(path, "signature file", limit))
    if not sig:
        raise Failed("signature file %s has no hex data" % path)
    return sig


def _atoi(text):
    """C's atoi: leading digits (after an optional sign), else 0."""
    text = text.strip()
    sign, digits = 1, ""
    if text[:1] in "+-":
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


def genkey(bits, private_path, public_path):
    if _atoi(bits) != crypt.MAX_RSA_MODULUS_BITS:
        raise Failed("only 1024-bit keys are supported")
    print("creating keys in %s and %s" % (private_path, public_path), flush=True)
    private, public = crypt.generate_key_pair(crypt.MAX_RSA_MODULUS_BITS)
    _write(private_path, crypt.key_text(private).encode("ascii"), "key file")
    _write(public_path, crypt.key_text(public).encode("ascii"), "key file")
    return 0


def sign(path, private_path):
    sys.stdout.write(crypt.sign_file(path, crypt.read_private_key(private_path)))
    return 0


def sign_string(text, private_path):
    sys.stdout.write(crypt.sign_string(os.fsencode(text), crypt.read_private_key(private_path)))
    return 0


def _report(md5_hex, sig_path, signature, public_key):
    try:
        valid = crypt.check_md5_signature(md5_hex, signature, public_key)
    except crypt.SignatureError as exc:
        raise Failed("%s: %s" % (sig_path, exc)) from None
    print("signature is %s" % ("valid" if valid else "invalid"))
    return 0 if valid else 1


def verify(path, sig_path, public_path):
    public_key = crypt.read_public_key(public_path)
    signature = _signature(sig_path)
    return _report(crypt.md5_file(path), sig_path, signature, public_key)


def verify_string(text, sig_path, public_path):
    import hashlib
    public_key = crypt.read_public_key(public_path)
    signature = _signature(sig_path, STRING_SIGNATURE_MAX)
    return _report(hashlib.md5(os.fsencode(text)).hexdigest(), sig_path, signature, public_key)


def test_crypt(private_path, public_path):
    private_key = crypt.read_private_key(private_path)
    public_key = crypt.read_public_key(public_path)
    encrypted = crypt.encrypt_private(private_key, TEST_STRING)
    try:
        out = crypt.decrypt_public(public_key, encrypted)
    except crypt.SignatureError:
        raise Failed("decrypt_public: %s doesn't decrypt what %s encrypts "
                     "(keys are not a pair)" % (public_path, private_path)) from None
    print("out: " + out.decode("latin-1"))
    return 0


def convsig(conversion, in_path, out_path):
    if conversion == "b2o":
        _write(out_path, _signature(in_path), "signature file")
    elif conversion == "o2b":
        raw = _read(in_path, "signature file")
        if not raw:
            raise Failed("signature file %s is empty" % in_path)
        _write(out_path, crypt.hex_text(raw).encode("ascii"), "signature file")
    else:
        raise Failed("invalid conversion type: " + conversion)
    return 0


def convkey(conversion, key_type, in_path, out_path):
    if conversion not in ("b2o", "o2b"):
        raise Failed("invalid conversion type: " + conversion)
    if key_type not in ("priv", "pub"):
        raise Failed("invalid key type: " + key_type)
    private = key_type == "priv"
    if conversion == "b2o":
        key = crypt.read_private_key(in_path) if private else crypt.read_public_key(in_path)
        try:
            pem = crypt.private_key_to_pem(key) if private else crypt.public_key_to_pem(key)
        except ValueError as exc:
            raise Failed("key in %s is not a consistent RSA key: %s" % (in_path, exc)) from None
        _write(out_path, pem, "key file")
    else:
        data = _read(in_path, "key file")
        key = (crypt.private_key_from_pem(data, in_path) if private
               else crypt.public_key_from_pem(data, in_path))
        _write(out_path, crypt.key_text(key).encode("ascii"), "key file")
    return 0


def cert_verify(path, sig_path, cert_dir, ca_dir):
    signature = _signature(sig_path)
    cert_path, problems = crypt.cert_verify(path, signature, cert_dir, ca_dir)
    for bad_path, reason in problems:
        sys.stderr.write("ERROR: Cannot verify certificate ('%s'): %s\n" % (bad_path, reason))
    if not cert_path:
        raise Failed("signature cannot be verified.")
    # BOINC prints no space between "certificate" and the path.
    print("signature verified using certificate" + cert_path)
    return 0


# verb -> (function, number of arguments after the verb)
VERBS = {
    "genkey": (genkey, 3),
    "sign": (sign, 2),
    "sign_string": (sign_string, 2),
    "verify": (verify, 3),
    "verify_string": (verify_string, 3),
    "test_crypt": (test_crypt, 2),
    "convsig": (convsig, 3),
    "convkey": (convkey, 4),
    "cert_verify": (cert_verify, 4),
}


def main(argv):
    verb = argv[0] if argv else ""
    name = verb[2:] if verb.startswith("--") else verb[1:] if verb.startswith("-") else ""
    if name not in VERBS or len(argv) - 1 != VERBS[name][1]:
        sys.stderr.write(USAGE)
        return 1
    try:
        return VERBS[name][0](*argv[1:])
    except (Failed, CryptError) as exc:
        sys.stdout.flush()
        sys.stderr.write("Error: %s\n" % exc)
        return 2


def run():
    cli.run(main)
