#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# Eight clients push the same blob at once (monolithic POSTs and
# POST/PATCH/PUT sessions, into one repository and into others): every
# push gets 201 and the blob reads back intact.
. "$(dirname "$0")/lib.sh"
start_server

f=$TMP/blob
head -c 8000000 /dev/urandom >"$f"
dg=$(sha256 "$f")

push_one() { # push_one N REPO: writes the final status to $TMP/st.N
	local n=$1 repo=$2 loc st

	if [ $((n % 2)) -eq 0 ]; then
		st=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
			--data-binary "@$f" "$URL/v2/$repo/blobs/uploads/?digest=$dg")
	else
		loc=$(curl -sS -o /dev/null -D - -X POST \
			"$URL/v2/$repo/blobs/uploads/" |
			tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
		st=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH \
			--data-binary "@$f" "$URL$loc")
		[ "$st" = 202 ] &&
			st=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT \
				"$URL$loc?digest=$dg")
	fi
	echo "$st" >"$TMP/st.$n"
}

pids=()
for n in 1 2 3 4 5 6 7 8; do
	repo=same
	[ "$n" -gt 6 ] && repo=other$n
	push_one "$n" "$repo" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for n in 1 2 3 4 5 6 7 8; do
	[ "$(cat "$TMP/st.$n")" = 201 ] ||
		fail "client $n got $(cat "$TMP/st.$n")"
done
for repo in same other7 other8; do
	req GET "/v2/$repo/blobs/$dg"
	expect 200
	same_file "$B" "$f"
done
# Exactly one copy in the store.
[ "$(store_blobs | wc -l)" = 1 ] || fail "blobs: $(store_blobs)"

stop_server
