#!/bin/bash
# The web UI's JSON API (/v2/_customs/repositories, tags, image, diff) on
# real images pushed and scanned against the fixture DB: every summary,
# count and finding is the stored report's and the answer key's, the tag
# pages walk every tag once, the diff of two tags is their findings'
# difference, and a user who may pull only team/* never learns of another
# repository (left out of lists; a direct URL is the 404 of a name that
# does not exist).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
. "$(dirname "$0")/ui_lib.sh"

ui_setup

# worst REPORT: the first severity with a finding, or null.
worst() {
	jq '[.counts | to_entries[] | select(.value > 0) | .key] as $s |
		(["critical","high","medium","low","unknown"] |
		 map(select(. as $x | $s | index($x))) | .[0])' "$1"
}

# --- Repositories: both, with their tag counts and worst severities.
req GET /v2/_customs/repositories
expect 200
jq -e '[.repositories[].name] == ["other/secret", "team/app"]' "$B" \
	>/dev/null || fail "repositories: $(cat "$B")"
cp "$B" "$TMP/repos.json"
jq -e '.repositories[] | select(.name == "team/app") | .tags == 2 and
	.upstream == null and (.scan_status == "done")' "$TMP/repos.json" \
	>/dev/null || fail "team/app summary: $(cat "$TMP/repos.json")"
# The newest image is the one scanned last; its worst severity is the
# badge.
newest=$(jq -r '.repositories[] | select(.name == "team/app") |
	.newest_tag' "$TMP/repos.json")
[ "$newest" = v1 ] || [ "$newest" = v2 ] || fail "newest tag: $newest"
[ "$newest" = v1 ] && nf=$TMP/alp.json || nf=$TMP/deb.json
[ "$(jq -c '.repositories[] | select(.name == "team/app") | .worst' \
	"$TMP/repos.json")" = "$(worst "$nf")" ] ||
	fail "worst of team/app is not its newest report's ($(worst "$nf"))"
req GET "/v2/_customs/repositories?q=team"
expect 200
jq -e '[.repositories[].name] == ["team/app"]' "$B" >/dev/null ||
	fail "filter q=team: $(cat "$B")"

# --- Tags: digests, platforms, sizes, counts; paged one at a time.
req GET "/v2/_customs/tags?repo=team/app"
expect 200
jq -e --arg a "$alp" --arg d "$deb" --slurpfile ra "$TMP/alp.json" \
	--slurpfile rd "$TMP/deb.json" '.total == 2 and .next == null and
	[.tags[].tag] == ["v1", "v2"] and .tags[0].digest == $a and
	.tags[1].digest == $d and .tags[0].scan.counts == $ra[0].counts and
	.tags[1].scan.counts == $rd[0].counts and
	.tags[0].scan.status == "done" and .tags[0].size > 0 and
	(.tags[0].scan.scanned | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' "$B" >/dev/null ||
	fail "tags: $(cat "$B")"
size=$(jq '[.config.size, .layers[].size] | add' "$(sp_manifest_file debian)")
jq -e --argjson s "$size" '.tags[1].size == $s' "$B" >/dev/null ||
	fail "size of v2 is not $size: $(jq -c '.tags[1]' "$B")"
req GET "/v2/_customs/tags?repo=team/app&n=1"
expect 200
jq -e '[.tags[].tag] == ["v1"] and .next == "v1" and .total == 2' "$B" \
	>/dev/null || fail "page 1: $(cat "$B")"
req GET "/v2/_customs/tags?repo=team/app&n=1&last=v1"
expect 200
jq -e '[.tags[].tag] == ["v2"] and .next == null' "$B" >/dev/null ||
	fail "page 2: $(cat "$B")"

# --- Image: layers with their history, packages, findings, referrers.
req GET "/v2/_customs/image?repo=team/app&ref=v2"
expect 200
cp "$B" "$TMP/img.json"
jq -r '.image.findings[] | [.package, .installed, .id, (.fixed // "")] |
	@tsv' "$TMP/img.json" | sort >"$TMP/img.tsv"
sp_findings "$TMP/deb.json" >"$TMP/rep.tsv"
diff -u "$TMP/rep.tsv" "$TMP/img.tsv" >&2 || fail "image findings"
m=$(sp_manifest_file debian)
jq -e --slurpfile m "$m" --slurpfile r "$TMP/deb.json" --arg d "$deb" '
	.digest == $d and (.image.layers | length) == ($m[0].layers | length)
	and [.image.layers[].digest] == [$m[0].layers[].digest] and
	([.image.packages[].packages | length] | add) ==
	($r[0].packages | length) and
	all(.image.findings[]; has("url") == false and has("layer") ==
		false) and
	(.referrers | map(select(.artifact_type ==
		"application/vnd.customs.scan.report.v1+json")) | length) == 1
	and .policy.verdict == "serve" and
	.downloads.json == "/v2/_customs/report?repo=team/app&ref=" + $d and
	.downloads.cyclonedx == .downloads.json + "&format=cyclonedx"' \
	"$TMP/img.json" >/dev/null || fail "image: $(jq -c 'del(.image.packages,
		.image.findings)' "$TMP/img.json")"
# Each layer's history line is the config's (empty_layer ones skipped).
cfg=$L/blobs/sha256/$(jq -r '.config.digest' "$m" | cut -d: -f2)
jq -c '[.history[]? | select(.empty_layer != true) | .created_by]' "$cfg" \
	>"$TMP/hist.want"
jq -c --slurpfile w "$TMP/hist.want" '[.image.layers[] | .created_by] |
	.[0:($w[0] | length)]' "$TMP/img.json" >"$TMP/hist.got"
cmp -s "$TMP/hist.want" "$TMP/hist.got" ||
	fail "history: $(cat "$TMP/hist.got") vs $(cat "$TMP/hist.want")"
# By digest too.
req GET "/v2/_customs/image?repo=team/app&ref=$deb"
expect 200
# The downloads: the report itself, and as CycloneDX with its findings.
req GET "$(jq -r .downloads.json "$TMP/img.json")"
expect 200
jq -e --slurpfile r "$TMP/deb.json" '. == $r[0]' "$B" >/dev/null ||
	fail "JSON download is not the report"
case $(hdr Content-Disposition) in attachment*) ;; *) fail "no attachment" ;; esac
req GET "$(jq -r .downloads.cyclonedx "$TMP/img.json")"
expect 200
expect_hdr Content-Type application/vnd.cyclonedx+json
jq -e --slurpfile r "$TMP/deb.json" '.bomFormat == "CycloneDX" and
	([.vulnerabilities[].id] | sort) == ([$r[0].vulnerabilities[].id] |
	sort)' "$B" >/dev/null || fail "CycloneDX download: $(head -c 300 "$B")"
