#!/usr/bin/env python3
"""A loopback feed server for the `customs db update` tests.

Serves the files under ROOT with ETag and Last-Modified, answers
conditional GETs with 304 and ranges with 206 (If-Range honoured), and
sends x-goog-hash (md5, crc32c) as Google Cloud Storage does.  What it does
wrong is set per path in ROOT/.faults.json, read on every request:
  {"/osv/all.zip": "500" | "truncate" | "truncate-once" | "corrupt"
                   | "stall" | "404"}
"truncate" sends half the body under the full Content-Length and closes;
"truncate-once" does that to the first request only; "corrupt" flips a
byte but keeps the headers (hashes) of the true file; "stall" sends the
headers and a few bytes, then nothing.  Every request is logged to
ROOT/.requests.log as "METHOD PATH STATUS [conditional] [range]".

usage: feedserver.py ROOT PORTFILE
"""
import base64
import email.utils
import hashlib
import http.server
import json
import os
import sys
import threading
import time

ROOT = os.path.abspath(sys.argv[1])
LOCK = threading.Lock()
ONCE = set()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def faults():
    try:
        with open(os.path.join(ROOT, ".faults.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, status, extra=""):
        with LOCK, open(os.path.join(ROOT, ".requests.log"), "a") as f:
            f.write("%s %s %d%s\n" % (self.command, self.path, status, extra))

    def plain(self, status):
        body = b"error\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.note(status)

    def do_GET(self):
        path = self.path.split("?")[0]
        fault = faults().get(path)
        full = os.path.realpath(os.path.join(ROOT, path.lstrip("/")))
        if fault == "500":
            return self.plain(500)
        if fault == "404" or not full.startswith(ROOT + "/") \
                or not os.path.isfile(full):
            return self.plain(404)
        with open(full, "rb") as f:
            data = f.read()
        st = os.stat(full)
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        lm = email.utils.formatdate(st.st_mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        cond = " conditional" if (inm or ims) else ""
        if (inm and inm == etag) or (not inm and ims and ims == lm):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return self.note(304, cond)
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and \
                self.headers.get("If-Range", etag) in (etag, lm):
            start = int(rng[6:].split("-")[0])
            status = 206
        body = data[start:]
        if fault == "corrupt" and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", lm)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" %
                             (start, len(data) - 1, len(data)))
        self.send_header("x-goog-hash", "crc32c=%s" % base64.b64encode(
            crc32c(data).to_bytes(4, "big")).decode())
        self.send_header("x-goog-hash", "md5=%s" % base64.b64encode(
            hashlib.md5(data).digest()).decode())
        self.end_headers()
        extra = cond + (" range" if status == 206 else "")
        once = fault == "truncate-once" and path not in ONCE
        if fault == "truncate" or once:
            if once:
                ONCE.add(path)
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.note(status, extra + " truncated")
            self.close_connection = True
            return
        if fault == "stall":
            self.wfile.write(body[:16])
            self.wfile.flush()
            self.note(status, extra + " stalled")
            time.sleep(30)
            self.close_connection = True
            return
        self.wfile.write(body)
        self.note(status, extra)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    srv.serve_forever()


if __name__ == "__main__":
    main()
