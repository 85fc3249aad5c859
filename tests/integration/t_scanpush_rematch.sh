#!/bin/bash
# A DB change re-matches every stored report: 3 x N images (Debian,
# Alpine and npm variants that differ only in their configs, so each is
# its own digest and scan) are pushed under a DB holding only Alpine's
# secdb; then the full feed is POSTed.  The Debian and npm reports change
# and are replaced, the Alpine ones are kept.  Prints how many images per
# second the re-match handled, and how long after the manifest PUT's
# response a Debian image's report was there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

N=${SCANPUSH_VARIANTS:-30}
sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db" alpine-secdb
start_server

# push_variant TAG REPO I: the layout image with a config of its own.
push_variant() {
	local m=$(sp_manifest_file "$1") cfg="$TMP/cfg-$1-$3.json" man
	local old=$(jq -r .config.digest "$m")

	jq -c --arg i "$3" '.config.Labels = {variant: $i}' \
		"$L/blobs/sha256/${old#sha256:}" >"$cfg"
	man="$TMP/man-$1-$3.json"
	jq -c --arg d "$(sha256 "$cfg")" --argjson s "$(stat -c %s "$cfg")" \
		'.config.digest = $d | .config.size = $s' "$m" >"$man"
	push_blob "$2" "$cfg" >/dev/null
	push_manifest "$2" "v$3" "$man" "$OCI_MANIFEST"
	sha256 "$man"
}

# The first of each kind brings its layers along.
for kind in debian alpine310 npm; do
	sp_push "$kind" "re/$kind" base >/dev/null
done
# Time from a Debian manifest PUT's response to its report.
times=()
for i in $(seq 1 5); do
	m=$(sp_manifest_file debian)
	cfg="$TMP/cfg-t$i.json"
	jq -c --arg i "t$i" '.config.Labels = {variant: $i}' \
		"$L/blobs/sha256/$(jq -r .config.digest "$m" | cut -d: -f2)" >"$cfg"
	jq -c --arg d "$(sha256 "$cfg")" --argjson s "$(stat -c %s "$cfg")" \
		'.config.digest = $d | .config.size = $s' "$m" >"$TMP/man-t$i.json"
	push_blob re/debian "$cfg" >/dev/null
	dg=$(sha256 "$TMP/man-t$i.json")
	push_manifest re/debian "t$i" "$TMP/man-t$i.json" "$OCI_MANIFEST"
	t0=$(ms)
	curl -sf -o /dev/null "$URL/v2/re/debian/_customs/scan/$dg?wait=30" ||
		fail "no report for $dg"
	times+=($(($(ms) - t0)))
done
echo "debian report ready after the PUT response: ${times[*]} ms"

for i in $(seq 1 "$N"); do
	for kind in debian alpine310 npm; do
		push_variant "$kind" "re/$kind" "$i" >>"$TMP/$kind.digests"
	done
done
total=$(($(wc -l <"$TMP/debian.digests") * 3 + 3 + 5))
req GET /v2/_customs/db
v1=$(jq -r .version "$B")
sp_wait_idle "$v1"
jq -e --argjson n "$total" '.scans.reports == $n and .scans.failed == 0' \
	"$B" >/dev/null || fail "after the pushes: $(cat "$B") (want $total)"

sp_feed_zip "$TMP/all.zip"
t0=$(ms)
req POST /v2/_customs/db --data-binary "@$TMP/all.zip" \
	-H 'Content-Type: application/zip'
expect 200
t_imp=$(ms)
v2=$(jq -r .version "$B")
n=$(jq -r .rematch "$B")
[ "$n" = "$total" ] || fail "re-armed $n reports, want $total"
sp_wait_idle "$v2"
t1=$(ms)
ms_spent=$((t1 - t_imp))
[ "$ms_spent" -gt 0 ] || ms_spent=1
echo "import: $((t_imp - t0)) ms; re-match: $n images in $ms_spent ms" \
	"($((n * 1000 / ms_spent)) images/s)," \
	"$(grep -c ': re-matched in' "$TMP/server.log") replaced"

# Every report agrees with the new DB; the Alpine ones were kept.
for kind in debian npm; do
	for dg in $(head -n 3 "$TMP/$kind.digests"); do
		sp_report "re/$kind" "$dg" 0
		jq -e --arg v "$v2" '.db.version == $v' "$B" >/dev/null ||
			fail "$kind $dg not re-matched"
	done
done
sp_report re/debian "$(tail -n 1 "$TMP/debian.digests")" 0
sp_same_findings "$B" debian-bookworm-minbase
sp_report re/npm "$(tail -n 1 "$TMP/npm.digests")" 0
sp_same_findings "$B" npm-app
sp_report re/alpine310 "$(tail -n 1 "$TMP/alpine310.digests")" 0
sp_same_findings "$B" alpine-3.10.4
jq -e --arg v "$v1" '.db.version == $v' "$B" >/dev/null ||
	fail "an unchanged Alpine report was replaced"
req GET "/v2/re/npm/referrers/$(tail -n 1 "$TMP/npm.digests")$SP_RT"
jq -e --arg v "$v2" '(.manifests | length) == 1 and
	.manifests[0].annotations["dev.customs.scan.db"] == $v and
	.manifests[0].annotations["dev.customs.scan.critical"] == "1"' "$B" \
	>/dev/null || fail "npm referrer: $(cat "$B")"
[ "$(grep -c ': scanned in' "$TMP/server.log")" = "$total" ] ||
	fail "layers read again during the re-match"
stop_server
