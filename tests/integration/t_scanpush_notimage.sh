#!/bin/bash
# A scan-report referrer only for what was read as a container filesystem.
# An artifact (a Helm chart), an image whose layers are random blobs (what
# the OCI conformance suite pushes) and an index of such images get no
# referrer: the scan endpoint answers a report that says "not a container
# image: nothing to scan", and a client that lists the referrers it pushed
# finds exactly those.  A real image, even with one truncated layer among
# good ones, still gets its report and referrer.  Under --deny-severity the
# random-layer image is refused (its layers were never read) and the
# artifact served.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

NOT_IMAGE="not a container image: nothing to scan"
REPORT_TYPE=application/vnd.customs.scan.report.v1+json
W=$TMP/w
mkdir -p "$W"

# manifest CONFIG_MT CONFIG_FILE LAYER_MT LAYER_FILE...: a manifest file.
manifest() {
	local cmt=$1 cfg=$2 lmt=$3 out=$W/m-$RANDOM.json layers="" f

	shift 3
	for f in "$@"; do
		layers="$layers${layers:+,}{\"mediaType\":\"$lmt\",\"digest\":\"$(sha256 "$f")\",\"size\":$(stat -c %s "$f")}"
	done
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[%s]}' \
		"$OCI_MANIFEST" "$cmt" "$(sha256 "$cfg")" "$(stat -c %s "$cfg")" \
		"$layers" >"$out"
	echo "$out"
}

# push REPO TAG MANIFEST BLOB...: prints the manifest digest.
push() {
	local repo=$1 tag=$2 m=$3 f

	shift 3
	for f in "$@"; do
		push_blob "$repo" "$f" >/dev/null
	done
	push_manifest "$repo" "$tag" "$m" "$OCI_MANIFEST"
	sha256 "$m"
}

# not_scanned REPO DIGEST: the scan endpoint's final answer.
not_scanned() {
	req GET "/v2/$1/_customs/scan/$2?wait=60"
	expect 200
	jq -e --arg d "$2" --arg w "$NOT_IMAGE" '.status == "not-scanned" and
		.reason == $w and .image.digest == $d and (.notes | index($w)) and
		(has("counts") | not)' "$B" >/dev/null ||
		fail "$2 in $1: $(cat "$B")"
}

# not_image REPO DIGEST: not_scanned, and no referrer.
not_image() {
	not_scanned "$1" "$2"
	req GET "/v2/$1/referrers/$2"
	expect 200
	jq -e '.manifests == []' "$B" >/dev/null ||
		fail "$2 in $1 has referrers: $(cat "$B")"
}

start_server --scan-workers 1

# --- A Helm chart: an artifact, never scanned.
echo '{"name":"demo","version":"0.1.0"}' >"$W/helm-config.json"
head -c 2048 /dev/urandom >"$W/chart.tgz"
helm_m=$(manifest application/vnd.cncf.helm.config.v1+json \
	"$W/helm-config.json" application/vnd.cncf.helm.chart.content.v1.tar+gzip \
	"$W/chart.tgz")
helm=$(push ni/helm 0.1.0 "$helm_m" "$W/helm-config.json" "$W/chart.tgz")
not_image ni/helm "$helm"
# By tag, without waiting: the same final answer at once.
req GET /v2/ni/helm/_customs/scan/0.1.0
expect 200
jq -e '.status == "not-scanned"' "$B" >/dev/null || fail "by tag: $(cat "$B")"

# --- An image config with random layers: read, and nothing was a tar.
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
	>"$W/config.json"
head -c 3000 /dev/urandom >"$W/rand1"
head -c 5000 /dev/urandom >"$W/rand2"
rand_m=$(manifest "$OCI_CONFIG" "$W/config.json" "$OCI_LAYER" "$W/rand1" "$W/rand2")
rand=$(push ni/rand v1 "$rand_m" "$W/config.json" "$W/rand1" "$W/rand2")
not_image ni/rand "$rand"
jq -e '.filesystem_layers == 0 and (.layers | length) == 2' "$B" >/dev/null ||
	req GET "/v2/ni/rand/_customs/scan/$rand"
jq -e '.filesystem_layers == 0 and (.layers | length) == 2' "$B" >/dev/null ||
	fail "random layers: $(head -c 400 "$B")"

# As the conformance suite does: a referrer pushed for it, then listed.
echo -n '{}' >"$W/empty.json"
printf '{"schemaVersion":2,"mediaType":"%s","artifactType":"application/vnd.example.signature","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2}],"subject":{"mediaType":"%s","digest":"%s","size":%d}}' \
	"$OCI_MANIFEST" "$(sha256 "$W/empty.json")" "$(sha256 "$W/empty.json")" \
	"$OCI_MANIFEST" "$rand" "$(stat -c %s "$rand_m")" >"$W/sig.json"
