#!/bin/bash
# The pull-through cache against a hostile upstream (hostile_upstream.py,
# on loopback): a blob with the wrong digest is a 502 and nothing of it is
# stored (and a later good answer is cached); a body that never ends, a
# trickle and a 1 TB Content-Length are cut off by --max-blob, the store's
# free space and --upstream-timeout; a redirect to another port of
# loopback (by name, or https to a loopback address) is refused, so the
# internal service's secret never reaches a client; a manifest over
# --max-manifest is refused.  GET /v2/ answers all along.
. "$(dirname "$0")/lib.sh"
need python3

HU_DIR=$TMP/hu
HU_PID=
ALIVE_PID=
hu_exit() {
	local rc=$? pid

	set +e
	for pid in $ALIVE_PID $HU_PID; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	(exit "$rc")
	lib_cleanup
}
trap hu_exit EXIT

python3 "$ROOT/tests/integration/hostile_upstream.py" "$HU_DIR" \
	>"$TMP/hu.log" 2>&1 &
HU_PID=$!
for _ in $(seq 1 100); do
	[ -s "$HU_DIR/port" ] && break
	kill -0 "$HU_PID" 2>/dev/null || fail "upstream: $(cat "$TMP/hu.log")"
	sleep 0.05
done
[ -s "$HU_DIR/port" ] || fail "the hostile upstream did not start"
HU=127.0.0.1:$(cat "$HU_DIR/port")
SECRET_PORT=$(cat "$HU_DIR/secret.port")
GOOD=$(cat "$HU_DIR/good.digest")
BIG=$(cat "$HU_DIR/big.digest")
SECRET=$(cat "$HU_DIR/secret")

# alive: GET /v2/ over and over in the background, one status a line.
alive_start() {
	(while :; do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
			"$URL/v2/" || echo "curl-failed"
		sleep 0.2
	done) >>"$TMP/alive" 2>&1 &
	ALIVE_PID=$!
}
alive_stop() {
	kill -TERM "$ALIVE_PID" 2>/dev/null || true
	wait "$ALIVE_PID" 2>/dev/null || true
	ALIVE_PID=
	[ "$(grep -c . "$TMP/alive")" -gt 0 ] || fail "GET /v2/ never asked"
	! grep -qv '^200 ' "$TMP/alive" ||
		fail "GET /v2/ failed meanwhile: $(grep -v '^200 ' "$TMP/alive" | head -n 5)"
	echo "GET /v2/ meanwhile: $(grep -c . "$TMP/alive") times, slowest $(sort -k2 -n "$TMP/alive" | tail -n 1 | cut -d' ' -f2) s"
}

stored() { has_blob "$1"; }

# no_uploads: nothing half-fetched left (the failed fetch cleans up).
no_uploads() {
	for _ in $(seq 1 100); do
		[ -z "$(store_uploads)" ] && return 0
		sleep 0.05
	done
	fail "upload data left behind: $(store_uploads)"
}

start_server --mirror "http://$HU" --max-blob 4MiB --upstream-timeout 4s \
	--log-level debug
alive_start

# Endless, trickling and huge bodies, all at once, while the rest goes on.
curl -sS -o "$TMP/endless" -w '%{http_code}' --max-time 60 \
	"$URL/v2/endless/blobs/$GOOD" >"$TMP/endless.code" 2>/dev/null &
endless=$!
curl -sS -o "$TMP/trickle" -w '%{http_code}' --max-time 60 \
	"$URL/v2/trickle/blobs/$GOOD" >"$TMP/trickle.code" 2>/dev/null &
trickle=$!
curl -sS -o "$TMP/huge" -w '%{http_code}' --max-time 60 \
	"$URL/v2/huge/blobs/$GOOD" >"$TMP/huge.code" 2>/dev/null &
huge=$!

# The wrong digest: a 502 with the spec's error body, nothing stored.
req GET "/v2/wrong/blobs/$GOOD"
expect 502 UNKNOWN
jq -r '.errors[0].message' "$B" | grep -q "other content for blob $GOOD" ||
	fail "message: $(cat "$B")"
stored "$GOOD" && fail "a blob with the wrong digest was stored"
no_uploads
# A blob bigger than what is held back: the client sees its start and a
# cut connection, never the whole wrong body.
rc=0
curl -sS -o "$TMP/wrongbig" --max-time 60 "$URL/v2/wrongbig/blobs/$BIG" \
	2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a wrong 3 MiB blob went out whole"
got=$(stat -c %s "$TMP/wrongbig")
[ "$got" -le $((2 << 20)) ] || fail "$got bytes of a wrong blob went out"
stored "$BIG" && fail "the wrong big blob was stored"
# Parts of a blob not stored, passed through: another range than the one
# asked for, or a HEAD naming another digest, is a 502.
req GET "/v2/badrange/blobs/$GOOD" -H 'Range: bytes=100-109'
expect 502 UNKNOWN
grep -q "is not that range" "$B" || fail "bad range: $(cat "$B")"
req HEAD "/v2/headlies/blobs/$GOOD"
expect 502
stored "$GOOD" && fail "a part was stored"
# An upstream that ignores Range (a 200, whole): the whole fetch, stored,
# and the range served from it.
req GET "/v2/norange/blobs/$BIG" -H 'Range: bytes=102-108'
expect 206
expect_hdr Content-Range "bytes 102-108/3145728"
[ "$(cat "$B")" = customs ] || fail "range of norange: $(cat "$B")"
# (The range is sent before the fetch has all of the blob.)
for _ in $(seq 1 100); do
	stored "$BIG" && break
	sleep 0.05
