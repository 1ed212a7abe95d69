#!/usr/bin/python3
# A tiny NBD server for tests/nbd.bats: fixed newstyle, GO, simple replies
# only, a RAM disk.  It misbehaves on purpose:
#   nbd-drop.py PORT drop       every connection drops in the middle of the
#                               reply to a READ at offset 8 MiB
#   nbd-drop.py PORT drop-once  only the first connection does
#   nbd-drop.py PORT garbage    answers like an HTTP server
#   nbd-drop.py PORT oldstyle   speaks the oldstyle handshake
# It serves one connection at a time, for ever.
import socket
import struct
import sys

SIZE = 64 << 20
DROP_AT = 8 << 20
port, mode = int(sys.argv[1]), sys.argv[2]
disk = bytearray(SIZE)
drops_left = 1 if mode == "drop-once" else (1 << 30)


def recv_full(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b


def opt_reply(c, opt, typ, data=b""):
    c.sendall(struct.pack(">QIII", 0x3E889045565A9, opt, typ, len(data)) + data)


def serve(c):
    global drops_left
    if mode == "garbage":
        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        return
    if mode == "oldstyle":
        c.sendall(b"NBDMAGIC" + struct.pack(">QQI", 0x420281861253, SIZE, 1) + bytes(124))
        return
    c.sendall(b"NBDMAGIC" + b"IHAVEOPT" + struct.pack(">H", 3))
    recv_full(c, 4)
    while True:
        magic, opt, length = struct.unpack(">QII", recv_full(c, 16))
        data = recv_full(c, length)
        if opt == 7:  # GO
            opt_reply(c, opt, 3, struct.pack(">HQH", 0, SIZE, 1 | 4))
            opt_reply(c, opt, 1)
            break
        if opt == 2:  # ABORT
            opt_reply(c, opt, 1)
            return
        opt_reply(c, opt, (1 << 31) | 1)  # UNSUP, STRUCTURED_REPLY too
    while True:
        magic, flags, typ, handle, off, length = struct.unpack(
            ">IHHQQI", recv_full(c, 28))
        if typ == 0:
            reply = struct.pack(">IIQ", 0x67446698, 0, handle) + bytes(disk[off:off + length])
            if off == DROP_AT and drops_left > 0:
                drops_left -= 1
                c.sendall(reply[:16 + length // 2])
                return
            c.sendall(reply)
        elif typ == 1:
            disk[off:off + length] = recv_full(c, length)
            c.sendall(struct.pack(">IIQ", 0x67446698, 0, handle))
        elif typ == 2:
            return
        else:
            c.sendall(struct.pack(">IIQ", 0x67446698, 0, handle))


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
while True:
    conn, _ = s.accept()
    try:
        serve(conn)
    except (EOFError, ConnectionError):
        pass
    conn.close()