req GET "/v2/_customs/report?repo=team/app&ref=v2&format=pdf"
expect 400

# --- Diff: v1 (alpine) to v2 (debian): all of v2's added, v1's fixed.
req GET "/v2/_customs/diff?repo=team/app&from=v1&to=v2"
expect 200
jq -r '.added[] | [.package, .installed, .id, (.fixed // "")] | @tsv' "$B" |
	sort >"$TMP/added.tsv"
jq -r '.fixed[] | [.package, .installed, .id, (.fixed // "")] | @tsv' "$B" |
	sort >"$TMP/fixed.tsv"
diff -u "$TMP/rep.tsv" "$TMP/added.tsv" >&2 || fail "diff added"
sp_findings "$TMP/alp.json" >"$TMP/alp.tsv"
diff -u "$TMP/alp.tsv" "$TMP/fixed.tsv" >&2 || fail "diff fixed"
cp "$B" "$TMP/diff12.json"
# Asked again (kept by the pair of reports), the same answer.
req GET "/v2/_customs/diff?repo=team/app&from=v1&to=v2"
expect 200
cmp -s "$B" "$TMP/diff12.json" || fail "the diff asked again differs"
req GET "/v2/_customs/diff?repo=team/app&from=v2&to=v2"
expect 200
jq -e '(.added | length) == 0 and (.fixed | length) == 0' "$B" >/dev/null ||
	fail "self diff: $(cat "$B")"

