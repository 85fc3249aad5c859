#!/bin/bash
# `customs db update` and the same inside `serve`, against a loopback feed
# server (feedserver.py) that serves the fixture advisories with ETag and
# Last-Modified and can fail on demand.
#   - the first update imports; the second costs one 304 per feed and
#     changes nothing;
#   - a 500, a truncated or corrupt body, a stalled server and a new copy
#     without a valid record each keep the DB and the previous copy, and
#     say why (exit 1, `db status`, GET /v2/_customs/db);
#   - inside serve, the scheduled update imports, and a changed feed
#     swaps the DB and re-matches the stored reports with no push;
#     without configured feeds, the public ones the images use are picked;
#   - a DB older than --db-max-age puts a note in reports and a warning in
#     the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

need python3 zip

FEEDS=$TMP/feeds
mkdir -p "$FEEDS/osv" "$FEEDS/v3.10"
python3 "$ROOT/tests/integration/feedserver.py" "$FEEDS" "$TMP/feedport" &
FEED_PID=$!
for i in $(seq 1 50); do [ -s "$TMP/feedport" ] && break; sleep 0.1; done
[ -s "$TMP/feedport" ] || fail "feed server did not start"
FURL=http://127.0.0.1:$(cat "$TMP/feedport")
trap 'kill $FEED_PID 2>/dev/null || true; lib_cleanup' EXIT

# osv_feed DIR...: the OSV feed's all.zip holds these fixture ecosystems.
osv_feed() {
	rm -f "$FEEDS/osv/all.zip"
	(cd "$SP_DATA/advisories/osv" && zip -qr "$FEEDS/osv/all.zip" "$@") ||
		fail "zip feed"
}
faults() { echo "$1" >"$FEEDS/.faults.json"; }
osv_feed npm
cp "$SP_DATA/advisories/alpine-secdb/v3.10/main.json" "$FEEDS/v3.10/"
faults '{}'

CLI=$TMP/cli
mkdir -p "$CLI"
SRC=(--source "osv=$FURL/osv/all.zip"
	--source "alpine-secdb=$FURL/v3.10/main.json")
# update [flags]: runs `customs db update` on $CLI; sets RC, output in $OUT.
update() {
	RC=0
	"$CUSTOMS" db update --data "$CLI" "${SRC[@]}" --attempts 2 "$@" \
		>"$TMP/out" 2>&1 || RC=$?
	OUT=$(cat "$TMP/out")
}
dbv() { "$CUSTOMS" db status --data "$CLI" | awk '/^version:/ {print $2}'; }
requests() { grep -c "$1" "$FEEDS/.requests.log" || true; }

# --- First update imports; the second is a no-op of one 304 per feed.
update
[ "$RC" = 0 ] || fail "first update: $OUT"
grep -q '2 new, 0 unchanged, 0 failed; the DB was replaced' <<<"$OUT" ||
	fail "first update: $OUT"
v1=$(dbv)
[ -n "$v1" ] || fail "no DB after the first update"
"$CUSTOMS" db status --data "$CLI" >"$TMP/status"
grep -q 'osv:127.0.0.1' "$TMP/status" && grep -q '9 records' "$TMP/status" &&
	grep -q '28 records' "$TMP/status" || fail "status: $(cat "$TMP/status")"
: >"$FEEDS/.requests.log"
ino=$(stat -c %i:%Y "$CLI/vulndb.db")
update
[ "$RC" = 0 ] || fail "second update: $OUT"
grep -q '0 new, 2 unchanged, 0 failed; nothing to import' <<<"$OUT" ||
	fail "second update: $OUT"
[ "$(wc -l <"$FEEDS/.requests.log")" = 2 ] &&
	[ "$(requests ' 304 conditional')" = 2 ] ||
	fail "unchanged feeds cost more than a 304 each: $(cat "$FEEDS/.requests.log")"
[ "$(stat -c %i:%Y "$CLI/vulndb.db")" = "$ino" ] || fail "the DB was rewritten"
# The same feeds named in serve's config file.
jq -n --arg o "osv=$FURL/osv/all.zip" --arg a "alpine-secdb=$FURL/v3.10/main.json" \
	'{"db-source": [$o, $a], "db-update-interval": "1h"}' >"$TMP/config.json"
"$CUSTOMS" db update --data "$CLI" --config "$TMP/config.json" >"$TMP/out" 2>&1 ||
	fail "update from the config: $(cat "$TMP/out")"
grep -q '0 new, 2 unchanged' "$TMP/out" || fail "config: $(cat "$TMP/out")"

