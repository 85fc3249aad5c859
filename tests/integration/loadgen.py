#!/usr/bin/env python3
"""loadgen.py: the load of t_load.sh, on plain asyncio sockets.

    loadgen.py HOST PORT [--conns 500] [--slow 50] [--seconds 30]

Opens CONNS keep-alive connections that push (monolithic blob uploads and
manifests referring to them) and pull (manifests by tag, blobs) at random
until SECONDS pass, plus SLOW connections that trickle a request's headers
a byte a second (slowloris), plus a probe that asks GET /v2/ twice a
second and times the answer.  Then it pulls back everything that was
acknowledged (201) and compares it byte for byte.  Prints one JSON object.
"""
import argparse
import asyncio
import hashlib
import json
import os
import random
import time

REPO = "load/app"
MT = "application/vnd.oci.image.manifest.v1+json"


class Conn:
    """One HTTP/1.1 keep-alive connection; reconnects when closed."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.r = self.w = None

    async def open(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.w:
            self.w.close()
        self.r = self.w = None

    async def request(self, method, path, body=b"", headers=None):
        if not self.w:
            await self.open()
        h = {"Host": f"{self.host}:{self.port}",
             "Content-Length": str(len(body))}
        h.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        self.w.write(head.encode() + body)
        await self.w.drain()
        status_line = await self.r.readline()
        if not status_line:
            self.close()
            raise ConnectionError("closed before a reply")
        status = int(status_line.split()[1])
        rh = {}
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            rh[k.strip().lower()] = v.strip()
        n = int(rh.get("content-length", "0"))
        data = await self.r.readexactly(n) if n and method != "HEAD" else b""
        if rh.get("connection", "").lower() == "close":
            self.close()
        return status, rh, data


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Load:
    def __init__(self, args):
        self.a = args
        self.deadline = 0.0
        self.stats = {"requests": 0, "pushes_acked": 0, "blobs_acked": 0,
                      "pulls_ok": 0, "statuses": {}, "conn_errors": 0}
        self.blobs = {}      # digest -> size, acknowledged
        self.manifests = {}  # tag -> body, acknowledged
        self.pullable = []   # (tag, [blob digests]) pushed before the load
        self.probe = []
        self.slow_cut = 0

    def count(self, status):
        self.stats["requests"] += 1
        k = str(status)
        self.stats["statuses"][k] = self.stats["statuses"].get(k, 0) + 1

    async def push_blob(self, c, data):
        dg = digest(data)
        st, _, _ = await c.request(
            "POST", f"/v2/{REPO}/blobs/uploads/?digest={dg}", data,
            {"Content-Type": "application/octet-stream"})
        self.count(st)
        if st == 201:
            self.blobs[dg] = len(data)
            self.stats["blobs_acked"] += 1
        return st == 201, dg

    async def push_image(self, c, tag):
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "n": random.random()}).encode()
        layer = os.urandom(random.randint(1024, 8192))
        ok1, cdg = await self.push_blob(c, cfg)
        ok2, ldg = await self.push_blob(c, layer)
        if not (ok1 and ok2):
            return False
        body = json.dumps({
            "schemaVersion": 2, "mediaType": MT,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdg, "size": len(cfg)},
            "layers": [{"mediaType":
                        "application/vnd.oci.image.layer.v1.tar",
                        "digest": ldg, "size": len(layer)}]}).encode()
        st, _, _ = await c.request("PUT", f"/v2/{REPO}/manifests/{tag}",
                                   body, {"Content-Type": MT})
        self.count(st)
        if st == 201:
            self.manifests[tag] = body
            self.stats["pushes_acked"] += 1
            return (tag, [cdg, ldg])
        return False

    async def pull(self, c):
        tag, blobs = random.choice(self.pullable)
        st, _, data = await c.request("GET", f"/v2/{REPO}/manifests/{tag}",
                                      headers={"Accept": MT})
        self.count(st)
        dg = random.choice(blobs)
        st2, _, blob = await c.request("GET", f"/v2/{REPO}/blobs/{dg}")
        self.count(st2)
        if st == 200 and st2 == 200 and digest(blob) == dg:
            self.stats["pulls_ok"] += 1

    async def worker(self, wid):
        c = Conn(self.a.host, self.a.port)
        n = 0
        while time.monotonic() < self.deadline:
            try:
                if random.random() < 0.5:
                    n += 1
                    await self.push_image(c, f"w{wid}-{n}")
                else:
                    await self.pull(c)
            except (ConnectionError, OSError, asyncio.IncompleteReadError,
                    ValueError, IndexError):
                self.stats["conn_errors"] += 1
                c.close()
                await asyncio.sleep(0.1)
        c.close()

    async def slowloris(self):
        """Headers a byte a second; counts being cut off by the server."""
        try:
            r, w = await asyncio.open_connection(self.a.host, self.a.port)
            w.write(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
            await w.drain()
            while time.monotonic() < self.deadline:
                w.write(b"X")
                await w.drain()
                try:
                    # A reply (408) or the end of the stream: cut off.
                    await asyncio.wait_for(r.read(1), 1.0)
                    self.slow_cut += 1
                    break
                except asyncio.TimeoutError:
                    pass
            w.close()
        except (ConnectionError, OSError):
            self.slow_cut += 1

    async def prober(self):
        c = Conn(self.a.host, self.a.port)
        while time.monotonic() < self.deadline:
            t = time.monotonic()
            try:
                st, _, _ = await asyncio.wait_for(c.request("GET", "/v2/"), 10)
            except (ConnectionError, OSError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError):
                st = 0
                c.close()
            self.probe.append((st, time.monotonic() - t))
            await asyncio.sleep(0.5)
        c.close()

    async def verify(self):
        """Every acknowledged push, pulled back over a few connections."""
        lost = []
        items = [("b", k) for k in self.blobs] + \
                [("m", k) for k in self.manifests]

        async def one(chunk):
            c = Conn(self.a.host, self.a.port)
            for kind, key in chunk:
                if kind == "b":
                    st, _, d = await c.request("GET",
                                               f"/v2/{REPO}/blobs/{key}")
                    ok = st == 200 and digest(d) == key
                else:
                    st, _, d = await c.request(
                        "GET", f"/v2/{REPO}/manifests/{key}",
                        headers={"Accept": MT})
                    ok = st == 200 and d == self.manifests[key]
                if not ok:
                    lost.append(key)
            c.close()
        await asyncio.gather(*(one(items[i::8]) for i in range(8)))
        return lost

    async def run(self):
        c = Conn(self.a.host, self.a.port)
        for i in range(10):
            got = await self.push_image(c, f"base-{i}")
            if got:
                self.pullable.append(got)
        c.close()
        if not self.pullable:
            raise SystemExit("could not push the images to pull")
        base = dict(self.stats)
        self.stats["requests"] = 0
        self.stats["statuses"] = {}
        start = time.monotonic()
        self.deadline = start + self.a.seconds
        tasks = [self.worker(i) for i in range(self.a.conns)]
        tasks += [self.slowloris() for _ in range(self.a.slow)]
        tasks.append(self.prober())
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
        lost = await self.verify()
        lat = sorted(t for _, t in self.probe)
        out = dict(self.stats)
        out.update({
            "seconds": round(elapsed, 1),
            "throughput_rps": round(self.stats["requests"] / elapsed, 1),
            "conns": self.a.conns, "slow": self.a.slow,
            "slow_cut": self.slow_cut,
            "probes": len(self.probe),
            "probes_ok": sum(1 for s, _ in self.probe if s == 200),
            "probe_p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
            "probe_max_ms": round(1000 * lat[-1], 1) if lat else None,
            "verified": len(self.blobs) + len(self.manifests),
            "lost": len(lost), "lost_keys": lost[:5],
            "setup_pushes": base["pushes_acked"],
        })
        print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, default=500)
    p.add_argument("--slow", type=int, default=50)
    p.add_argument("--seconds", type=float, default=30)
    asyncio.run(Load(p.parse_args()).run())


if __name__ == "__main__":
    main()
