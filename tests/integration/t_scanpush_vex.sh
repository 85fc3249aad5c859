#!/bin/bash
# VEX in the registry: an OpenVEX document pushed as a referrer of an image
# (as `oras attach --artifact-type application/vnd.openvex+json` does)
# suppresses the finding it says does not apply in the report, its counts,
# the report referrer's annotations and the pull policy, and the report
# names the document by digest; a statement about a whole repository
# (pkg:oci/NAME, no digest) applies to each of its images; a CycloneDX VEX
# file given with --vex applies to every report; and a re-match after a DB
# change keeps the suppressions; deleting a VEX referrer brings its findings
# back; broken VEX referrers are skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$DATA"
# OSV less one npm advisory at first: the whole feed comes later, a DB
# change that changes the npm image's findings.
LATE=GHSA-c2qf-rxjj-qqgw
cp -a "$SP_DATA/advisories/osv" "$TMP/osv-part"
rm "$TMP/osv-part/npm/$LATE.json"
"$CUSTOMS" db import --db "$DATA/vulndb.db" "$TMP/osv-part" \
	>"$TMP/import.log" 2>&1 || fail "db import: $(tail -n 3 "$TMP/import.log")"
VT=application/vnd.openvex%2Bjson
start_server --deny-severity critical --policy-wait 30

# push_vex REPO SUBJECT FILE [TYPE]: FILE as a referrer of SUBJECT; prints
# the referrer's digest.
push_vex() {
	local type=${4:-application/vnd.openvex+json} man=$TMP/vexman.json
	local sub size

	printf '{}' >"$TMP/empty.json"
	push_blob "$1" "$TMP/empty.json" >/dev/null
	push_blob "$1" "$3" >/dev/null
	req HEAD "/v2/$1/manifests/$2" -H "Accept: $OCI_MANIFEST"
	size=$(hdr Content-Length)
	jq -n --arg t "$type" --arg d "$(sha256 "$3")" \
		--argjson s "$(stat -c %s "$3")" --arg sub "$2" \
		--argjson ss "$size" --arg mt "$OCI_MANIFEST" '{
		schemaVersion: 2, mediaType: $mt, artifactType: $t,
		config: {mediaType: "application/vnd.oci.empty.v1+json",
		  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		  size: 2},
		layers: [{mediaType: $t, digest: $d, size: $s}],
		subject: {mediaType: $mt, digest: $sub, size: $ss}}' >"$man"
	push_manifest "$1" "$(sha256 "$man")" "$man" "$OCI_MANIFEST"
	sha256 "$man"
}

# push_variant TAG REPO LABEL: layout image TAG with a config of its own
# (same inventory, another digest), layers and all; prints its digest.
push_variant() {
	local m cfg=$TMP/cfg-$3.json man=$TMP/man-$3.json dg

	m=$(sp_manifest_file "$1")
	jq -c --arg i "$3" '.config.Labels = {variant: $i}' \
		"$L/blobs/sha256/$(jq -r .config.digest "$m" | cut -d: -f2)" \
		>"$cfg"
	jq -c --arg d "$(sha256 "$cfg")" --argjson s "$(stat -c %s "$cfg")" \
		'.config.digest = $d | .config.size = $s' "$m" >"$man"
	push_blob "$2" "$cfg" >/dev/null
	jq -r '.layers[].digest | sub("^sha256:"; "")' "$m" |
		while read -r dg; do
			push_blob "$2" "$L/blobs/sha256/$dg" >/dev/null
		done || fail "layers of $1"
	push_manifest "$2" "$3" "$man" "$OCI_MANIFEST"
	sha256 "$man"
}

# until_report REPO DG JQ: polls the report until JQ holds (the VEX
# referrer re-queues the image's job).
until_report() {
	local i

	for i in $(seq 1 600); do
		sp_report "$1" "$2" 0
		jq -e "$3" "$B" >/dev/null && return 0
		sleep 0.05
	done
	fail "report of $1@$2 never satisfied $3: $(head -c 600 "$B")"
}