# --- Failures keep the DB and the previous copy, and say why.
osv_feed npm PyPI # a changed feed the failures hide
zip_old=$(sha256 "$CLI/advisories/osv_127.0.0.1_"*"_osv_all.zip/all.zip")
# check_kept WHAT PATTERN: the update failed for that reason, nothing moved.
check_kept() {
	[ "$RC" = 1 ] || fail "$1: exit $RC: $OUT"
	grep -q "$2" <<<"$OUT" || fail "$1: no reason given: $OUT"
	grep -q 'previous copy is kept' <<<"$OUT" || fail "$1: $OUT"
	[ "$(dbv)" = "$v1" ] || fail "$1 changed the DB"
	[ "$(sha256 "$CLI/advisories/osv_127.0.0.1_"*"_osv_all.zip/all.zip")" = \
		"$zip_old" ] || fail "$1 replaced the cached copy"
	"$CUSTOMS" db status --data "$CLI" >"$TMP/status"
	grep -q "last error: .*$2" "$TMP/status" ||
		fail "$1: status: $(cat "$TMP/status")"
	ls "$CLI/advisories/"*/ | grep -q '\.part$' && fail "$1 left a .part"
	true
}
faults '{"/osv/all.zip": "500"}'
: >"$FEEDS/.requests.log"
update
check_kept 500 'HTTP 500'
[ "$(requests '^GET /osv/all.zip 500')" = 2 ] ||
	fail "a 500 was not retried: $(cat "$FEEDS/.requests.log")"
faults '{"/osv/all.zip": "truncate"}'
update
check_kept truncated 'bytes remaining'
faults '{"/osv/all.zip": "corrupt"}'
update
check_kept corrupt 'x-goog-hash'
faults '{"/osv/all.zip": "stall"}'
update --attempts 1 --stall-timeout 1
check_kept stalled 'too slow'
# One update at a time per cache.
"$CUSTOMS" db update --data "$CLI" "${SRC[@]}" --attempts 1 \
	--stall-timeout 3 >/dev/null 2>&1 &
other=$!
for i in $(seq 1 50); do
	grep -q 'stalled' "$FEEDS/.requests.log" && [ "$(grep -c stalled \
		"$FEEDS/.requests.log")" -ge 2 ] && break
	sleep 0.1
done
update
[ "$RC" = 1 ] && grep -q 'another update' <<<"$OUT" ||
	fail "two updates at once: $RC $OUT"
wait "$other" || true

# A body cut short once is resumed where it stopped (Range, If-Range).
faults '{"/osv/all.zip": "truncate-once"}'
: >"$FEEDS/.requests.log"
update
[ "$RC" = 0 ] || fail "resumed update: $OUT"
grep -q '1 new, 1 unchanged, 0 failed; the DB was replaced' <<<"$OUT" ||
	fail "resumed update: $OUT"
[ "$(requests '^GET /osv/all.zip 206 range')" = 1 ] ||
	fail "not resumed: $(cat "$FEEDS/.requests.log")"
v2=$(dbv)
[ "$v2" != "$v1" ] || fail "the changed feed did not change the DB"
"$CUSTOMS" db status --data "$CLI" | grep -q '20 records' ||
	fail "osv records after the change: $("$CUSTOMS" db status --data "$CLI")"

# A new copy without one valid record is rolled back after the import.
faults '{}'
cp "$FEEDS/v3.10/main.json" "$TMP/main.json"
echo '{"not": "a feed"}' >"$FEEDS/v3.10/main.json"
update
[ "$RC" = 1 ] && grep -q 'no valid record' <<<"$OUT" ||
	fail "empty feed: exit $RC: $OUT"
[ "$(dbv)" = "$v2" ] || fail "an empty feed changed the DB"
same_file "$TMP/main.json" "$CLI/advisories/alpine-secdb_"*"/main.json" ||
	fail "the empty copy replaced the good one"
cp "$TMP/main.json" "$FEEDS/v3.10/main.json"

# NVD: the .meta's sha256 and size of the JSON are checked; an unchanged
# .meta saves the download.  (A synthetic one-record feed in NVD's 2.0
# format; whether it imports is the NVD importer's business.)
mkdir -p "$FEEDS/nvd" "$TMP/nvd"
cat >"$TMP/nvdcve.json" <<'JSON'
{"resultsPerPage": 1, "startIndex": 0, "totalResults": 1,
 "format": "NVD_CVE", "version": "2.0", "timestamp": "2026-12-01T00:00:00.000",
 "vulnerabilities": [{"cve": {"id": "CVE-2024-0001",
  "sourceIdentifier": "cve@mitre.org", "published": "2024-01-01T00:00:00.000",
  "lastModified": "2024-01-02T00:00:00.000", "vulnStatus": "Analyzed",
  "descriptions": [{"lang": "en", "value": "A test record."}],
  "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
   "cvssData": {"version": "3.1",
    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]}}}]}
