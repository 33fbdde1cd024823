"""flup's single-threaded FastCGI server with its socket I/O batched.

flup reads each FastCGI record with a select() and two or three recv()
calls and writes each with up to three send() calls, output cut into 8 KB
records: some forty system calls for a scheduler RPC.  Here the connection
reads the socket in large blocks and takes the records out of its buffer,
and keeps the reply's records until the request ends (or more input is
needed), then sends them in one call, and closes a Unix socket without
waiting for the web server to close its end first.  Everything else -- the
records' meaning, the WSGI environment, the request's life -- is flup's.
"""

import socket
import struct

from flup.server import fcgi_base
from flup.server.fcgi_single import WSGIServer as _FlupWSGIServer

_HEADER = struct.Struct("!BBHHBx")      # version, type, request id, length, padding
_READ_SIZE = 1 << 16
_SEND_SIZE = 1 << 18         # output held back at most (a reply is usually far less)

_DISPATCH = {fcgi_base.FCGI_GET_VALUES: "_do_get_values",
             fcgi_base.FCGI_BEGIN_REQUEST: "_do_begin_request",
             fcgi_base.FCGI_ABORT_REQUEST: "_do_abort_request",
             fcgi_base.FCGI_PARAMS: "_do_params",
             fcgi_base.FCGI_STDIN: "_do_stdin",
             fcgi_base.FCGI_DATA: "_do_data"}


class Connection(fcgi_base.Connection):
    """One connection from the web server; records in and out through buffers."""

    def __init__(self, sock, addr, server, timeout):
        super().__init__(sock, addr, server, timeout)
        self._in = b""
        self._pos = 0
        self._out = []
        self._out_bytes = 0

    def _fill(self, need):
        """Until ``need`` unread bytes are buffered (EOFError if the peer closed)."""
        while len(self._in) - self._pos < need:
            self._send_output()         # never wait for input with a reply held back
            data = self._sock.recv(_READ_SIZE)
            if not data:
                raise EOFError
            self._in = self._in[self._pos:] + data
            self._pos = 0

    def process_input(self):
        """Read one record and act on it, as flup's does."""
        self._fill(8)
        version, kind, request_id, length, padding = _HEADER.unpack_from(self._in, self._pos)
        self._fill(8 + length + padding)
        start = self._pos + 8
        rec = fcgi_base.Record(kind, request_id)
        rec.version, rec.contentLength, rec.paddingLength = version, length, padding
        rec.contentData = self._in[start:start + length]
        self._pos = start + length + padding
        handler = _DISPATCH.get(kind)
        if handler is not None:
            getattr(self, handler)(rec)
        elif request_id == fcgi_base.FCGI_NULL_REQUEST_ID:
            self._do_unknown_type(rec)

    def _do_get_values(self, inrec):
        """FCGI_GET_VALUES, answered (flup 1.0.3 looks the names up as bytes in
        its str-keyed table and finds none)."""
        outrec = fcgi_base.Record(fcgi_base.FCGI_GET_VALUES_RESULT)
        pos = 0
        while pos < inrec.contentLength:
            pos, (name, _) = fcgi_base.decode_pair(inrec.contentData, pos)
            cap = self.server.capability.get(name.decode("latin-1"))
            if cap is not None:
                outrec.contentData += fcgi_base.encode_pair(name, str(cap).encode("latin-1"))
        outrec.contentLength = len(outrec.contentData)
        self.writeRecord(outrec)

    def writeRecord(self, rec):
        rec.paddingLength = -rec.contentLength & 7
        self._out.append(_HEADER.pack(rec.version, rec.type, rec.requestId,
                                      rec.contentLength, rec.paddingLength))
        if rec.contentLength:
            self._out.append(rec.contentData)
        if rec.paddingLength:
            self._out.append(b"\0" * rec.paddingLength)
        self._out_bytes += 8 + rec.contentLength + rec.paddingLength
        if self._out_bytes >= _SEND_SIZE:      # a long reply (a download) goes as it comes
            self._send_output()

    def _send_output(self):
        if self._out:
            data = b"".join(self._out)
            self._out, self._out_bytes = [], 0
            self._sock.sendall(data)

    def _cleanupSocket(self):
        try:
            self._send_output()
        except OSError:
            pass
        if self.server.unix_socket:
            # flup half-closes, then waits for the peer to close its end; on a
            # Unix socket (mod_fcgid's) nothing sent can be lost by closing now.
            self._sock.close()
        else:
            super()._cleanupSocket()


class WSGIServer(_FlupWSGIServer):
    """flup's fcgi_single.WSGIServer with the batched :class:`Connection`."""

    # Output records as large as the protocol allows (flup: 8 KB), since they
    # are sent together anyway.
    maxwrite = 0xffff

    unix_socket = False

    def __init__(self, application, idle=None, **kwargs):
        super().__init__(application, **kwargs)
        self._jobClass = Connection
        self._idle = idle

    def _mainloopPeriodic(self):
        """After each request, and after each second without one (flup's hook)."""
        if self._idle is not None:
            self._idle()

    def _setupSocket(self):
        sock = super()._setupSocket()
        # flup labels mod_fcgid's socket (fd 0) AF_INET whatever it is: ask the kernel.
        try:
            family = sock.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN)
        except (AttributeError, OSError):
            family = sock.family
        self.unix_socket = family == socket.AF_UNIX
        return sock