# --- Push times and push order.  v0 (v1's manifest again) is tagged a
# second later: newest by push though first by name.
sleep 1.1
push_manifest team/app v0 "$(sp_manifest_file alpine310)" "$OCI_MANIFEST"
req GET "/v2/_customs/tags?repo=team/app"
expect 200
jq -e '.total == 3 and [.tags[].tag] == ["v0", "v1", "v2"] and
	all(.tags[]; (.pushed | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and
	(.created | test("^[0-9]{4}-"))) and
	.tags[0].created == .tags[1].created and
	.tags[0].pushed > .tags[1].pushed and .tags[0].pushed > .tags[2].pushed' \
	"$B" >/dev/null || fail "tag times: $(cat "$B")"
v0pushed=$(jq -r '.tags[0].pushed' "$B")
req GET "/v2/_customs/repositories?q=team"
expect 200
jq -e --arg p "$v0pushed" '.repositories[0] | .newest_tag == "v0" and
	.last_push == $p and .tags == 3' "$B" >/dev/null ||
	fail "the newest image is the last pushed: $(cat "$B")"
# The chart: every tag in push order with its counts; paged by start.
req GET "/v2/_customs/chart?repo=team/app"
expect 200
jq -e --slurpfile ra "$TMP/alp.json" --slurpfile rd "$TMP/deb.json" '
	.total == 3 and .next == null and [.tags[].tag] == ["v1", "v2", "v0"]
	and .tags[0].counts == $ra[0].counts and
	.tags[1].counts == $rd[0].counts and .tags[2].counts == $ra[0].counts
	and .tags[1].status == "done"' "$B" >/dev/null ||
	fail "chart: $(cat "$B")"
req GET "/v2/_customs/chart?repo=team/app&n=2"
expect 200
jq -e '[.tags[].tag] == ["v1", "v2"] and .next == 2' "$B" >/dev/null ||
	fail "chart page 1: $(cat "$B")"
req GET "/v2/_customs/chart?repo=team/app&n=2&start=2"
expect 200
jq -e '[.tags[].tag] == ["v0"] and .next == null and .start == 2' "$B" \
	>/dev/null || fail "chart page 2: $(cat "$B")"
req GET "/v2/_customs/chart?repo=team/app&counts=0"
expect 200
jq -e '[.tags[].tag] == ["v1", "v2", "v0"] and
	all(.tags[]; has("counts") | not)' "$B" >/dev/null ||
	fail "chart without counts: $(cat "$B")"
# As a series (what the page draws): the same tags and counts, arrays.
req GET "/v2/_customs/chart?repo=team/app"
cp "$B" "$TMP/chart.json"
req GET "/v2/_customs/chart?repo=team/app&series=1"
expect 200
jq -e --slurpfile c "$TMP/chart.json" '.total == 3 and .next == null and
	.tags == [$c[0].tags[].tag] and .counts == [$c[0].tags[].counts |
	[.critical, .high, .medium, .low, .unknown]]' "$B" >/dev/null ||
	fail "chart series: $(cat "$B")"
req GET "/v2/_customs/chart?repo=team/app&series=1&counts=0&n=2&start=1"
expect 200
jq -e '.tags == ["v2", "v0"] and (has("counts") | not) and .start == 1' \
	"$B" >/dev/null || fail "chart series, names: $(cat "$B")"
req GET "/v2/_customs/chart?repo=team/app&start=-1"
expect 400
req GET "/v2/_customs/chart?repo=nothing/here"
expect 404 NAME_UNKNOWN
# Status with no failure and no upstream.
req GET /v2/_customs/status
expect 200
jq -e '.failures == [] and .upstreams == [] and .proxy == null and
	.metrics == true' "$B" >/dev/null || fail "status: $(cat "$B")"

# --- An index of v1 (linux/amd64) and v2 (linux/arm64): its tag row
# lists both platforms, the image page either one's detail.
ui_index multi
req GET "/v2/_customs/tags?repo=team/app"
expect 200
jq -e --arg i "$idx" '.tags[] | select(.tag == "multi") | .digest == $i and
	.platforms == ["linux/amd64", "linux/arm64"] and .size > 0 and
	.scan.status == "done"' "$B" >/dev/null ||
	fail "index row: $(jq -c '.tags[] | select(.tag == "multi")' "$B")"
# image_is FILE DIGEST PLATFORM REPORT: the image part is that platform's.
image_is() {
	jq -r '.image.findings[] | [.package, .installed, .id, (.fixed // "")] |
		@tsv' "$1" | sort >"$TMP/plat.tsv"
	sp_findings "$4" | cmp -s - "$TMP/plat.tsv" ||
		fail "findings of $3: $(head -c 300 "$TMP/plat.tsv")"
	jq -e --arg d "$2" --arg p "$3" --arg a "$alp" --arg b "$deb" '
		.image.digest == $d and .image.platform == $p and
		.platforms == [{"platform": "linux/amd64", "digest": $a},
			{"platform": "linux/arm64", "digest": $b}]' "$1" >/dev/null ||
		fail "image of $3: $(jq -c 'del(.image.packages, .image.findings)' "$1")"
}
req GET "/v2/_customs/image?repo=team/app&ref=multi"
expect 200
image_is "$B" "$alp" linux/amd64 "$TMP/alp.json"
req GET "/v2/_customs/image?repo=team/app&ref=$idx&platform=linux/arm64"
expect 200
cp "$B" "$TMP/arm64.json"
image_is "$B" "$deb" linux/arm64 "$TMP/deb.json"
# Asked again (the server kept the detail), the same answer.
req GET "/v2/_customs/image?repo=team/app&ref=multi&platform=linux/arm64"
expect 200
cmp -s "$B" "$TMP/arm64.json" || fail "the image asked again differs"
req GET "/v2/_customs/image?repo=team/app&ref=multi&platform=linux/s390x"
expect 404 MANIFEST_UNKNOWN

# --- alice may pull team/* only: other/secret is nowhere, though the
# server keeps its image and diff (root asked for them first).
for p in "image?repo=other/secret&ref=v1" "diff?repo=other/secret&from=v1&to=v1"; do
	req GET "/v2/_customs/$p"
	expect 200
done
as alice alice-pw
req GET /v2/_customs/repositories
expect 200
jq -e '[.repositories[].name] == ["team/app"]' "$B" >/dev/null ||
	fail "alice's repositories: $(cat "$B")"
grep -q secret "$B" && fail "alice sees a hidden name: $(cat "$B")"
req GET "/v2/_customs/tags?repo=nothing/here"
expect 404 NAME_UNKNOWN
sed 's/nothing\/here/X/' "$B" >"$TMP/unknown.body"
for p in "tags?repo=other/secret" "image?repo=other/secret&ref=v1" \
	"chart?repo=other/secret" "chart?repo=other/secret&series=1" \
	"image?repo=other/secret&ref=$npm" \
	"diff?repo=other/secret&from=v1&to=v1" \
	"report?repo=other/secret&ref=v1&format=cyclonedx"; do
	req GET "/v2/_customs/$p"
	expect 404 NAME_UNKNOWN
	sed 's/other\/secret/X/' "$B" | cmp -s - "$TMP/unknown.body" ||
		fail "$p: a hidden repository answers unlike an unknown one: $(cat "$B")"
done
req GET "/v2/_customs/tags?repo=team/app"
expect 200
# Anonymous callers must sign in.
as_anon
req GET /v2/_customs/repositories
expect 401 UNAUTHORIZED
req GET "/v2/_customs/image?repo=team/app"
expect 401 UNAUTHORIZED
as root root-pw
req GET "/v2/_customs/image?repo=team/app"
expect 400
req GET "/v2/_customs/image?repo=team/app&ref=nope"
expect 404 MANIFEST_UNKNOWN

# --- The pages: embedded, under a strict CSP, behind the same sign-in.
for p in /ui/ /ui/app.js /ui/app.css; do
	req GET "$p"
	expect 200
	csp=$(hdr Content-Security-Policy)
	case $csp in
	*"script-src 'self';"*"style-src 'self';"*"frame-ancestors 'none'"*) ;;
	*) fail "$p: CSP is '$csp'" ;;
	esac
	expect_hdr X-Content-Type-Options nosniff
	cmp -s "$B" "$ROOT/registry/ui/assets/${p#/ui/}" 2>/dev/null ||
		[ "$p" = /ui/ ] || fail "$p is not the asset"