JSON
gzip -c "$TMP/nvdcve.json" >"$FEEDS/nvd/nvdcve-2.0-2024.json.gz"
nvd_meta() {
	printf 'lastModifiedDate:2026-12-01T00:00:00-05:00\r\nsize:%s\r\n' \
		"$(stat -c %s "$TMP/nvdcve.json")" >"$FEEDS/nvd/nvdcve-2.0-2024.meta"
	printf 'gzSize:1\r\nsha256:%s\r\n' "$1" >>"$FEEDS/nvd/nvdcve-2.0-2024.meta"
}
NVD=(--source "osv=$FURL/osv/all.zip"
	--source "nvd=$FURL/nvd/nvdcve-2.0-2024.json.gz")
nvd_meta 0000000000000000000000000000000000000000000000000000000000000000
RC=0
"$CUSTOMS" db update --data "$TMP/nvd" "${NVD[@]}" >"$TMP/out" 2>&1 || RC=$?
[ "$RC" = 1 ] && grep -q 'its .meta says' "$TMP/out" ||
	fail "NVD feed against a wrong .meta: $RC $(cat "$TMP/out")"
ls "$TMP/nvd/advisories/"nvd*/ | grep -q 'json.gz' &&
	fail "a feed that fails its .meta was kept"
nvd_meta "$(sha256sum <"$TMP/nvdcve.json" | cut -d' ' -f1 | tr a-f A-F)"
RC=0
"$CUSTOMS" db update --data "$TMP/nvd" "${NVD[@]}" >"$TMP/out" 2>&1 || RC=$?
grep -q 'meta' "$TMP/out" && fail "NVD feed matching its .meta: $(cat "$TMP/out")"
[ "$RC" = 0 ] || grep -q 'cannot be imported' "$TMP/out" ||
	fail "NVD feed: $RC $(cat "$TMP/out")"
if [ "$RC" = 0 ]; then
	: >"$FEEDS/.requests.log"
	"$CUSTOMS" db update --data "$TMP/nvd" "${NVD[@]}" >"$TMP/out" 2>&1 ||
		fail "NVD again: $(cat "$TMP/out")"
	grep -q 'nvdcve-2.0-2024.json.gz' "$FEEDS/.requests.log" &&
		fail "an unchanged .meta did not save the download"
fi

# The Debian Security Tracker's JSON, at a URL shaped like the real one.
mkdir -p "$FEEDS/tracker/data" "$TMP/trk"
cp "$ROOT/tests/data/debian-tracker/tracker-bookworm-15src.json" \
	"$FEEDS/tracker/data/json"
TRK=(--source "debian-tracker=$FURL/tracker/data/json")
"$CUSTOMS" db update --data "$TMP/trk" "${TRK[@]}" >"$TMP/out" 2>&1 ||
	fail "tracker update: $(cat "$TMP/out")"
"$CUSTOMS" db status --data "$TMP/trk" >"$TMP/status"
grep -A1 'debian-tracker:' "$TMP/status" | grep -q ' [1-9][0-9]* records' ||
	fail "tracker status: $(cat "$TMP/status")"
"$CUSTOMS" db update --data "$TMP/trk" "${TRK[@]}" >"$TMP/out" 2>&1 ||
	fail "tracker again: $(cat "$TMP/out")"
grep -q '0 new, 1 unchanged' "$TMP/out" || fail "tracker again: $(cat "$TMP/out")"

# Only http and https.
RC=0
"$CUSTOMS" db update --data "$CLI" --source osv=file:///etc/passwd \
	>"$TMP/out" 2>&1 || RC=$?
[ "$RC" = 2 ] && grep -q 'only http and https' "$TMP/out" ||
	fail "file:// source: $RC $(cat "$TMP/out")"

# --- Inside serve: a scheduled update imports, a changed feed re-matches.
osv_feed npm
sp_layout
mkdir -p "$DATA"
start_server --scan-workers 2 --db-update-interval 2 \
	--db-source "osv=$FURL/osv/all.zip" \
	--db-source "alpine-secdb=$FURL/v3.10/main.json"
deb=$(sp_push debian up/debian v1)
alp=$(sp_push alpine310 up/alpine v1)

