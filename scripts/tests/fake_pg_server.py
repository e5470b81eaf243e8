#!/usr/bin/env python3
"""A stand-in PostgreSQL server that only asks for a password: it answers the
startup packet with AuthenticationCleartextPassword, writes what the client sent
(user, database, password) as one JSON line to OUT, refuses the login and closes.
So a test can see which password the real libpq (pg_dump) read from PGPASSFILE.

Usage: fake_pg_server.py PORT_FILE OUT [SECONDS]
Listens on 127.0.0.1, on a free port written to PORT_FILE; serves connections
one at a time until SECONDS (default 30) have passed.
"""
import json
import os
import socket
import struct
import sys
import time

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


def error_response(message):
    body = b"SFATAL\0" + b"C28P01\0" + b"M" + message.encode() + b"\0" + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def serve(conn, out):
    params = {}
    while True:
        (length,) = struct.unpack("!I", read_exact(conn, 4))
        payload = read_exact(conn, length - 4)
        (code,) = struct.unpack("!I", payload[:4])
        if code in (SSL_REQUEST, GSSENC_REQUEST):
            conn.sendall(b"N")  # no TLS, no GSS encryption: go on in plain text
            continue
        if code == CANCEL_REQUEST:
            return
        if code >> 16 != 3:
            raise ValueError(f"unexpected protocol {code}")
        fields = payload[4:].split(b"\0")
        for k, v in zip(fields[0::2], fields[1::2]):
            if k:
                params[k.decode()] = v.decode("utf-8", "replace")
        break
    conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
    kind = read_exact(conn, 1)
    (length,) = struct.unpack("!I", read_exact(conn, 4))
    body = read_exact(conn, length - 4)
    if kind != b"p":
        raise ValueError(f"expected a password message, got {kind!r}")
    record = {
        "user": params.get("user"),
        "database": params.get("database"),
        "password": body.rstrip(b"\0").decode("utf-8", "replace"),
    }
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    conn.sendall(error_response("fake server: password recorded, login refused"))


def main():
    port_file, out = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        srv.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        with conn:
            conn.settimeout(5)
            try:
                serve(conn, out)
            except (ConnectionError, ValueError, socket.timeout) as e:
                print(f"fake_pg_server: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
