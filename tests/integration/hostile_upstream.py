#!/usr/bin/env python3
"""hostile_upstream.py DIR: a registry upstream that misbehaves, on loopback.

Listens on 127.0.0.1 at two ports the kernel picks and writes them to
DIR/port (the upstream) and DIR/secret.port (an "internal" service the
upstream tries to make the registry fetch from).  Every request line goes
to DIR/log, and every request to the internal service to DIR/secret.log.

What /v2/<repo>/blobs/<digest> does depends on <repo>:
  wrong          the good blob with one byte changed (right length, and a
                 Docker-Content-Digest that claims the digest); once
                 DIR/good exists, the good blob
  good           the good blob
  wrongbig       a 3 MiB blob with one byte changed (and its digest claimed)
  endless        200, no Content-Length, zeros at full speed, forever
  trickle        200, no Content-Length, 16 KiB every 0.25 s, forever
  endlesserror   500, no Content-Length, an error body that never ends
  headerbomb     200 with 1 MiB of headers
  huge           200, Content-Length: 1 TB, then nothing (it waits)
  hugest         200, Content-Length: 1 EiB, then a trickle of zeros
  redirect       307 to http://127.0.0.1:SECRET/secret
  redirect-https 307 to https://127.0.0.1:SECRET/secret (https by name,
                 loopback by address)
  redirect-name  307 to http://localhost:SECRET/cdn/<digest>
  redirect-self  307 to /cdn/<digest> on this host: the good blob
  badrange       a Range asked for is answered with bytes 0-9 (206)
  headlies       the good blob, its Docker-Content-Digest another one
  norange        the big blob, whole (200), whatever Range is asked for
  (the internal service serves the secret at /secret and the good blob at
  /cdn/<digest>, for a redirect an operator allowed)
Manifests (/v2/<repo>/manifests/<ref>):
  bigmanifest      200, Content-Length 8 MiB, then the bytes, slowly
  endlessmanifest  200, no Content-Length, JSON-ish bytes forever
  hugelayer        an image manifest whose layer says it has 1 TB
GET /v2/ is 200.  Only loopback; ends on SIGTERM.
"""
import hashlib
import http.server
import json
import os
import signal
import sys
import threading
import time

DIR = sys.argv[1]
GOOD = b"customs hostile-upstream test blob\n" * 2000
GOOD_DG = "sha256:" + hashlib.sha256(GOOD).hexdigest()
BIG = (b"customs hostile-upstream big blob\n" * 100000)[:3 << 20]
BIG_DG = "sha256:" + hashlib.sha256(BIG).hexdigest()
SECRET = b"SECRET-internal-" + os.urandom(8).hex().encode() + b"\n"
CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": []},
                     "config": {}}).encode()
CONFIG_DG = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
HUGE_LAYER_DG = "sha256:" + "ab" * 32
LOCK = threading.Lock()
secret_port = 0


def log(name, line):
    with LOCK, open(os.path.join(DIR, name), "a") as f:
        f.write(line + "\n")


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", ctype="application/octet-stream",
              extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def stream(self, chunk, pause, length=None, code=200):
        """code, then chunk after chunk (pause s apart) until cut off."""
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        try:
            while True:
                self.wfile.write(chunk)
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
        except OSError:
            pass


