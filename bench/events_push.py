#!/usr/bin/env python3
"""events_push.py: pushes N small manifests to a registry and reports
how long after each PUT's response its push event reached the webhook
receiver (tests/integration/webhook_rx.py's JSON lines), or with --rate
only the pushes a second.

usage: events_push.py URL REPO N [RX_JSONL]
prints "pushes_per_s X" and, with RX_JSONL, "latency_p50_ms X",
"latency_p99_ms X", "latency_max_ms X", "events N".
"""
import hashlib
import http.client
import json
import sys
import time
import urllib.parse

url, repo, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rx = sys.argv[4] if len(sys.argv) > 4 else None
u = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port)

cfg = b'{"architecture":"amd64","os":"linux"}'
cdg = "sha256:" + hashlib.sha256(cfg).hexdigest()
conn.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, cdg), cfg,
             {"Content-Type": "application/octet-stream"})
r = conn.getresponse()
r.read()
assert r.status == 201, r.status

sent = {}
t0 = time.time()
for i in range(n):
    body = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/x-bench",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cdg, "size": len(cfg)},
        "layers": [],
        "annotations": {"n": "%d-%f" % (i, t0)},
    }).encode()
    dg = "sha256:" + hashlib.sha256(body).hexdigest()
    conn.request("PUT", "/v2/%s/manifests/t%d" % (repo, i), body,
                 {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    r = conn.getresponse()
    r.read()
    sent[dg] = time.time()
    assert r.status == 201, r.status
elapsed = time.time() - t0
print("pushes_per_s %.1f" % (n / elapsed))
if not rx:
    sys.exit(0)

got = {}
deadline = time.time() + 30
while len(got) < n and time.time() < deadline:
    time.sleep(0.2)
    try:
        lines = open(rx).read().splitlines()
    except OSError:
        continue
    for line in lines:
        rec = json.loads(line)
        for ev in json.loads(rec["body"])["events"]:
            dg = ev.get("target", {}).get("digest")
            if ev["action"] == "push" and dg in sent and dg not in got:
                got[dg] = rec["t"]
lat = sorted((got[d] - sent[d]) * 1000 for d in got)
if not lat:
    sys.exit("no push event arrived")
print("events %d" % len(lat))
print("latency_p50_ms %.1f" % lat[len(lat) // 2])
print("latency_p99_ms %.1f" % lat[min(len(lat) - 1, int(len(lat) * 0.99))])
print("latency_max_ms %.1f" % lat[-1])
