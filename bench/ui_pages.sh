#!/usr/bin/env bash
# bench/ui_pages.sh [--tags N] [--findings N]: how long the web UI's API
# calls and pages take for a repository of N tags (default 1000) and an
# image with N findings (default 5000).
#
# The image is the Debian fixture (tests/data/images/debian-bookworm-
# minbase); the findings come from a synthetic OSV feed that names its
# source packages N times over (ids BENCH-00001..., introduced 0, fixed in
# a version no package has), posted to the server, which re-matches.  The
# API is timed with curl (median of 5); the pages, when Debian's chromium,
# chromium-driver and python3-selenium are installed, by the browser's
# clocks from the start of the navigation to the content drawn
# (bench/ui_pages.py).  The image is timed three times: its first view
# (the server reads the report), again (the server kept its detail in
# memory) and after a restart (its detail kept on disk); the diff first
# and again (kept by the pair of reports).
# Figures go to standard output.
#
# Environment: BUILD (default build), CUSTOMS (the binary), TMPDIR.
set -euo pipefail

NTAGS=1000 NFIND=5000
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
CUSTOMS=${CUSTOMS:-$root/${BUILD:-build}/customs}
while [ $# -gt 0 ]; do
	case $1 in
	--tags) NTAGS=$2; shift 2 ;;
	--findings) NFIND=$2; shift 2 ;;
	*) echo "usage: $0 [--tags N] [--findings N]" >&2; exit 2 ;;
	esac
done
TMP=$(mktemp -d)
PID=
cleanup() {
	[ -z "$PID" ] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$root/tests/data/images/mklayout.sh"

fixture_stage "$root/tests/data/images/debian-bookworm-minbase" "$TMP/deb"
oci_image "$TMP/l" debian "$TMP/deb" >/dev/null
start() {
	rm -f "$TMP/port"
	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TMP/port" \
		--data "$TMP/data" --threads 2 --scan-workers 2 \
		--vuln-db "$TMP/data/vulndb.db" >>"$TMP/server.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
	URL=http://127.0.0.1:$(cat "$TMP/port")
}
start

m=$(jq -r '.manifests[0].digest' "$TMP/l/index.json")
mf=$TMP/l/blobs/sha256/${m#sha256:}
for dg in $(jq -r '.config.digest, .layers[].digest' "$mf"); do
	curl -sSf -o /dev/null -X POST --data-binary "@$TMP/l/blobs/sha256/${dg#sha256:}" \
		"$URL/v2/bench/many/blobs/uploads/?digest=$dg"
done
put() {
	curl -sSf -o /dev/null -X PUT --data-binary "@$mf" \
		-H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		"$URL/v2/bench/many/manifests/$1"
}
put latest
curl -sSf -o "$TMP/rep.json" "$URL/v2/bench/many/_customs/scan/latest?wait=60"

# The feed: NFIND advisories over the image's source packages.
python3 - "$TMP/rep.json" "$NFIND" "$TMP/feed.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
srcs = sorted({(p.get("source") or {}).get("name") or p["name"]
               for p in rep["packages"]})
n = int(sys.argv[2])
sev = ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
       "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
       "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", None]
out, i = [], 0
while len(out) < n:
    for s in srcs:
        if len(out) >= n:
            break
        i += 1
        a = {"schema_version": "1.6.0", "id": "BENCH-%05d" % i,
             "modified": "2026-01-01T00:00:00Z",
             "summary": "synthetic advisory %d for %s" % (i, s),
             "affected": [{"package": {"name": s, "ecosystem": "Debian:12"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [
                               {"introduced": "0"},
                               {"fixed": "999:0" if i % 3 else None}]}]}]}
        ev = a["affected"][0]["ranges"][0]["events"]
        if ev[1]["fixed"] is None:
            del ev[1]
        if sev[i % 4]:
            a["severity"] = [{"type": "CVSS_V3", "score": sev[i % 4]}]
        out.append(a)
json.dump(out, open(sys.argv[3], "w"))
PY
curl -sSf -o /dev/null -H 'Content-Type: application/json' \
	--data-binary "@$TMP/feed.json" "$URL/v2/_customs/db"
# wait_idle: until no scan is queued, running or waiting.
wait_idle() {
	for _ in $(seq 1 600); do
		curl -sSf -o "$TMP/db.json" "$URL/v2/_customs/db"
		jq -e '.scans.queued == 0 and .scans.running == 0 and
			.scans.waiting == 0' "$TMP/db.json" >/dev/null && break
		sleep 0.1
	done
}
wait_idle
got=$(curl -sSf "$URL/v2/bench/many/_customs/scan/latest" | jq '.vulnerabilities | length')
echo "image findings: $got"
for i in $(seq -w 1 "$NTAGS"); do put "t$i"; done
# A tag push scans its image again: timed meanwhile, each new report
# would be a first view, and the scans would take the CPU.
wait_idle
echo "tags: $(curl -sSf "$URL/v2/_customs/tags?repo=bench/many&n=1" | jq .total)"

# once_ms PATH: one GET's total time.
once_ms() {
	curl -sSf -o /dev/null -w '%{time_total}' "$URL$1" |
		awk '{ printf "%.0f", $1 * 1000 }'
}
# median_ms PATH: the median of 5 GETs' total time.
median_ms() {
	for _ in 1 2 3 4 5; do
		curl -sSf -o /dev/null -w '%{time_total}\n' "$URL$1"
	done | sort -n | sed -n 3p | awk '{ printf "%.0f", $1 * 1000 }'
}
PY=/usr/bin/python3
PAGES=
if [ -x /usr/bin/chromium ] && "$PY" -c 'import selenium' 2>/dev/null; then
	PAGES=1
	# The first view of the image: its report not yet read.
	TMPDIR=$TMP "$PY" "$here/ui_pages.py" "$URL" cold
else
	echo "GET /v2/_customs/image ($got findings), first: $(once_ms '/v2/_customs/image?repo=bench/many&ref=latest') ms"
fi
echo "GET /v2/_customs/tags?repo=bench/many&n=50: $(median_ms '/v2/_customs/tags?repo=bench/many&n=50') ms"
echo "GET /v2/_customs/repositories ($NTAGS tags): $(median_ms /v2/_customs/repositories) ms"
echo "GET /v2/_customs/image ($got findings), again: $(median_ms '/v2/_customs/image?repo=bench/many&ref=latest') ms"
echo "GET /v2/_customs/chart ($NTAGS tags, push order): $(median_ms '/v2/_customs/chart?repo=bench/many') ms"
echo "GET /v2/_customs/status: $(median_ms /v2/_customs/status) ms"
echo "image JSON: $(curl -sSf -o /dev/null -w '%{size_download}' "$URL/v2/_customs/image?repo=bench/many&ref=latest") bytes"
echo "GET /v2/_customs/diff ($got findings each), first: $(once_ms '/v2/_customs/diff?repo=bench/many&from=t0001&to=latest') ms"
echo "GET /v2/_customs/diff ($got findings each), again: $(median_ms '/v2/_customs/diff?repo=bench/many&from=t0001&to=latest') ms"
# A restart: the image's detail is read from disk, not its report.
kill "$PID"
wait "$PID" 2>/dev/null || true
start
echo "GET /v2/_customs/image ($got findings), after a restart: $(once_ms '/v2/_customs/image?repo=bench/many&ref=latest') ms"
if [ -n "$PAGES" ]; then
	TMPDIR=$TMP "$PY" "$here/ui_pages.py" "$URL"
else
	echo "pages: not timed (chromium, chromium-driver, python3-selenium)"
fi
