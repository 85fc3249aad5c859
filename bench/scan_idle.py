#!/usr/bin/env python3
"""scan_idle.py: waits until a customs server's scan queue is empty.

usage: scan_idle.py URL [TIMEOUT_S]
Polls URL/v2/_customs/db every 25 ms over one kept-alive connection
until its "scans" say nothing is queued, running or waiting; exit 0 then,
1 on timeout (default 300 s) or a failed request.  One process polling,
not a curl started per poll: on a 2-core machine those starts took CPU
from the server whose rate the bench measures.
"""
import http.client
import json
import sys
import time
import urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2
                               else 300.0)
conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
while time.monotonic() < deadline:
    try:
        conn.request("GET", "/v2/_customs/db")
        r = conn.getresponse()
        body = r.read()
    except (OSError, http.client.HTTPException):
        sys.exit(1)
    if r.status != 200:
        sys.exit(1)
    scans = json.loads(body).get("scans") or {}
    if scans and not any(scans.get(k, 0)
                         for k in ("queued", "running", "waiting")):
        sys.exit(0)
    time.sleep(0.025)
sys.exit(1)