# --- A referrer of the image -------------------------------------------
npm=$(sp_push npm vex/npm v1)
sp_report vex/npm "$npm"
jq -e '.counts.critical == 1' "$B" >/dev/null || fail "npm: $(jq -c .counts "$B")"
crit=$(jq -r '.vulnerabilities[] | select(.severity == "critical") | .id' "$B")
cpurl=$(jq -r '.vulnerabilities[] | select(.severity == "critical") |
	.package.purl' "$B")
high=$(jq -r '.counts.high' "$B")
[ "$crit" != "$LATE" ] || fail "the critical is the late advisory"
req GET /v2/vex/npm/manifests/v1
expect 403 DENIED

jq -n --arg v "$crit" --arg img "pkg:oci/npm@$npm" --arg p "$cpurl" '{
	"@context": "https://openvex.dev/ns/v0.2.0",
	"@id": "https://example.com/vex/npm-1", author: "test",
	timestamp: "2026-01-01T00:00:00Z", version: 1,
	statements: [{vulnerability: {name: $v},
		products: [{"@id": $img, subcomponents: [{"@id": $p}]}],
		status: "not_affected",
		justification: "vulnerable_code_not_in_execute_path"}]}' \
	>"$TMP/npm.vex.json"
doc=$(push_vex vex/npm "$npm" "$TMP/npm.vex.json")
until_report vex/npm "$npm" '.counts.critical == 0'
jq -e --arg v "$crit" --arg d "$doc" --argjson h "$high" '
	.counts.high == $h and
	([.vulnerabilities[].id] | index($v) == null) and
	.suppressed[0].id == $v and
	.suppressed[0].vex.status == "not_affected" and
	.suppressed[0].vex.justification ==
		"vulnerable_code_not_in_execute_path" and
	.suppressed[0].vex.document == $d and .vex == [$d]' "$B" >/dev/null ||
	fail "suppression: $(jq -c '{counts, suppressed, vex}' "$B")"
# The report referrer says so too.
req GET "/v2/vex/npm/referrers/$npm$SP_RT"
expect 200
jq -e --arg d "$doc" '.manifests | length == 1 and
	.[0].annotations["dev.customs.scan.critical"] == "0" and
	.[0].annotations["dev.customs.scan.vex"] == $d' "$B" >/dev/null ||
	fail "report referrer: $(cat "$B")"
# The VEX document is a referrer like any other.
req GET "/v2/vex/npm/referrers/$npm?artifactType=$VT"
jq -e --arg d "$doc" '.manifests[0].digest == $d' "$B" >/dev/null ||
	fail "VEX referrer not listed: $(cat "$B")"
# The policy lets the image through: its only critical is suppressed.
req GET /v2/vex/npm/manifests/v1
expect 200
# Hostile or broken VEX referrers are skipped (logged); what the good one
# says stays.
printf 'not json {' >"$TMP/bad.vex.json"
jq -n '{"@context": "https://openvex.dev/ns/v0.2.0",
	statements: [{vulnerability: {name: "X"}, status: "not_affected"}]}' \
	>"$TMP/nojust.vex.json"
bad=$(push_vex vex/npm "$npm" "$TMP/bad.vex.json")
push_vex vex/npm "$npm" "$TMP/nojust.vex.json" >/dev/null
i=0
until grep -q "VEX $bad in vex/npm" "$TMP/server.log" || [ $((i++)) -gt 200 ]
do sleep 0.05; done
grep -q "VEX $bad in vex/npm: .*line 1" "$TMP/server.log" ||
	fail "bad VEX not logged"
until_report vex/npm "$npm" '.counts.critical == 0'
jq -e --arg d "$doc" '.vex == [$d]' "$B" >/dev/null ||
	fail "after bad VEX: $(jq -c '{counts, vex}' "$B")"
req GET /v2/vex/npm/manifests/v1
expect 200

# --- A statement about the whole repository ----------------------------
deb=$(sp_push debian vex/deb v1)
sp_report vex/deb "$deb"
ids=$(jq -r '[.vulnerabilities[].id] | sort | join(" ")' "$B")
set -- $ids
[ $# -ge 2 ] || fail "debian has $# findings: $ids"
first=$1
# A second image of the repository (another config).
deb2=$(push_variant debian vex/deb v2)
sp_report vex/deb "$deb2"
jq -e --arg v "$first" '[.vulnerabilities[].id] | index($v) != null' \
	"$B" >/dev/null || fail "v2 lacks $first before the VEX"
jq -n --arg v "$first" '{
	"@context": "https://openvex.dev/ns/v0.2.0",
	"@id": "https://example.com/vex/deb-repo", author: "test",
	timestamp: "2026-01-01T00:00:00Z", version: 1,
	statements: [{vulnerability: {name: $v},
		products: [{"@id": "pkg:oci/deb"}], status: "fixed"}]}' \
	>"$TMP/deb.vex.json"
# Attached to v1, about every image of vex/deb.
wide=$(push_vex vex/deb "$deb" "$TMP/deb.vex.json")
for dg in "$deb" "$deb2"; do
	until_report vex/deb "$dg" \
		'[.vulnerabilities[].id] | index("'"$first"'") == null'
	jq -e --arg v "$first" --arg d "$wide" '.suppressed[0].id == $v and
		.suppressed[0].vex.status == "fixed" and .vex == [$d]' \
		"$B" >/dev/null || fail "$dg: $(jq -c '{suppressed, vex}' "$B")"
