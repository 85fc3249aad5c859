#!/bin/bash
# `customs serve` itself: --help, bad flags, --config FILE, SIGINT, TLS.
. "$(dirname "$0")/lib.sh"

"$CUSTOMS" serve --help >"$TMP/help" || fail "--help exited $?"
for f in --listen --data --threads --tls-cert --tls-key --max-manifest \
	--log-level --port-file --config; do
	grep -q -- "$f" "$TMP/help" || fail "--help lacks $f"
done
rc=0
"$CUSTOMS" serve --no-such-flag 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "unknown flag: exit $rc"
grep -q "unknown option '--no-such-flag'" "$TMP/err" || fail "$(cat "$TMP/err")"
rc=0
"$CUSTOMS" serve --tls-cert /nonexistent 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "--tls-cert alone: exit $rc"
rc=0
"$CUSTOMS" serve --max-manifest lots 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "bad size: exit $rc"
# A port in use is reported, not ignored.
start_server
rc=0
timeout 10 "$CUSTOMS" serve --listen "$REG" --data "$TMP/d2" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "busy port: exit $rc"
stop_server

# Settings from a JSON file; flags still win.
printf '{"listen": "127.0.0.1:1", "max_manifest": "2KiB", "log-level": "warn"}' \
	>"$TMP/customs.json"
: >"$TMP/server.log"
start_server --config "$TMP/customs.json" --listen 127.0.0.1:0
req GET /v2/
expect 200
head -c 3000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
req PUT /v2/x/manifests/v1 --data-binary "@$TMP/big.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 413 SIZE_INVALID
grep -q "info" "$TMP/server.log" && fail "log-level warn still logs info"
# SIGINT stops it cleanly too.
kill -INT "$PID"
rc=0
wait "$PID" || rc=$?
PID=
[ "$rc" = 0 ] || fail "SIGINT: exit $rc"

# TLS with a throwaway self-signed certificate.
if command -v openssl >/dev/null; then
	tls_cert
	start_server --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
	URL=https://$REG
	req GET /v2/ --cacert "$TMP/cert.pem"
	expect 200
	f=$TMP/blob
	head -c 300000 /dev/urandom >"$f"
	dg=$(sha256 "$f")
	req POST "/v2/tls/blobs/uploads/?digest=$dg" --data-binary "@$f" \
		--cacert "$TMP/cert.pem"
	expect 201
	req GET "/v2/tls/blobs/$dg" --cacert "$TMP/cert.pem"
	same_file "$B" "$f"
	stop_server
fi