done
cmp -s "$B" "$ROOT/registry/ui/assets/app.css" || fail "app.css differs"
req GET /ui/
grep -q '<script src="/ui/app.js"' "$B" || fail "index lacks its script"
# No inline script or style, nothing from another origin.
grep -Eq '<script>|<style|[[:space:]](style|on[a-z]+)=|https?://' "$B" &&
	fail "index has inline code or a foreign URL: $(cat "$B")"
req GET /ui/nothing
expect 404
# The pages hold no data: they load before a sign-in (their form is how a
# token is got); what they read does not.
as_anon
req GET /ui/
expect 200
req GET /ui/app.js
expect 200
for p in repositories "tags?repo=team/app" "chart?repo=team/app" status; do
	req GET "/v2/_customs/$p"
	expect 401 UNAUTHORIZED
done

# --- Recent scan failures and upstreams.  An image whose config is not
# JSON fails its scan for good; the server is restarted with an upstream
# that cannot be reached.
as root root-pw
stop_server
# views_same WHEN: the image and diff answer as before.
views_same() {
	req GET "/v2/_customs/image?repo=team/app&ref=multi&platform=linux/arm64"
	expect 200
	cmp -s "$B" "$TMP/arm64.json" || fail "the image $1 differs"
	req GET "/v2/_customs/diff?repo=team/app&from=v1&to=v2"
	expect 200
	cmp -s "$B" "$TMP/diff12.json" || fail "the diff $1 differs"
}
# The views (an image's detail, findings, diffs) outlive it, in files
# named by a hash (no repository name shows); read, not made again (a
# file made again is a new inode).
ls "$DATA/ui-views" | grep -Evq '^[0-9a-f]{64}$' &&
	fail "a view file is not named by a hash: $(ls "$DATA/ui-views")"
