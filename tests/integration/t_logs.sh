#!/bin/bash
# Logs: --log-format json writes one JSON object per line (every line, the
# scan worker's too); request ids: an incoming X-Request-Id is echoed and
# carried by the request's access line and by the scan job its manifest
# PUT queued; a request without one, or with a hostile one, gets an id of
# ours.  --log-format text ends such lines with request_id=ID.  With
# sign-in, the access line names the user and a failed login's warning
# the request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
need python3

LOG=$TMP/server.log

# is_our_id ID: 16 lowercase hex digits (what the server makes).
is_our_id() {
	[ "${#1}" = 16 ] && [ -z "$(printf '%s' "$1" | tr -d 0-9a-f)" ]
}

# wait_log PATTERN: until the server log has a line matching PATTERN.
wait_log() {
	local i

	for i in $(seq 1 200); do
		grep -q -- "$1" "$LOG" && return 0
		sleep 0.05
	done
	fail "no log line matching '$1'"
}

# push_scanned NAME ID: pushes image NAME to logs/NAME:v1, the manifest
# PUT with X-Request-Id ID (expects it echoed), and waits for its scan
# report; sets dg.
push_scanned() {
	local m

	mkdir -p "$TMP/img"
	m=$(make_image "$TMP/img" "$1")
	push_blob "logs/$1" "$TMP/img/config-$1.json" >/dev/null
	push_blob "logs/$1" "$TMP/img/layer-$1.tar.gz" >/dev/null
	req PUT "/v2/logs/$1/manifests/v1" --data-binary "@$m" \
		-H "Content-Type: $OCI_MANIFEST" -H "X-Request-Id: $2"
	expect 201
	[ "$(hdr X-Request-Id)" = "$2" ] ||
		fail "X-Request-Id not echoed: '$(hdr X-Request-Id)'"
	dg=$(sha256 "$m")
	req GET "/v2/logs/$1/_customs/scan/$dg?wait=60"
	expect 200
}

# --- JSON.
start_server --log-format json --scan-workers 1
push_scanned one abc-123

# No X-Request-Id: one of ours, in the reply and in the log.
req GET /v2/
expect 200
plain=$(hdr X-Request-Id)
is_our_id "$plain" || fail "generated id '$plain'"
req GET /v2/
[ "$(hdr X-Request-Id)" != "$plain" ] || fail "the same id twice: $plain"

# Hostile ids are replaced, not cut or echoed.
big=$(head -c 10240 /dev/zero | tr '\0' x)
for bad in "$big" $'tab\there' $'esc\x1b[31m' 'sp ace' $'caf\xc3\xa9'; do
	req GET /v2/ -H "X-Request-Id: $bad"
	got=$(hdr X-Request-Id)
	is_our_id "$got" || fail "hostile id answered with '${got:0:40}'"
done
grep -q 'xxxxxxxxxxxxxxxx' "$LOG" && fail "the 10 KB id reached the log"

wait_log '"msg":"scan sha256:[0-9a-f]* (logs/one): [a-z-]* in '
stop_server

# Every line is one JSON object with ts (RFC 3339 UTC, ms), level, msg.
python3 - "$LOG" <<'EOF' || fail "the log is not JSON lines"
import json, re, sys
ts = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
for n, line in enumerate(open(sys.argv[1], 'rb'), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        sys.exit(f'line {n}: {e}: {line[:200]!r}')
    if not isinstance(o, dict) or not ts.match(o.get('ts', '')) or \
            o.get('level') not in ('debug', 'info', 'warn', 'error') or \
            not isinstance(o.get('msg'), str):
        sys.exit(f'line {n}: {line[:200]!r}')
EOF

# jq over the lines: the access line of the PUT, the scan job's lines.
jq -e -s --arg p /v2/logs/one/manifests/v1 'map(select(.path == $p)) |
	length == 1 and .[0].request_id == "abc-123" and .[0].method == "PUT"
	and .[0].status == 201 and (.[0].bytes | type) == "number" and
	(.[0].duration_ms | type) == "number" and .[0].remote == "127.0.0.1"' \
	"$LOG" >/dev/null || fail "the PUT's access line: $(grep manifests "$LOG")"
jq -e -s --arg d "scan $dg (logs/one): " 'map(select(.msg | startswith($d)))
	| length >= 2 and all(.request_id == "abc-123") and
	any(.msg | test(": started")) and
	any(.msg | test(" in [0-9]+ ms: [0-9]+ critical"))' "$LOG" >/dev/null ||
	fail "the scan job's lines: $(grep "scan $dg" "$LOG")"
jq -e -s --arg id "$plain" 'map(select(.request_id == $id)) | length == 1 and
	.[0].path == "/v2/" and .[0].status == 200' "$LOG" >/dev/null ||
	fail "no access line for $plain"
# Blobs pushed without an id have one of ours.
jq -e -s 'map(select(.method == "POST")) | length == 2 and
	all(.request_id | test("^[0-9a-f]{16}$"))' "$LOG" >/dev/null ||
	fail "the blob POSTs' ids: $(grep POST "$LOG")"

# --- Text: the same facts, as request_id=ID at the end of the line.
: >"$LOG"
start_server --scan-workers 1
push_scanned two txt-9
wait_log "scan $dg (logs/two): [a-z-]* in .* request_id=txt-9\$"
stop_server
grep -q ' info PUT /v2/logs/two/manifests/v1 201 .* 127.0.0.1 request_id=txt-9$' \
	"$LOG" || fail "text access line: $(grep PUT "$LOG")"
grep -q "scan $dg (logs/two): started, attempt 1 request_id=txt-9\$" "$LOG" ||
	fail "text scan start line: $(grep "scan $dg" "$LOG")"
grep -q '^{' "$LOG" && fail "a JSON line in text mode"

# --- Signed in: the access line names the user; a failed login's warning
# (logged off the event loop, where the password is checked) names the
# request.
: >"$LOG"
add_user alice alice-pw
start_server --auth basic --log-format json
as alice alice-pw
req GET /v2/ -H 'X-Request-Id: signed-in-1'
expect 200
as alice wrong-pw
req GET /v2/ -H 'X-Request-Id: bad-pw-1'
[ "$STATUS" = 401 ] || fail "a wrong password got $STATUS"
[ "$(hdr X-Request-Id)" = bad-pw-1 ] || fail "401 without the id"
wait_log '"msg":"auth: failed login'
stop_server
jq -e -s 'map(select(.request_id == "signed-in-1" and .path == "/v2/"))
	| length == 1 and .[0].user == "alice"' "$LOG" >/dev/null ||
	fail "no user on the access line: $(grep signed-in-1 "$LOG")"
jq -e -s 'map(select(.request_id == "bad-pw-1")) | length == 2 and
	any(.msg | startswith("auth: failed login")) and
	any(.status == 401 and (has("user") | not))' "$LOG" >/dev/null ||
	fail "the failed login's lines: $(grep bad-pw-1 "$LOG")"
echo "ok"
