#!/bin/bash
# Crafted images behind the pull-through cache: the upstream (Debian's
# docker-registry) holds cases of the adversarial corpus
# (tests/data/hostile/gen); anonymous GETs through customs make it fetch
# and scan them.  The registry keeps serving, each scan ends with its
# budget, and the policy refuses every image whose scan did not complete.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need zstd gzip

C=$TMP/corpus
cases="zstd-bomb gzip-bomb hardlink-lock rpm-view npm-huge dpkg-padded"
# shellcheck disable=SC2086
python3 "$ROOT/tests/data/hostile/gen" "$C" $cases >"$TMP/gen.log" 2>&1 ||
	fail "gen: $(tail -n 3 "$TMP/gen.log")"

up_start
for c in $cases; do
	up_push "$C/$c:latest" "hostile/$c:v1"
done
"$CUSTOMS" db import --db "$TMP/vulndb.db" "$PX_DATA/advisories/osv" \
	>"$TMP/import.log" 2>&1 || fail "db import: $(tail -n 3 "$TMP/import.log")"
start_server --mirror "$UP_URL" --vuln-db "$TMP/vulndb.db" \
	--deny-severity critical --policy-wait 60

for c in $cases; do
	# The first GET waits for the fetch and the scan, then is judged.
	req GET "/v2/hostile/$c/manifests/v1"
	case $c in
	hardlink-lock | rpm-view)
		# Complete scans with no critical finding are served.
		expect 200 ;;
	*)
		expect 403 DENIED
		grep -q "scan incomplete: budget" "$B" ||
			fail "$c: refusal: $(cat "$B")" ;;
	esac
	kill -0 "$PID" 2>/dev/null || fail "server died on $c"
	req GET /v2/
	expect 200
	echo "$c: judged; GET /v2/ still 200"
done
rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
echo "server peak RSS ${rss} KiB"
stop_server
echo ok
