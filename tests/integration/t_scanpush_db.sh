#!/bin/bash
# Re-matching without re-reading layers.  Without a DB the registry still
# works and reports say "no vulnerability data"; a feed POSTed to
# /v2/_customs/db, and later `customs db import` plus SIGHUP while the
# server runs, change the reports of images pushed before, with no push.
# Reports whose findings did not change are kept; the report and its
# referrer name the DB's version.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$DATA"
start_server --scan-workers 2

deb=$(sp_push debian db/debian v1)
alp=$(sp_push alpine310 db/alpine v1)
npm=$(sp_push npm db/npm v1)

# --- No DB: "no vulnerability data", not "no vulnerabilities".
sp_report db/debian "$deb"
jq -e '.db == null and .vulnerabilities == [] and .counts == "no data" and
	any(.notes[]; startswith("no vulnerability data"))' "$B" >/dev/null ||
	fail "report without a DB: $(jq -c '{db, notes, counts}' "$B")"
req GET /v2/_customs/db
jq -e '.version == null' "$B" >/dev/null || fail "db status: $(cat "$B")"
req GET "/v2/db/debian/referrers/$deb$SP_RT"
jq -e '.manifests[0].annotations["dev.customs.scan.db"] == "none" and
	.manifests[0].annotations["dev.customs.scan.critical"] == "no data"' "$B" \
	>/dev/null || fail "referrer without a DB: $(cat "$B")"

# --- Bad feeds change nothing.
printf 'not a feed' >"$TMP/bad.json"
req POST /v2/_customs/db --data-binary "@$TMP/bad.json" \
	-H 'Content-Type: application/json'
expect 400 UNSUPPORTED
req POST /v2/_customs/db -H 'Content-Type: application/zip' --data-binary ''
expect 400 UNSUPPORTED
printf 'PK\003\004 truncated' >"$TMP/bad.zip"
req POST /v2/_customs/db --data-binary "@$TMP/bad.zip" \
	-H 'Content-Type: application/zip'
[ "${STATUS:0:1}" != 2 ] || fail "a broken zip was accepted: $(cat "$B")"
req GET /v2/_customs/db
jq -e '.version == null' "$B" >/dev/null || fail "bad feeds loaded a DB"
ls -A "$DATA" | grep -q feed && fail "feed files left behind: $(ls -a "$DATA")"

# --- POST a feed holding only Alpine's secdb.
sp_feed_zip "$TMP/alpine.zip" alpine-secdb
req POST /v2/_customs/db --data-binary "@$TMP/alpine.zip" \
	-H 'Content-Type: application/zip'
expect 200
v1=$(jq -r .version "$B")
jq -e '.records > 0 and .unchanged == false and .rematch == 3' "$B" \
	>/dev/null || fail "import reply: $(cat "$B")"
sp_wait_idle "$v1"
sp_report db/alpine "$alp" 0
sp_same_findings "$B" alpine-3.10.4
jq -e --arg v "$v1" '.db.version == $v' "$B" >/dev/null || fail "alpine db"
sp_report db/debian "$deb" 0
jq -e --arg v "$v1" '.db.version == $v and .vulnerabilities == [] and
	all(.notes[]; startswith("no vulnerability data") | not)' "$B" \
	>/dev/null || fail "debian with the Alpine DB: $(jq -c '{db, notes}' "$B")"
req GET "/v2/db/alpine/referrers/$alp$SP_RT"
jq -e --arg v "$v1" '(.manifests | length) == 1 and
	.manifests[0].annotations["dev.customs.scan.db"] == $v and
	.manifests[0].annotations["dev.customs.scan.unknown"] == "20"' "$B" \
	>/dev/null || fail "alpine referrer: $(cat "$B")"
alp_ref=$(jq -r '.manifests[0].digest' "$B")

# The same feed again changes nothing.
req POST /v2/_customs/db --data-binary "@$TMP/alpine.zip" \
	-H 'Content-Type: application/zip'
expect 200
jq -e --arg v "$v1" '.unchanged == true and .version == $v and
	.rematch == 0' "$B" >/dev/null || fail "re-import: $(cat "$B")"

# --- `customs db import` while the server runs, then SIGHUP.
sp_db "$DATA/vulndb.db"
kill -HUP "$PID"
for i in $(seq 1 100); do
	req GET /v2/_customs/db
	[ "$(jq -r .version "$B")" != "$v1" ] && break
	sleep 0.1
done
v2=$(jq -r .version "$B")
[ "$v2" != "$v1" ] || fail "the new DB was not loaded"
sp_wait_idle "$v2"
sp_report db/debian "$deb" 0
sp_same_findings "$B" debian-bookworm-minbase
jq -e --arg v "$v2" '.db.version == $v' "$B" >/dev/null || fail "debian db"
sp_report db/npm "$npm" 0
sp_same_findings "$B" npm-app
req GET "/v2/db/debian/referrers/$deb$SP_RT"
jq -e --arg v "$v2" '(.manifests | length) == 1 and
	.manifests[0].annotations["dev.customs.scan.db"] == $v and
	.manifests[0].annotations["dev.customs.scan.unknown"] == "2"' "$B" \
	>/dev/null || fail "debian referrer after the re-match: $(cat "$B")"
# Alpine's findings are the same under the new DB: its report stays.
sp_report db/alpine "$alp" 0
jq -e --arg v "$v1" '.db.version == $v' "$B" >/dev/null ||
	fail "unchanged alpine report was replaced"
req GET "/v2/db/alpine/referrers/$alp$SP_RT"
[ "$(jq -r '.manifests[0].digest' "$B")" = "$alp_ref" ] ||
	fail "unchanged alpine referrer was replaced"

# No layer was read again: three scans, the rest re-matches.
[ "$(grep -c ': scanned in' "$TMP/server.log")" = 3 ] ||
	fail "images were scanned again: $(grep ': scanned in' "$TMP/server.log")"
grep -q ': re-matched in' "$TMP/server.log" || fail "no re-match logged"

# --- Restarted with --vuln-db elsewhere: same DB content, nothing to do;
# without it at all: the reports say so again.
stop_server
cp "$DATA/vulndb.db" "$TMP/elsewhere.db"
start_server --vuln-db "$TMP/elsewhere.db"
req GET /v2/_customs/db
jq -e --arg v "$v2" '.version == $v' "$B" >/dev/null ||
	fail "--vuln-db: $(cat "$B")"
stop_server

rm "$DATA/vulndb.db"
start_server
wait_rematch_none() {
	for i in $(seq 1 300); do
		req GET /v2/_customs/db
		jq -e '.version == null and .scans.queued == 0 and
			.scans.running == 0' "$B" >/dev/null && return 0
		sleep 0.1
	done
	fail "no re-match without a DB: $(cat "$B")"
}
wait_rematch_none
sp_report db/debian "$deb" 0
jq -e '.db == null and .vulnerabilities == [] and
	any(.notes[]; startswith("no vulnerability data"))' "$B" >/dev/null ||
	fail "report after the DB went away: $(jq -c '{db, notes}' "$B")"
stop_server
