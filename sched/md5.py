"""MD5 without OpenSSL: CPython's own ``_md5`` where it has one.

Importing hashlib loads OpenSSL, about 3 ms of CPU; a CGI program pays that
on every request, for digests of a few hundred bytes.
"""

try:
    from _md5 import md5
except ImportError:          # a Python built without its own MD5
    from hashlib import md5


def md5_hex(data):
    """Hex MD5 of bytes, or of a str as UTF-8 (undecodable bytes kept)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return md5(data).hexdigest()
