#!/bin/bash
# The conformance suite (conformance/, --strict, real clients included)
# against customs with --auth token, then --auth basic, signing in with
# OCI_USERNAME/OCI_PASSWORD: Bearer tokens from the challenge's realm, or
# Basic.  Anonymous requests are refused throughout (no access rules: only
# signed-in users may do anything).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"

add_user conformance 'c0nf pass'
export OCI_USERNAME=conformance OCI_PASSWORD='c0nf pass'
for mode in token basic; do
	start_server --auth "$mode"
	req GET /v2/
	expect 401 UNAUTHORIZED
	CT_BUILD=$ROOT/$BUILD "$ROOT/conformance/run" "$URL" --strict \
		--junit "$TMP/junit-$mode.xml" >"$TMP/ct-$mode.out" 2>&1 || {
		grep -v '^PASS' "$TMP/ct-$mode.out" | tail -n 30
		fail "$mode: conformance suite failed"
	}
	tail -n 1 "$TMP/ct-$mode.out" | grep -q ' 0 failed' ||
		fail "$mode: $(tail -n 1 "$TMP/ct-$mode.out")"
	stop_server
	! grep -q 'c0nf pass\|eyJ' "$TMP/server.log" || fail "a secret in the log"
	echo "$mode: $(tail -n 1 "$TMP/ct-$mode.out")"
done