[ "$(ls "$DATA/ui-views" | wc -l)" -ge 3 ] ||
	fail "views not kept on disk: $(ls "$DATA/ui-views")"
views=$(ls -i "$DATA/ui-views" | sort)
start_server --scan-workers 2 --auth basic --access "$TMP/access.json" \
	--upstream "up.example/=http://127.0.0.1:9"
views_same "after a restart"
[ "$(ls -i "$DATA/ui-views" | sort)" = "$views" ] ||
	fail "views made again after a restart"
# A view file cut short (a crash mid-write) is made again, the same.
stop_server
for f in "$DATA"/ui-views/*; do truncate -s 100 "$f"; done
start_server --scan-workers 2 --auth basic --access "$TMP/access.json" \
	--upstream "up.example/=http://127.0.0.1:9"
views_same "from a cut view"
W=$TMP/w
mkdir -p "$W"
printf 'not json' >"$W/config-bad.json"
cdg=$(sha256 "$W/config-bad.json")
for r in team/app other/secret; do
	# Each its own layer: a scan job is per digest.
	m=$(make_image "$W" "bad-${r%%/*}")
	jq -c --arg d "$cdg" '.config.digest = $d | .config.size = 8' "$m" \
		>"$W/bad.json"
	push_blob "$r" "$W/config-bad.json" >/dev/null
	push_blob "$r" "$W/layer-bad-${r%%/*}.tar.gz" >/dev/null
	push_manifest "$r" bad "$W/bad.json" "$OCI_MANIFEST"
	req GET "/v2/$r/_customs/scan/bad?wait=60"
	expect 422
done
req GET /v2/up.example/library/x/manifests/latest
expect 404
req GET /v2/_customs/status
expect 200
jq -e '[.failures[].repository] | sort == ["other/secret", "team/app"]' \
	"$B" >/dev/null || fail "failures: $(cat "$B")"
jq -e 'all(.failures[]; (.error | length > 0) and
	(.time | test("^[0-9]{4}-")) and (.digest | startswith("sha256:")))
	and .upstreams == [{"prefix": "up.example/",
		"url": "http://127.0.0.1:9"}] and
	.proxy.transfers >= 1 and .proxy.failed >= 1 and
	(.proxy.health == "failing" or .proxy.health == "errors") and
	(.proxy.errors | length) >= 1 and .proxy.manifests.miss >= 1' "$B" \
	>/dev/null || fail "status: $(cat "$B")"
as alice alice-pw
req GET /v2/_customs/status
expect 200
jq -e '[.failures[].repository] == ["team/app"]' "$B" >/dev/null ||
	fail "alice sees another repository's failure: $(cat "$B")"
# /metrics is for admins: her page is told not to ask.
jq -e '.metrics == false' "$B" >/dev/null || fail "alice's status: metrics"
req GET /metrics
expect 403

# --- A new report replaces what the image page showed: v2's detail is
# asked for twice (the second kept by the server), then a DB of Alpine's
# advisories only is posted and v2 (Debian) re-matched to no findings.
as root root-pw
req GET "/v2/_customs/image?repo=team/app&ref=v2"
expect 200
req GET "/v2/_customs/image?repo=team/app&ref=v2"
expect 200
jq -e --slurpfile r "$TMP/deb.json" '(.image.findings | length) ==
	($r[0].vulnerabilities | length) and
	(.image.findings | length) > 0' "$B" >/dev/null ||
	fail "v2 before the new DB: $(jq -c '.image.counts' "$B")"
sp_feed_zip "$TMP/alpine.zip" alpine-secdb
req POST /v2/_customs/db --data-binary "@$TMP/alpine.zip" \
	-H 'Content-Type: application/zip'
expect 200
v=$(jq -r .version "$B")
sp_wait_idle "$v"
sp_report team/app v2 0
cp "$B" "$TMP/deb2.json"
jq -e --arg v "$v" '.db.version == $v and (.vulnerabilities | length) == 0' \
	"$TMP/deb2.json" >/dev/null || fail "v2 not re-matched: $(jq -c .db "$B")"
req GET "/v2/_customs/image?repo=team/app&ref=v2"
expect 200
jq -e --argjson c "$(jq -c .counts "$TMP/deb2.json")" '.image.findings == [] and
	.image.counts == $c and .scan.db == "'"$v"'"' "$B" >/dev/null ||
	fail "the image page kept the old report: $(jq -c '{scan, n: (.image.findings | length)}' "$B")"