# wait_db PRED: until GET /v2/_customs/db satisfies jq PRED, re-matches done.
wait_db() {
	for i in $(seq 1 300); do
		req GET /v2/_customs/db
		jq -e "($1) and .scans.queued == 0 and .scans.running == 0 and
			.scans.waiting == 0" "$B" >/dev/null && return 0
		sleep 0.1
	done
	fail "waiting for $1: $(cat "$B")"
}
wait_db '.version != null and .update.last_run != null'
s1=$(jq -r .version "$B")
jq -e '.update.interval_s == 2 and (.update.sources | length) == 2 and
	all(.update.sources[]; .records > 0 and .last_error == null and
	    .age_s >= 0)' "$B" >/dev/null || fail "update status: $(cat "$B")"
sp_report up/alpine "$alp"
sp_same_findings "$B" alpine-3.10.4
sp_report up/debian "$deb"
jq -e --arg v "$s1" '.db.version == $v and .vulnerabilities == []' "$B" \
	>/dev/null || fail "debian before Debian's feed: $(jq -c .db "$B")"

# Unchanged feeds: 304s, the same DB.
: >"$FEEDS/.requests.log"
for i in $(seq 1 100); do
	[ "$(requests ' 304 conditional')" -ge 4 ] && break
	sleep 0.1
done
[ "$(requests ' 304 conditional')" -ge 4 ] ||
	fail "no conditional GETs: $(cat "$FEEDS/.requests.log")"
grep -qv ' 304 ' "$FEEDS/.requests.log" &&
	fail "unchanged feeds fetched again: $(cat "$FEEDS/.requests.log")"
req GET /v2/_customs/db
[ "$(jq -r .version "$B")" = "$s1" ] || fail "unchanged feeds changed the DB"

# Debian's advisories arrive: the DB is swapped, debian's report
# re-matched without a push.
osv_feed npm Debian
wait_db ".version != \"$s1\""
s2=$(jq -r .version "$B")
sp_report up/debian "$deb" 0
sp_same_findings "$B" debian-bookworm-minbase
jq -e --arg v "$s2" '.db.version == $v' "$B" >/dev/null ||
	fail "debian not re-matched: $(jq -c .db "$B")"
[ "$(grep -c ': scanned in' "$TMP/server.log")" = 2 ] ||
	fail "images were scanned again"

# A failing feed shows in the status; the DB stays.
faults '{"/v3.10/main.json": "500"}'
wait_db '.update.last_error != null'
jq -e --arg v "$s2" '.version == $v and any(.update.sources[];
	.last_error != null and (.last_error | test("HTTP 500")))' "$B" \
	>/dev/null || fail "failed feed status: $(cat "$B")"
stop_server

# --- No --db-source: the public feeds of what the stored images use
# (this machine may have no internet: only the choice is checked).
start_server --db-update-interval 1
for i in $(seq 1 100); do
	grep -q 'public feed(s) for' "$TMP/server.log" && break
	sleep 0.1
done
pick=$(grep -m1 'public feed(s) for' "$TMP/server.log")
grep -q 'for what the stored images use' <<<"$pick" || fail "feeds: $pick"
for f in osv:Debian osv:Alpine alpine-secdb:v3.10/main \
	alpine-secdb:v3.10/community debian-tracker nvd:modified; do
	grep -q " $f\( \|\$\)" <<<"$pick" || fail "$f not fetched: $pick"
done
for f in osv:PyPI osv:npm alpine-secdb:v3.19/main; do
	grep -q " $f\( \|\$\)" <<<"$pick" && fail "$f fetched: $pick"
done
stop_server

# --- Air-gapped: no updates; a DB older than --db-max-age is noted.
faults '{}'
: >"$FEEDS/.requests.log"
sleep 1
start_server --db-update-interval 0 --db-max-age 1s \
	--db-source "osv=$FURL/osv/all.zip"
sp_report up/debian "$deb" 0
jq -e 'any(.notes[]; test("older than --db-max-age"))' "$B" >/dev/null ||
	fail "no age note: $(jq -c .notes "$B")"
req GET /v2/_customs/db
jq -e '.stale == true and .update.interval_s == 0' "$B" >/dev/null ||
	fail "stale status: $(cat "$B")"
grep -q 'more than --db-max-age' "$TMP/server.log" || fail "no age warning"
sleep 1
[ ! -s "$FEEDS/.requests.log" ] ||
	fail "updates with --db-update-interval 0: $(cat "$FEEDS/.requests.log")"
stop_server
echo "ok $T"
