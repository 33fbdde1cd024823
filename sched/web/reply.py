"""The XML of BOINC's web RPC replies: header, errors, value formatting.

BOINC's PHP starts every reply with an XML declaration naming ISO-8859-1
while the bytes are the database's UTF-8; clients read bytes, so we do the
same.  Where BOINC prints a user-supplied value unescaped (and could break
the XML) we escape it; clients unescape entities in every value they read.
"""

from urllib.parse import quote_plus

XML_HEADER = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'

# BOINC's error numbers (lib/error_numbers.h) used by the web RPCs.
ERR_GENERIC = -1
ERR_XML_PARSE = -112
ERR_DB_NOT_FOUND = -136
ERR_DB_NOT_UNIQUE = -137
ERR_DB_CANT_CONNECT = -138
ERR_PROJECT_DOWN = -183
ERR_BAD_USER_NAME = -188
ERR_BAD_EMAIL_ADDR = -205
ERR_BAD_PASSWD = -206
ERR_ACCT_CREATION_DISABLED = -208
ERR_ACCT_REQUIRE_CONSENT = -242

# xml_error()'s message when the caller gives none.
DEFAULT_MESSAGES = {
    -112: "Invalid XML",
    -136: "Not found",
    -137: "Name or email address is not unique",
    -138: "Can't access database",
    -183: "Project is temporarily offline",
    -205: "Email address has invalid syntax",
    -206: "Invalid password",
    -207: "Email address is not unique",
    -208: "Account creation is disabled",
    -209: "Invalid invitation code",
    -210: "Invalid request method",
}


class RpcError(Exception):
    """Answer with BOINC's ``<error>`` element and stop."""

    def __init__(self, num=ERR_GENERIC, msg=None):
        super().__init__(num, msg)
        self.num = num
        self.msg = msg or DEFAULT_MESSAGES.get(num, "Unknown error")


def error_xml(num, msg=None):
    msg = msg or DEFAULT_MESSAGES.get(num, "Unknown error")
    return ("<error>\n    <error_num>%d</error_num>\n    <error_msg>%s</error_msg>\n</error>\n"
            % (num, esc(msg)))


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#039;"}


def esc(value):
    """A value as element text (PHP's htmlspecialchars with ENT_QUOTES)."""
    text = text_of(value)
    if not any(c in text for c in _ESCAPES):
        return text
    return "".join(_ESCAPES.get(c, c) for c in text)


def text_of(value):
    """A DB value as PHP prints it: NULL is '', bytes are UTF-8, doubles as MySQL's."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        return num(value)
    return str(value)


def num(value):
    """A double as MySQL prints it: integral values without '.0', else shortest."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).replace("e+", "e")
    return str(value)


def urlencode(value):
    """PHP's urlencode: space as '+', everything but [A-Za-z0-9_.-] as %XX."""
    return quote_plus(text_of(value).encode("utf-8"), safe="").replace("~", "%7E")
