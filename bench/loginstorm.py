#!/usr/bin/env python3
"""loginstorm.py: failed logins from many source addresses at once, while a
probe asks an anonymous GET /v2/ over and over.

    bench/loginstorm.py PORT [--addrs N] [--per-addr N] [--user U]
                       [--probe PATH] [--probe-auth USER:PASS]

Each of N addresses (127.0.0.2, 127.0.0.3, ...: all loopback on Linux)
sends --per-addr requests with a wrong password for --user, one after the
other on one connection, all addresses at once.  Meanwhile the probe (from
127.0.0.1) sends GET --probe on a fresh connection every 50 ms, and once
more after the storm.  Prints one JSON object: the statuses the storm got,
how long it took, the probes' statuses and latencies (ms).  Exit status 1
if any probe got no answer.
"""
import argparse
import base64
import json
import socket
import threading
import time


def request(sock, path, auth=None):
    head = f"GET {path} HTTP/1.1\r\nHost: t\r\n"
    if auth:
        head += "Authorization: Basic " + base64.b64encode(
            auth.encode()).decode() + "\r\n"
    sock.sendall((head + "\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        got = sock.recv(65536)
        if not got:
            raise ConnectionError("closed")
        buf += got
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    clen = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v)
    while len(body) < clen:
        got = sock.recv(65536)
        if not got:
            raise ConnectionError("closed")
        body += got
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--addrs", type=int, default=100)
    ap.add_argument("--per-addr", type=int, default=4)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--probe", default="/v2/")
    ap.add_argument("--probe-auth", default=None)
    a = ap.parse_args()

    statuses, lock = {}, threading.Lock()
    done = threading.Event()

    def attacker(i):
        src = f"127.0.{(i + 2) // 256}.{(i + 2) % 256}"
        try:
            s = socket.create_connection(("127.0.0.1", a.port), timeout=120,
                                         source_address=(src, 0))
            for k in range(a.per_addr):
                st = request(s, "/v2/", f"{a.user}:wrong-{i}-{k}")
                with lock:
                    statuses[st] = statuses.get(st, 0) + 1
                if st != 401:
                    # 429 closes nothing, but reconnect to be sure.
                    s.close()
                    s = socket.create_connection(
                        ("127.0.0.1", a.port), timeout=120,
                        source_address=(src, 0))
            s.close()
        except OSError as e:
            with lock:
                statuses[str(e)] = statuses.get(str(e), 0) + 1

    probes, missed = [], 0

    def probe_once():
        nonlocal missed
        t0 = time.monotonic()
        try:
            s = socket.create_connection(("127.0.0.1", a.port), timeout=60)
            st = request(s, a.probe, a.probe_auth)
            s.close()
            probes.append((st, (time.monotonic() - t0) * 1000))
        except OSError:
            missed += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=attacker, args=(i,))
               for i in range(a.addrs)]
    for t in threads:
        t.start()
    waiter = threading.Thread(target=lambda: ([t.join() for t in threads],
                                              done.set()))
    waiter.start()
    while not done.is_set():
        probe_once()
        done.wait(0.05)
    storm_s = time.monotonic() - t0
    probe_once()
    lat = sorted(ms for _, ms in probes)
    print(json.dumps({
        "storm_statuses": {str(k): v for k, v in statuses.items()},
        "storm_s": round(storm_s, 2),
        "probes": len(probes),
        "probe_statuses": sorted({st for st, _ in probes}),
        "probe_missed": missed,
        "probe_p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
        "probe_max_ms": round(lat[-1], 1) if lat else None,
    }))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
