"""sched.passwd: bcrypt over the client's md5, as PHP's password_hash/password_verify."""

import re
import warnings

import pytest

from sched import passwd

# The PHP manual's password_verify example.
PHP_HASH = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"


def test_bcrypt_is_available_on_this_machine():
    assert passwd.bcrypt_available()


def test_client_hash():
    # md5(password + lowercase(email)); only ASCII letters are lowered, as PHP's strtolower.
    assert passwd.client_hash("pw", "A@B.Org") == passwd.md5_hex("pwa@b.org")
    assert passwd.ascii_lower("ÄBC") == "Äbc"


def test_php_hashes_verify():
    assert passwd.verify("rasmuslerdorf", PHP_HASH) == (True, False)
    assert passwd.verify("rasmuslerdorF", PHP_HASH) == (False, False)
    # $2a$/$2b$ variants verify too, and are rewritten as $2y$ (PHP's needs_rehash).
    for prefix in ("$2a$", "$2b$"):
        assert passwd.verify("rasmuslerdorf", prefix + PHP_HASH[4:]) == (True, True)


def test_hash_passwd():
    h = passwd.hash_passwd("0123456789abcdef0123456789abcdef")
    assert re.fullmatch(r"\$2y\$10\$[./A-Za-z0-9]{53}", h)
    assert passwd.verify("0123456789abcdef0123456789abcdef", h) == (True, False)
    assert passwd.verify("0123456789abcdef0123456789abcdeF", h) == (False, False)
    assert passwd.hash_passwd("x") != passwd.hash_passwd("x")        # salted
    # The same result as Python's own crypt module (where it still exists).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")
    assert crypt.crypt("0123456789abcdef0123456789abcdef", h) == h


def test_salt_encoding_is_canonical():
    # 16 bytes -> 22 characters; the last one carries 2 bits, so crypt keeps the salt as is.
    assert passwd._bcrypt_salt(bytes(16)) == "." * 22
    assert passwd._bcrypt_salt(b"\xff" * 16) == "9" * 21 + "u"
    salt = passwd._bcrypt_salt(bytes(range(16)))
    assert passwd._crypt("x", "$2y$04$" + salt)[7:29] == salt


def test_old_md5_rows_and_nonsense():
    md5 = passwd.md5_hex("pwa@b.org")
    assert passwd.verify(md5, md5) == (True, True)          # old form: verify and upgrade
    assert passwd.verify(md5[::-1], md5) == (False, False)
    assert passwd.verify(md5, "") == (False, False)
    assert passwd.verify("", md5) == (False, False)
    assert passwd.verify(md5, "$2y$10$short") == (False, False)


def test_without_libcrypt_the_md5_is_stored(monkeypatch):
    monkeypatch.setattr(passwd._c, "func", None)
    monkeypatch.setattr(passwd._c, "loaded", True)
    assert not passwd.bcrypt_available()
    assert passwd.hash_passwd("abc") == "abc"
    assert passwd.verify("abc", "abc") == (True, False)
    assert passwd.verify("rasmuslerdorf", PHP_HASH) == (False, False)