sig=$(push ni/rand sig "$W/sig.json" "$W/empty.json")
not_image ni/rand "$sig"
req GET "/v2/ni/rand/referrers/$rand"
expect 200
jq -e --arg s "$sig" '[.manifests[].digest] == [$s]' "$B" >/dev/null ||
	fail "referrers of the random image: $(cat "$B")"

# --- An index of such images (and the chart) is not one either.
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%d}]}' \
	"$OCI_INDEX" "$OCI_MANIFEST" "$rand" "$(stat -c %s "$rand_m")" \
	"$OCI_MANIFEST" "$helm" "$(stat -c %s "$helm_m")" >"$W/index.json"
push_blob ni/rand "$W/helm-config.json" >/dev/null
push_blob ni/rand "$W/chart.tgz" >/dev/null
push_manifest ni/rand "$helm" "$helm_m" "$OCI_MANIFEST"
push_manifest ni/rand idx "$W/index.json" "$OCI_INDEX"
idx=$(sha256 "$W/index.json")
not_image ni/rand "$idx"

# --- A real image still gets its report and referrer; so does one with a
# truncated gzip layer among good ones (the report notes the bad layer).
real=$(push_image ni/real v1 "$W" real)
req GET "/v2/ni/real/_customs/scan/$real?wait=60"
expect 200
jq -e '.status == "complete" and .filesystem_layers == 1 and
	has("counts")' "$B" >/dev/null || fail "real: $(cat "$B")"
req GET "/v2/ni/real/referrers/$real$SP_RT"
jq -e --arg t "$REPORT_TYPE" '[.manifests[].artifactType] == [$t]' "$B" \
	>/dev/null || fail "real image referrers: $(cat "$B")"

make_image "$W" good >/dev/null
head -c 300 "$W/layer-good.tar.gz" >"$W/trunc.tar.gz"
part_m=$(manifest "$OCI_CONFIG" "$W/config.json" "$OCI_LAYER" \
	"$W/layer-good.tar.gz" "$W/trunc.tar.gz")
part=$(push ni/part v1 "$part_m" "$W/config.json" "$W/layer-good.tar.gz" \
	"$W/trunc.tar.gz")
req GET "/v2/ni/part/_customs/scan/$part?wait=60"
expect 200
jq -e --arg t "$(sha256 "$W/trunc.tar.gz")" '.status == "complete" and
	.filesystem_layers == 1 and ([.notes[] | select(contains($t))] |
	length) > 0' "$B" >/dev/null || fail "truncated layer: $(cat "$B")"
req GET "/v2/ni/part/referrers/$part$SP_RT"
jq -e '.manifests | length == 1' "$B" >/dev/null ||
	fail "partly bad image lost its referrer: $(cat "$B")"

# --- A DB change re-matches every report: still none for what is not an
# image, and the real ones keep exactly one.
sp_feed_zip "$TMP/all.zip"
req POST /v2/_customs/db --data-binary "@$TMP/all.zip" \
	-H 'Content-Type: application/zip'
expect 200
v=$(jq -r .version "$B")
[ "$(jq -r .rematch "$B")" -ge 4 ] || fail "re-armed: $(cat "$B")"
sp_wait_idle "$v"
not_scanned ni/rand "$rand"
not_image ni/rand "$idx"
req GET "/v2/ni/rand/referrers/$rand"
jq -e --arg s "$sig" '[.manifests[].digest] == [$s]' "$B" >/dev/null ||
	fail "referrers of the random image after a re-match: $(cat "$B")"
for r in "ni/real $real" "ni/part $part"; do
	set -- $r
	req GET "/v2/$1/referrers/$2$SP_RT"
	jq -e '.manifests | length == 1' "$B" >/dev/null ||
		fail "$1 after a re-match: $(cat "$B")"
done
stop_server

# --- The policy: the random-layer image was never read, so it is not
# "clean" (refused); an artifact is not a container image (served).
start_server --scan-workers 1 --deny-severity critical --policy-wait 5
req GET "/v2/ni/rand/manifests/v1"
expect 403 DENIED
jq -e --arg w "$NOT_IMAGE" '.errors[0].message | contains($w)' "$B" \
	>/dev/null || fail "policy reason: $(cat "$B")"
req GET "/v2/ni/helm/manifests/0.1.0"
expect 200
stop_server