class Upstream(Base):
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        log("log", "%s %s" % (self.command, self.path))
        parts = self.path.split("?")[0].split("/")
        if self.path in ("/v2", "/v2/"):
            return self.reply(200, b"{}", "application/json")
        if len(parts) == 3 and parts[1] == "cdn":
            return self.blob(GOOD)
        if len(parts) != 5 or parts[1] != "v2":
            return self.reply(404, b"{}", "application/json")
        repo, kind, ref = parts[2], parts[3], parts[4]
        if kind == "manifests":
            return self.manifest(repo, ref)
        if kind != "blobs":
            return self.reply(404, b"{}", "application/json")
        if ref == CONFIG_DG:
            return self.blob(CONFIG)
        if repo == "good":
            return self.blob(GOOD)
        if repo == "badrange" and self.headers.get("Range"):
            return self.reply(206, GOOD[:10], extra=[
                ("Content-Range", "bytes 0-9/%d" % len(GOOD))])
        if repo == "headlies":
            return self.blob(GOOD, "sha256:" + "0" * 64)
        if repo == "norange":
            return self.blob(BIG)
        if repo == "wrong":
            if os.path.exists(os.path.join(DIR, "good")):
                return self.blob(GOOD)
            bad = bytearray(GOOD)
            bad[len(bad) // 2] ^= 1
            return self.blob(bytes(bad), GOOD_DG)
        if repo == "wrongbig":
            bad = bytearray(BIG)
            bad[-100] ^= 1
            return self.blob(bytes(bad), BIG_DG)
        if repo == "endless":
            return self.stream(b"\0" * 65536, 0)
        if repo == "trickle":
            return self.stream(b"\0" * 16384, 0.25)
        if repo == "headerbomb":
            self.send_response(200)
            for i in range(2048):
                self.send_header("X-Bomb-%d" % i, "b" * 500)
            self.send_header("Content-Length", "0")
            try:
                self.end_headers()
            except OSError:
                pass
            self.close_connection = True
            return
        if repo == "endlesserror":
            return self.stream(b"x" * 65536, 0, code=500)
        if repo == "huge":
            return self.stream(b"", 0.5, 1 << 40)
        if repo == "hugest":
            return self.stream(b"\0" * 1024, 0.5, 1 << 60)
        where = {
            "redirect": "http://127.0.0.1:%d/secret" % secret_port,
            "redirect-https": "https://127.0.0.1:%d/secret" % secret_port,
            "redirect-name": "http://localhost:%d/cdn/%s" % (secret_port,
                                                            ref),
            "redirect-self": "/cdn/%s" % ref,
        }.get(repo)
        if where:
            return self.reply(307, b"", "text/plain", [("Location", where)])
        return self.reply(404, json.dumps({"errors": [{
            "code": "BLOB_UNKNOWN", "message": "no such blob"}]}).encode(),
            "application/json")

    def blob(self, body, digest=None):
        dg = digest or "sha256:" + hashlib.sha256(body).hexdigest()
        self.reply(200, body, extra=[("Docker-Content-Digest", dg)])

    def manifest(self, repo, ref):
        mt = "application/vnd.oci.image.manifest.v1+json"
        if repo == "bigmanifest":
            self.send_response(200)
            self.send_header("Content-Type", mt)
            self.send_header("Content-Length", str(8 << 20))
            self.end_headers()
            try:
                for _ in range(8 << 10):
                    self.wfile.write(b" " * 1024)
                    time.sleep(0.01)
            except OSError:
                pass
            self.close_connection = True
            return
        if repo == "endlessmanifest":
            self.send_response(200)
            self.send_header("Content-Type", mt)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(b'{"schemaVersion":2,"x":"')
                while True:
                    self.wfile.write(b"a" * 65536)
            except OSError:
                pass
            return
        if repo == "hugelayer":
            body = json.dumps({
                "schemaVersion": 2, "mediaType": mt,
                "config": {"mediaType":
                           "application/vnd.oci.image.config.v1+json",
                           "digest": CONFIG_DG, "size": len(CONFIG)},
                "layers": [{"mediaType":
                            "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": HUGE_LAYER_DG, "size": 1 << 40}],
            }).encode()
            dg = "sha256:" + hashlib.sha256(body).hexdigest()
            return self.reply(200, body, mt,
                              [("Docker-Content-Digest", dg)])
        return self.reply(404, json.dumps({"errors": [{
            "code": "MANIFEST_UNKNOWN", "message": "no such manifest"}]})
            .encode(), "application/json")


class Internal(Base):
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        log("secret.log", "%s %s" % (self.command, self.path))
        if self.path.startswith("/cdn/"):
            return self.reply(200, GOOD)
        self.reply(200, SECRET, "text/plain")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global secret_port
    os.makedirs(DIR, exist_ok=True)
    internal = Server(("127.0.0.1", 0), Internal)
    secret_port = internal.server_address[1]
    up = Server(("127.0.0.1", 0), Upstream)
    with open(os.path.join(DIR, "secret"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(DIR, "good.digest"), "w") as f:
        f.write(GOOD_DG + "\n")
    with open(os.path.join(DIR, "big.digest"), "w") as f:
        f.write(BIG_DG + "\n")
    with open(os.path.join(DIR, "hugelayer.digest"), "w") as f:
        f.write(HUGE_LAYER_DG + "\n")
    with open(os.path.join(DIR, "secret.port.tmp"), "w") as f:
        f.write(str(secret_port))
    os.rename(os.path.join(DIR, "secret.port.tmp"),
              os.path.join(DIR, "secret.port"))
    with open(os.path.join(DIR, "port.tmp"), "w") as f:
        f.write(str(up.server_address[1]))
    os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=internal.serve_forever, daemon=True).start()
    up.serve_forever()


main()
