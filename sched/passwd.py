"""Password hashes as BOINC's PHP stores them: bcrypt over the client's md5.

A client (or account manager) never sends a password, only
``md5(password + lowercase(email))``.  Current BOINC keeps PHP's
``password_hash(that_md5, PASSWORD_DEFAULT)`` in ``user.passwd_hash``: bcrypt,
``$2y$``, cost 10.  Older rows hold the bare md5 and are still accepted.

bcrypt comes from the system's libcrypt (libxcrypt on Debian and Red Hat),
called through ctypes: Python's ``crypt`` module is deprecated and gone in
3.13, and no extra package is needed.  Where no libcrypt with bcrypt can be
found, :func:`hash_passwd` returns the bare md5 (the older form BOINC's
login code accepts) and :func:`bcrypt_available` says so.
"""

import ctypes
import hashlib
import hmac
import os

BCRYPT_PREFIX = "$2y$"
BCRYPT_COST = 10                 # PHP's default cost for PASSWORD_DEFAULT
_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_LIB_NAMES = ("libcrypt.so.1", "libcrypt.so.2", "libcrypt.so")
_DATA_SIZE = 1 << 18             # >= struct crypt_data of libxcrypt (32 KiB) and glibc (128 KiB)


class _Crypt:
    """The crypt function of libcrypt, or None."""
    func = None
    reentrant = False
    loaded = False


_c = _Crypt()


def _load():
    if _c.loaded:
        return _c.func
    _c.loaded = True
    for name in _LIB_NAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        # libxcrypt's crypt_rn returns NULL on failure; glibc's crypt_r
        # returns a string starting with '*' instead.
        for fname in ("crypt_rn", "crypt_r"):
            func = getattr(lib, fname, None)
            if func is None:
                continue
            func.restype = ctypes.c_char_p
            if fname == "crypt_rn":
                func.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                                 ctypes.c_int]
            else:
                func.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
            _c.func, _c.reentrant = func, fname == "crypt_rn"
            if _crypt("x", "$2y$04$" + "." * 22) is None:     # no bcrypt here
                _c.func = None
                continue
            return _c.func
    return None


def _crypt(phrase, setting):
    """crypt(3) of ``phrase`` with ``setting``; None when it fails."""
    func = _c.func
    if func is None:
        return None
    data = ctypes.create_string_buffer(_DATA_SIZE)
    if _c.reentrant:
        out = func(phrase.encode(), setting.encode(), data, _DATA_SIZE)
    else:
        out = func(phrase.encode(), setting.encode(), data)
    if not out or out.startswith(b"*"):
        return None
    return out.decode("ascii", "replace")


def bcrypt_available():
    return _load() is not None


def _bcrypt_salt(raw):
    """bcrypt's base64 of 16 bytes: 22 characters (the last one carries 2 bits)."""
    bits = int.from_bytes(raw + b"\0\0", "big")        # 144 bits, 132 used
    return "".join(_B64[(bits >> (138 - 6 * i)) & 63] for i in range(22))


def md5_hex(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def client_hash(passwd, email_addr):
    """What clients send as passwd_hash: md5(password + lowercase(email))."""
    return md5_hex(passwd + ascii_lower(email_addr))


def ascii_lower(text):
    """PHP's strtolower: ASCII letters only."""
    return text.translate(_LOWER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def hash_passwd(passwd_hash):
    """What to store in user.passwd_hash for the client hash ``passwd_hash``."""
    if _load() is None:
        return passwd_hash
    setting = "%s%02d$%s" % (BCRYPT_PREFIX, BCRYPT_COST, _bcrypt_salt(os.urandom(16)))
    hashed = _crypt(passwd_hash, setting)
    return hashed if hashed and hashed.startswith(BCRYPT_PREFIX) else passwd_hash


def is_bcrypt(stored):
    return stored.startswith(("$2y$", "$2a$", "$2b$", "$2x$"))


def verify(passwd_hash, stored):
    """Does the client hash match the stored value?  Returns (ok, needs_rehash).

    A bcrypt row is checked with crypt(3); an old row holding the bare md5
    is compared directly.  ``needs_rehash``: the row should be rewritten as
    bcrypt cost 10 (BOINC's check_passwd_hash does it on every good login).
    """
    if not stored or not passwd_hash:
        return False, False
    if is_bcrypt(stored):
        if _load() is None:
            return False, False
        hashed = _crypt(passwd_hash, stored)
        if hashed is None or not hmac.compare_digest(hashed, stored):
            return False, False
        return True, not stored.startswith("%s%02d$" % (BCRYPT_PREFIX, BCRYPT_COST))
    if hmac.compare_digest(passwd_hash.encode("utf-8", "replace"),
                           stored.encode("utf-8", "replace")):
        return True, bcrypt_available()
    return False, False
