#!/bin/bash
# The web UI in a real browser: Debian's chromium, headless, driven by
# python3-selenium through chromium-driver (ui_browser.py), against a
# customs with pushed images scanned against the fixture DB.  Each page's
# rows and counts are the API's and the reports'; filters, sorting, tag
# pages and the tag comparison work; alice (pull on team/*) sees nothing
# else, and a direct URL of another repository is a 404; the keyboard
# reaches every control; no request leaves the origin and the console has
# no error.  Then, with --auth token, the page's form signs in.
# Screenshots go to $BUILD/ui-screens/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
. "$(dirname "$0")/ui_lib.sh"
# Debian's python3 has python3-selenium (another one on PATH may not).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
[ -x /usr/bin/chromium ] || skip "chromium is not installed (Debian package chromium)"
[ -x /usr/bin/chromedriver ] || skip "chromedriver is not installed (Debian package chromium-driver)"
"$PY" -c 'import selenium' 2>/dev/null ||
	skip "python3-selenium is not installed (Debian package python3-selenium)"

ui_setup
# team/many: more tags than a page (50) of small images.
W=$TMP/w
mkdir -p "$W"
many=57
m=$(make_image "$W" one)
push_blob team/many "$W/config-one.json" >/dev/null
push_blob team/many "$W/layer-one.tar.gz" >/dev/null
for i in $(seq -w 1 $many); do
	push_manifest team/many "t$i" "$m" "$OCI_MANIFEST"
done

# A scan that fails for good (its config is not JSON), for the status page.
m=$(make_image "$W" bad)
printf 'not json' >"$W/notjson"
jq -c --arg d "$(sha256 "$W/notjson")" \
	'.config.digest = $d | .config.size = 8' "$m" >"$W/bad.json"
push_blob team/bad "$W/notjson" >/dev/null
push_blob team/bad "$W/layer-bad.tar.gz" >/dev/null
push_manifest team/bad v1 "$W/bad.json" "$OCI_MANIFEST"
req GET "/v2/team/bad/_customs/scan/v1?wait=60"
expect 422

# An index of v1 (linux/amd64) and v2 (linux/arm64), for the platforms.
ui_index multi

# What the pages must show, from the API (t_ui_api checks the API against
# the reports) and the reports themselves.
req GET /v2/_customs/repositories
expect 200
# As the page sorts by risk: worst badge, then most findings, then name.
jq '.repositories | sort_by([(.worst as $w |
	["critical","high","medium","low","unknown"] | index($w // "x")) // 9,
	-([.counts // {} | .[] | numbers] | add // 0), .name])' "$B" \
	>"$TMP/repos.json"
req GET "/v2/_customs/tags?repo=team/app"
expect 200
cp "$B" "$TMP/tags.json"
req GET "/v2/_customs/chart?repo=team/app"
expect 200
cp "$B" "$TMP/chart.json"
req GET /v2/_customs/status
expect 200
cp "$B" "$TMP/status.json"
req GET "/v2/_customs/diff?repo=team/app&from=v1&to=v2"
expect 200
cp "$B" "$TMP/diff.json"
req GET /v2/_customs/db
expect 200
m2=$(sp_manifest_file debian)
jq -n --slurpfile r "$TMP/repos.json" --slurpfile t "$TMP/tags.json" \
	--slurpfile c "$TMP/chart.json" --slurpfile st "$TMP/status.json" \
	--slurpfile d "$TMP/diff.json" --slurpfile rep "$TMP/deb.json" \
	--slurpfile alp "$TMP/alp.json" \
	--slurpfile m "$m2" --slurpfile db "$B" --arg deb "$deb" \
	--argjson many "$many" '{
	repos_by_risk: $r[0], tags: [$t[0].tags[] | {tag, digest, pushed,
		counts: .scan.counts}], many: $many, deb: $deb,
	chart: [$c[0].tags[] | {tag, counts}], failures: $st[0].failures,
	deb_layers: ($m[0].layers | length),
	deb_findings: [$rep[0].vulnerabilities[] | {id, severity, aliases}],
	alp_findings: ($alp[0].vulnerabilities | length),
	diff_added: ($d[0].added | length), diff_fixed: ($d[0].fixed | length),
	db_version: $db[0].version}' >"$TMP/expect.json"
case $BUILD in
/*) SHOTS=$BUILD/ui-screens ;;
*) SHOTS=$ROOT/$BUILD/ui-screens ;;
esac
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
cp "$TMP/expect.json" "$SHOTS/"
rc=0
"$PY" "$(dirname "$0")/ui_browser.py" "$URL" "$SHOTS" >"$TMP/browser.out" || rc=$?
cat "$TMP/browser.out"
[ "$rc" = 77 ] && skip "$(tail -n 1 "$TMP/browser.out")"
[ "$rc" = 0 ] || fail "browser checks failed (screenshots in $SHOTS)"

# --- --auth token: the same store, signed in through the page's form.
stop_server
start_server --scan-workers 2 --auth token --access "$TMP/access.json"
rc=0
"$PY" "$(dirname "$0")/ui_browser.py" "$URL" "$SHOTS" token \
	>"$TMP/browser.out" || rc=$?
cat "$TMP/browser.out"
[ "$rc" = 0 ] || fail "browser checks with a token failed (screenshots in $SHOTS)"
ls "$SHOTS"/*.png >/dev/null || fail "no screenshots"