done

# Deleting the document brings the finding back in both.
req DELETE "/v2/vex/deb/manifests/$wide"
expect 202
for dg in "$deb" "$deb2"; do
	until_report vex/deb "$dg" \
		'[.vulnerabilities[].id] | index("'"$first"'") != null'
	jq -e '(has("suppressed") | not) and (has("vex") | not)' "$B" \
		>/dev/null || fail "$dg after the delete: $(jq -c .vex "$B")"
done
wide=$(push_vex vex/deb "$deb" "$TMP/deb.vex.json")
until_report vex/deb "$deb2" '.suppressed[0].id == "'"$first"'"'

# --- A re-match after a DB change keeps the suppressions ----------------
# An image of the same inventory as vex/npm's, without VEX: the re-match
# batch shares one match between them, VEX stays the VEXed one's.
plain=$(push_variant npm vex/plain v1)
sp_report vex/plain "$plain"
jq -e '.counts.critical == 1 and (has("vex") | not)' "$B" >/dev/null ||
	fail "plain: $(jq -c '{counts, vex}' "$B")"
req GET /v2/_customs/db
v1=$(jq -r .version "$B")
sp_feed_zip "$TMP/all.zip" osv
req POST /v2/_customs/db --data-binary "@$TMP/all.zip" \
	-H 'Content-Type: application/zip'
expect 200
v2=$(jq -r .version "$B")
[ "$v2" != "$v1" ] || fail "DB version unchanged"
sp_wait_idle "$v2"
sp_report vex/npm "$npm" 0
jq -e --arg v "$crit" --arg d "$doc" --arg db "$v2" --arg late "$LATE" '
	.db.version == $db and
	([.vulnerabilities[].id] | index($late) != null) and
	.counts.critical == 0 and .suppressed[0].id == $v and .vex == [$d]' \
	"$B" >/dev/null || fail "npm after re-match: $(jq -c '{db, counts, vex}' "$B")"
grep -q "scan $npm (vex/npm): re-matched" "$TMP/server.log" ||
	fail "npm was not re-matched"
req GET "/v2/vex/npm/referrers/$npm$SP_RT"
jq -e --arg d "$doc" '.manifests[0].annotations |
	.["dev.customs.scan.critical"] == "0" and
	.["dev.customs.scan.vex"] == $d' "$B" >/dev/null ||
	fail "report referrer after re-match: $(cat "$B")"
for dg in "$deb" "$deb2"; do
	sp_report vex/deb "$dg" 0
	jq -e --arg v "$first" '.suppressed[0].id == $v' "$B" >/dev/null ||
		fail "deb $dg after re-match: $(jq -c '{db, suppressed}' "$B")"
done
sp_report vex/plain "$plain" 0
jq -e --arg late "$LATE" '.counts.critical == 1 and (has("vex") | not) and
	(has("suppressed") | not) and
	([.vulnerabilities[].id] | index($late) != null)' "$B" >/dev/null ||
	fail "plain after re-match: $(jq -c '{counts, vex}' "$B")"
req GET /v2/vex/npm/manifests/v1
expect 200
req GET /v2/vex/plain/manifests/v1
expect 403 DENIED
stop_server

# --- --vex FILE: a CycloneDX VEX (as the spec's examples write it) -------
jq -n --arg v "$crit" --arg p "$cpurl" '{
	bomFormat: "CycloneDX", specVersion: "1.4", version: 1,
	serialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
	vulnerabilities: [{id: $v,
		analysis: {state: "not_affected", justification: "code_not_reachable",
			   detail: "not reachable"},
		affects: [{ref: ("urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#" + $p)}]}]}' \
	>"$TMP/cdx.vex.json"
start_server --deny-severity critical --policy-wait 30 \
	--vex "$TMP/cdx.vex.json"
cdx=$(push_variant npm vex/cdx cdx)
sp_report vex/cdx "$cdx"
jq -e --arg v "$crit" --arg f "$TMP/cdx.vex.json" '.counts.critical == 0 and
	.suppressed[0].id == $v and .suppressed[0].vex.document == $f and
	.suppressed[0].vex.justification == "code_not_reachable" and
	.vex == [$f]' "$B" >/dev/null ||
	fail "--vex: $(jq -c '{counts, suppressed, vex}' "$B")"
req GET /v2/vex/cdx/manifests/cdx
expect 200
stop_server
