#!/bin/bash
# The image view the web UI's first look at an image asks for (its
# layers, packages and findings, made from the report) is made as the
# report is stored, by a scan or by a re-match after a DB change, before
# any UI request: the view's file is there, /metrics counts it as made on
# a report, and the first request reads it (made on no request) and
# answers the report's findings.  A view no report made (a platform of an
# index asked for) is made on its request, and its file written after the
# reply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
. "$(dirname "$0")/ui_lib.sh"

ui_setup

# built WHEN: views made since start on a report, or on a request.
built() {
	req GET /metrics
	expect 200
	awk -v k="customs_ui_views_built_total{when=\"$1\"}" \
		'$1 == k { print $2; found = 1 } END { if (!found) print "none" }' "$B"
}
# report_blob REPO DIGEST: the blob of DIGEST's report (its referrer's
# one layer holds the same bytes).
report_blob() {
	local ref

	req GET "/v2/$1/referrers/$2?artifactType=application/vnd.customs.scan.report.v1%2Bjson"
	expect 200
	ref=$(jq -r '.manifests[0].digest' "$B")
	req GET "/v2/$1/manifests/$ref" -H "Accept: $OCI_MANIFEST"
	expect 200
	jq -r '.layers[0].digest' "$B"
}
# view_file REPO BLOB [PLATFORM]: the file of that report's image view in
# REPO, named by a hash of its key.
view_file() {
	printf 'image\n%s\n%s\n%s' "$1" "$2" "${3:-}" | sha256sum |
		awk -v d="$DATA/ui-views" '{ print d "/" $1 }'
}
# wait_file PATH WHAT: the file appears (the views are made on the pool).
wait_file() {
	local i

	for i in $(seq 1 200); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	fail "no view file for $2: $(ls "$DATA/ui-views" 2>/dev/null)"
}

# --- Scanned, and nothing asked of the UI yet: each image's view is made.
for x in "team/app $deb" "team/app $alp" "other/secret $npm"; do
	set -- $x
	wait_file "$(view_file "$1" "$(report_blob "$1" "$2")")" "$1@$2"
done
n=$(built report)
[ "$n" != none ] && [ "$n" -ge 3 ] || fail "views made on reports: $n"
[ "$(built request)" = 0 ] || fail "a view was made on a request"
# The first look reads it, and it is the report's.
req GET "/v2/_customs/image?repo=team/app&ref=v2"
expect 200
jq -r '.image.findings[] | [.package, .installed, .id, (.fixed // "")] |
	@tsv' "$B" | sort >"$TMP/img.tsv"
sp_findings "$TMP/deb.json" >"$TMP/rep.tsv"
diff -u "$TMP/rep.tsv" "$TMP/img.tsv" >&2 || fail "image findings"
[ "$(built request)" = 0 ] || fail "the first look made the view again"

# --- A platform of an index: made on its request, its file after.
ui_index multi
req GET "/v2/_customs/image?repo=team/app&ref=multi&platform=linux/arm64"
expect 200
jq -e --arg d "$deb" '.image.digest == $d and
	.image.platform == "linux/arm64"' "$B" >/dev/null ||
	fail "index platform: $(jq -c 'del(.image.packages, .image.findings)' "$B")"
[ "$(built request)" = 1 ] || fail "made on request: $(built request)"
wait_file "$(view_file team/app "$(report_blob team/app "$idx")" linux/arm64)" \
	"multi, linux/arm64"

# --- A DB change re-matches: v2's new report gets its view at once.
old=$(report_blob team/app "$deb")
src=$(jq -r '[.packages[] | (.source.name // .name)] | sort | .[0]' \
	"$TMP/deb.json")
jq -n --arg s "$src" '[{schema_version: "1.6.0", id: "TEST-VIEWS-1",
	modified: "2026-01-01T00:00:00Z", summary: "a finding for the view",
	affected: [{package: {name: $s, ecosystem: "Debian:12"},
		ranges: [{type: "ECOSYSTEM", events: [{introduced: "0"}]}]}]}]' \
	>"$TMP/feed.json"
req GET /v2/_customs/db
v1=$(jq -r .version "$B")
req POST /v2/_customs/db --data-binary "@$TMP/feed.json" \
	-H 'Content-Type: application/json'
expect 200
v2=$(jq -r .version "$B")
[ "$v2" != "$v1" ] || fail "the DB version did not change"
sp_wait_idle "$v2"
sp_report team/app v2
jq -e '[.vulnerabilities[].id] | index("TEST-VIEWS-1")' "$B" >/dev/null ||
	fail "the re-match did not add the finding"
new=$(report_blob team/app "$deb")
[ "$new" != "$old" ] || fail "the report blob did not change"
before=$(built request)
wait_file "$(view_file team/app "$new")" "v2 after the re-match"
req GET "/v2/_customs/image?repo=team/app&ref=v2"
expect 200
jq -e '[.image.findings[].id] | index("TEST-VIEWS-1")' "$B" >/dev/null ||
	fail "the image view lacks the new finding"
[ "$(built request)" = "$before" ] ||
	fail "the view of the re-matched report was made on the request"
# A clean stop (views queued or being made end with it).
stop_server