done
stored "$BIG" || fail "the blob of an upstream ignoring Range was not stored"
no_uploads
# The upstream mends its ways: the same digest now comes and is cached.
touch "$HU_DIR/good"
req GET "/v2/wrong/blobs/$GOOD"
expect 200
[ "$(sha256 "$B")" = "$GOOD" ] || fail "the good blob came out different"
stored "$GOOD" || fail "the good blob was not stored"

# An error whose body never ends: its start is enough.
req GET "/v2/endlesserror/blobs/$GOOD"
expect 502
grep -q "replied 500" "$B" || fail "endless error: $(cat "$B")"
# Headers without end.
req GET "/v2/headerbomb/blobs/$GOOD"
expect 502
grep -q "reply headers over" "$B" || fail "header bomb: $(cat "$B")"

# Redirects.  To another port of loopback, by name: refused, and the
# internal service never asked.
req GET "/v2/redirect/blobs/$GOOD"
expect 502
grep -q "refused to follow its redirect to 127.0.0.1:$SECRET_PORT" "$B" ||
	fail "redirect message: $(cat "$B")"
# https by name, but loopback by address: refused before connecting.
req GET "/v2/redirect-https/blobs/$GOOD"
expect 502
grep -q "a loopback address" "$B" || fail "https redirect: $(cat "$B")"
req GET "/v2/redirect-name/blobs/$GOOD"
expect 502
[ ! -e "$HU_DIR/secret.log" ] ||
	fail "the internal service was asked: $(cat "$HU_DIR/secret.log")"
# To its own origin: followed.
req GET "/v2/redirect-self/blobs/$GOOD"
expect 200
[ "$(sha256 "$B")" = "$GOOD" ] || fail "redirect-self body"

# Manifests stay under --max-manifest: by Content-Length, or cut off.
req GET /v2/bigmanifest/manifests/v1
expect 502
grep -q "max-manifest" "$B" || fail "big manifest: $(cat "$B")"
req GET /v2/endlessmanifest/manifests/v1
expect 502
# A layer whose manifest says 1 TB is not even asked for.
hl=$(cat "$HU_DIR/hugelayer.digest")
req GET /v2/hugelayer/manifests/v1
expect 200
for _ in $(seq 1 100); do
	grep -q "blob $hl has 1099511627776 bytes (its manifest says)" \
		"$TMP/server.log" && break
	sleep 0.05
done
grep -q "blob $hl has 1099511627776 bytes (its manifest says), over --max-blob" \
	"$TMP/server.log" || fail "the 1 TB layer was not refused by its size"
! grep -q "GET /v2/hugelayer/blobs/$hl" "$HU_DIR/log" ||
	fail "the 1 TB layer was fetched"

# The three long ones ended, with an error and nothing stored.
wait "$endless" || true
wait "$trickle" || true
wait "$huge" || true
for k in endless trickle huge; do
	[ "$(cat "$TMP/$k.code")" = 502 ] ||
		fail "$k: $(cat "$TMP/$k.code") $(head -c 300 "$TMP/$k")"
done
grep -q "goes on past 4194304 bytes (--max-blob)" "$TMP/endless" ||
	fail "endless: $(cat "$TMP/endless")"
grep -q "Operation timed out" "$TMP/trickle" ||
	fail "trickle: $(cat "$TMP/trickle")"
grep -q "has 1099511627776 bytes (its Content-Length), over --max-blob" \
	"$TMP/huge" || fail "huge: $(cat "$TMP/huge")"
no_uploads
[ -z "$(store_blobs 1048577 | grep -vx "${BIG#sha256:}")" ] ||
	fail "a big blob was stored"
alive_stop
! grep -q -- "$SECRET" "$TMP/server.log" || fail "the secret is in our log"
stop_server

# Default flags (no --max-blob): a Content-Length past the store's free
# space is refused before a byte is written.
fresh_store
start_server --mirror "http://$HU"
req GET "/v2/hugest/blobs/$GOOD"
expect 502
grep -q "more than the store's" "$B" || fail "hugest: $(cat "$B")"
no_uploads
# An operator's allow list admits its internal host (the upstream is on
# loopback too), and only that.
stop_server
fresh_store
start_server --mirror "http://$HU" \
	--upstream-redirect-allow "localhost:$SECRET_PORT"
req GET "/v2/redirect-name/blobs/$GOOD"
expect 200
[ "$(sha256 "$B")" = "$GOOD" ] || fail "allowed redirect body"
grep -q "GET /cdn/$GOOD" "$HU_DIR/secret.log" || fail "not fetched there"
req GET "/v2/redirect/blobs/$GOOD"
! grep -q -- "$SECRET" "$B" || fail "the secret reached a client"
grep -c /secret "$HU_DIR/secret.log" | grep -qx 0 ||
	fail "the internal service was asked for /secret"
stop_server
