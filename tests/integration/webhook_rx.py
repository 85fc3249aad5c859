#!/usr/bin/env python3
"""webhook_rx.py: a loopback webhook receiver for t_events.sh.

Appends each POST it gets to OUT as one JSON line: {"path", "headers",
"body" (text), "t" (unix time it arrived)}, and answers STATUS (200 by
default, or the number in the file STATUS_FILE when it exists).  Writes
the port it listens on to PORT_FILE.

usage: webhook_rx.py OUT PORT_FILE [STATUS_FILE] [PORT]
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT, PORT_FILE = sys.argv[1], sys.argv[2]
STATUS_FILE = sys.argv[3] if len(sys.argv) > 3 else ""
PORT = int(sys.argv[4]) if len(sys.argv) > 4 else 0
MAX_BODY = 16 << 20


def status():
    try:
        with open(STATUS_FILE) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 200


class Rx(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n < 0 or n > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(n)
        code = status()
        if code < 300:
            rec = {"path": self.path, "t": time.time(),
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            with open(OUT, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", PORT), Rx)
tmp = PORT_FILE + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, PORT_FILE)
srv.serve_forever()
