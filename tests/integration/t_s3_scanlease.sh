#!/bin/bash
# A hung node loses its scan job: two nodes on one Ceph RGW and one
# PostgreSQL, --scan-lease 4s.  Node A claims the job of an image pushed
# to it and is held in the middle of the scan (hold_proxy.py stalls its S3
# reads); node B starts.  While A runs, its heartbeat keeps the lease (B
# leaves the job alone for more than twice the lease); then A is
# SIGSTOPped (alive, its PostgreSQL session open, but stuck) and B takes
# the job once the lease runs out and finishes it: the report is served,
# B's claim was the job's second.  When A resumes, its scan of the job B
# took publishes, stores and ends nothing.  Layers are not indexed ahead
# (--scan-layers=false), so the held read is the scan job's own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
need psql python3
. "$(dirname "$0")/s3hold_lib.sh"
ceph_start

LEASE=4
pg_db
CI=$PG_CI
declare -A NPID NURL
hold_start

# node NAME S3_ENDPOINT: starts it (scratch in $TMP/NAME), URL its address.
node() {
	local n=$1

	mkdir -p "$TMP/$n"
	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TMP/$n/port" \
		--data "$TMP/$n/data" --threads 2 --meta "$CI" \
		--storage s3 --s3-endpoint "$2" --s3-region "$S3_REGION" \
		--s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX" --s3-cache 0 \
		--scan-workers 1 --scan-lease ${LEASE}s --scan-layers=false \
		--gc-interval 0 --scrub-interval 0 --db-update-interval 0 \
		>>"$TMP/$n/server.log" 2>&1 &
	NPID[$n]=$!
	HOLD_NODES+=($!)
	port_wait "${NPID[$n]}" "$TMP/$n/port" "$TMP/$n/server.log"
	NURL[$n]=http://127.0.0.1:$(cat "$TMP/$n/port")
}

# job DIGEST: "state attempts" of its scan job.
job() {
	psql "$CI" -XAtqF' ' -c "SELECT state, attempts FROM scan_jobs WHERE digest = '$1'"
}

node a "$HOLD_ENDPOINT"
URL=${NURL[a]}
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$TMP/config"
mkdir -p "$TMP/root/etc"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n' >"$TMP/root/etc/os-release"
tar -C "$TMP/root" -czf "$TMP/layer" etc
# A's reads of the layer stall (its scan's); the rest goes through.
hold "GET /$S3_BUCKET/$S3_PREFIX/blobs/sha256/$(sha256sum "$TMP/layer" | cut -d' ' -f1)"
cdg=$(push_blob lease "$TMP/config")
ldg=$(push_blob lease "$TMP/layer")
cat >"$TMP/manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$cdg","size":$(stat -c %s "$TMP/config")},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$ldg","size":$(stat -c %s "$TMP/layer")}]}
JSON
push_manifest lease v1 "$TMP/manifest" application/vnd.oci.image.manifest.v1+json
mdg=$(sha256 "$TMP/manifest")

# A claimed the job and waits on S3 in the middle of it.
hold_wait
[ "$(job "$mdg")" = "running 1" ] || fail "job after A's claim: $(job "$mdg")"

# B comes up; A's heartbeat keeps its lease past twice its length.
node b "$S3_ENDPOINT"
sleep $((2 * LEASE + 2))
[ "$(job "$mdg")" = "running 1" ] ||
	fail "A's running job was taken while A was alive: $(job "$mdg")"

# A hangs: its session stays, its heartbeat stops; B takes the job.
kill -STOP "${NPID[a]}"
URL=${NURL[b]}
req GET "/v2/lease/_customs/scan/$mdg?wait=60"
expect 200
[ "$(jq -r .status "$B")" = complete ] || fail "report: $(head -c 300 "$B")"
# Done once its SBOM referrers follow the report.
for i in $(seq 1 100); do
	[ "$(job "$mdg" | cut -d' ' -f1)" = done ] && break
	sleep 0.1
done
[ "$(job "$mdg" | cut -d' ' -f1)" = done ] || fail "job after B: $(job "$mdg")"
grep -q "scan $mdg (lease): started, attempt 2" "$TMP/b/server.log" &&
	grep -q "scan $mdg (lease): scanned" "$TMP/b/server.log" ||
	fail "B did not take the job: $(tail -n 5 "$TMP/b/server.log")"

RT='?artifactType=application/vnd.customs.scan.report.v1%2Bjson'
req GET "/v2/lease/referrers/$mdg$RT"
expect 200
jq -e '.manifests | length == 1' "$B" >/dev/null || fail "B's referrers: $(cat "$B")"
ref=$(jq -r '.manifests[0].digest' "$B")
req GET "/v2/lease/_customs/scan/$mdg"
cp "$B" "$TMP/report-b.json"

# A resumes with S3 back: its scan ends, but the job is B's now: A
# publishes, stores and ends nothing.  The report and referrer stay B's.
unhold
kill -CONT "${NPID[a]}"
for i in $(seq 1 100); do
	grep -q "scan $mdg (lease): the job is no longer this claim's" \
		"$TMP/a/server.log" && break
	sleep 0.1
done
grep -q "scan $mdg (lease): the job is no longer this claim's" \
	"$TMP/a/server.log" || fail "A's stale scan: $(tail -n 5 "$TMP/a/server.log")"
grep -q "scan $mdg (lease): \(scanned\|published\)" "$TMP/a/server.log" &&
	fail "A finished B's job: $(grep "scan $mdg" "$TMP/a/server.log")"
[ "$(job "$mdg")" = "done 0" ] || fail "job after A: $(job "$mdg")"
URL=${NURL[a]}
req GET "/v2/lease/_customs/scan/$mdg?wait=30"
expect 200
same_file "$TMP/report-b.json" "$B"
req GET "/v2/lease/referrers/$mdg$RT"
expect 200
jq -e --arg r "$ref" '[.manifests[].digest] == [$r]' "$B" >/dev/null ||
	fail "referrers after A: $(cat "$B")"
echo ok
