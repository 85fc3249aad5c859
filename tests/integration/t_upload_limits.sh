#!/bin/bash
# Uploads in progress count against --quota, and open upload sessions are
# bounded per repository and per client (429 TOOMANYREQUESTS above).
#
# 1. Four parallel 9 MiB chunked uploads into one repository with a 10 MiB
#    quota: together they may not put more than 10 MiB on disk; at most
#    one is accepted whole, the others get 507 DENIED.
# 2. --max-uploads-per-repo 3 --max-uploads-per-client 5: the fourth open
#    session of a repository and the sixth of a client are refused; a
#    finished or cancelled session frees its place; another client (a
#    second loopback address) has places of its own.
. "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))

# 1. The quota and uploads in progress.
start_server --quota 10MiB
for i in 1 2 3 4; do
	head -c $((9 * MIB)) /dev/urandom >"$TMP/big$i"
	req POST /v2/quota/app/blobs/uploads/
	expect 202
	upload_location >"$TMP/loc$i"
done
pids=
for i in 1 2 3 4; do
	curl -sS -o "$TMP/patch$i.body" -w '%{http_code}' --max-time 120 \
		-X PATCH --data-binary "@$TMP/big$i" \
		-H 'Content-Type: application/octet-stream' \
		"$URL$(cat "$TMP/loc$i")" >"$TMP/patch$i.code" 2>/dev/null &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || true
done
accepted=0 denied=0
for i in 1 2 3 4; do
	code=$(cat "$TMP/patch$i.code")
	case "$code" in
	202) accepted=$((accepted + 1)) ;;
	507)
		denied=$((denied + 1))
		[ "$(jq -r '.errors[0].code' "$TMP/patch$i.body")" = DENIED ] ||
			fail "507 without DENIED: $(cat "$TMP/patch$i.body")"
		;;
	000) denied=$((denied + 1)) ;; # cut off mid-body after its 507
	*) fail "PATCH $i: $code $(cat "$TMP/patch$i.body")" ;;
	esac
done
ondisk=$(store_bytes)
echo "quota 10 MiB: 4 parallel 9 MiB uploads: $accepted accepted, $denied refused, $ondisk bytes on disk"
[ "$accepted" -le 1 ] || fail "$accepted uploads of 9 MiB fit a 10 MiB quota"
[ "$denied" -ge 3 ] || fail "only $denied uploads refused"
[ "$ondisk" -le $((10 * MIB)) ] ||
	fail "$ondisk bytes on disk under a 10 MiB quota"
# The refused sessions still hold their data: a new upload is refused
# until they go.
head -c $((2 * MIB)) /dev/urandom >"$TMP/small"
if [ "$accepted" = 1 ]; then
	req POST "/v2/quota/app/blobs/uploads/?digest=$(sha256 "$TMP/small")" \
		--data-binary "@$TMP/small" -H 'Content-Type: application/octet-stream'
	expect 507 DENIED
fi
for i in 1 2 3 4; do
	req DELETE "$(cat "$TMP/loc$i")"
	expect 204
done
# Cancelled sessions free their bytes (once the usage is counted again).
ok=
for try in $(seq 1 30); do
	req POST "/v2/quota/app/blobs/uploads/?digest=$(sha256 "$TMP/small")" \
		--data-binary "@$TMP/small" -H 'Content-Type: application/octet-stream'
	if [ "$STATUS" = 201 ]; then
		ok=1
		break
	fi
	expect 507 DENIED
	sleep 1
done
[ -n "$ok" ] || fail "the quota stayed used after the uploads were cancelled"
stop_server

# 2. Open sessions per repository and per client.
start_server --max-uploads-per-repo 3 --max-uploads-per-client 5
for i in 1 2 3; do
	req POST /v2/lim/a/blobs/uploads/
	expect 202
	upload_location >"$TMP/a$i"
done
req POST /v2/lim/a/blobs/uploads/
expect 429 TOOMANYREQUESTS
jq -e '.errors[0].message | test("lim/a has 3 open upload sessions")' "$B" \
	>/dev/null || fail "the 429 does not say why: $(cat "$B")"
# A monolithic POST needs a session too.
req POST "/v2/lim/a/blobs/uploads/?digest=$(sha256 "$TMP/small")" \
	--data-binary "@$TMP/small" -H 'Content-Type: application/octet-stream'
expect 429 TOOMANYREQUESTS
for i in 1 2; do
	req POST /v2/lim/b/blobs/uploads/
	expect 202
done
req POST /v2/lim/c/blobs/uploads/
expect 429 TOOMANYREQUESTS
jq -e '.errors[0].message | test("address 127.0.0.1 has 5 open")' "$B" \
	>/dev/null || fail "the 429 does not name the client: $(cat "$B")"
# Another client still may (but not in the full repository).
if curl -sS -o /dev/null --interface 127.0.0.2 "$URL/v2/" 2>/dev/null; then
	req POST /v2/lim/c/blobs/uploads/ --interface 127.0.0.2
	expect 202
	req POST /v2/lim/a/blobs/uploads/ --interface 127.0.0.2
	expect 429 TOOMANYREQUESTS
else
	echo "no second loopback address: the other-client case is skipped"
fi
# Finishing and cancelling free places.
printf 'chunk' >"$TMP/chunk"
req PUT "$(cat "$TMP/a1")?digest=$(sha256 "$TMP/chunk")" \
	--data-binary "@$TMP/chunk" -H 'Content-Type: application/octet-stream'
expect 201
req POST /v2/lim/a/blobs/uploads/
expect 202
req DELETE "$(cat "$TMP/a2")"
expect 204
req POST /v2/lim/c/blobs/uploads/
expect 202
stop_server
# The limits survive a restart (sessions are in meta.db).
start_server --max-uploads-per-repo 3 --max-uploads-per-client 5
req POST /v2/lim/a/blobs/uploads/
expect 429 TOOMANYREQUESTS
stop_server
exit 0
