#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# The adversarial corpus (tests/data/hostile/gen) pushed to a running
# `customs serve` with default budgets and a pull policy: for every case the
# server keeps answering GET /v2/, the scan ends within its deadline with
# the expected outcome, the policy refuses the image (GET and HEAD alike),
# the server's RSS stays under 64 MiB, and a restart does not re-enter any
# scan.  The scanner-level expectations are in tests/data/hostile/README.md.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need python3 zstd gzip

GEN=$ROOT/tests/data/hostile/gen
C=$TMP/corpus
python3 "$GEN" "$C" >"$TMP/gen.log" 2>&1 || fail "gen: $(tail -n 3 "$TMP/gen.log")"

push_case() { # CASE -> prints the top manifest's digest
	sp_push_layout "$C/$1" "hostile/$1" latest
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
probe() { # GET /v2/ answers while scans run
	local t

	t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' "$URL/v2/") ||
		fail "GET /v2/ failed: $(tail -n 5 "$TMP/server.log")"
	[ "${t% *}" = 200 ] || fail "GET /v2/ answered ${t% *}"
	echo "${t#* }" >>"$TMP/probe.txt"
}

# Each case, with its expected outcome at the scan endpoint: "budget:X"
# (incomplete, X among the budgets hit), "complete", or "index".
cases="hardlink-lock:complete statusd-hardlink:complete
many-pkgjson:budget:packages gzip-bomb:budget:ratio zstd-bomb:budget:ratio
repeated-layer:complete rpm-view:complete rpm-without-rowid:complete
rpm-trigger:complete rpm-hugeblob:budget:ratio npm-deep:budget:file_bytes
npm-huge:budget:file_bytes dpkg-padded:budget:file_bytes index-bomb:index"

# With the fixture advisories: reports are matched in the server, as in
# production.
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"
start_server --scan-workers 2 --deny-severity critical --policy-wait 0 \
	--policy-on-scan-error deny
: >"$TMP/probe.txt"
echo "server RSS at start: $(rss_kib) KiB"
declare -A DG
for c in $cases; do
	name=${c%%:*}
	[ -d "$C/$name" ] || fail "gen made no $name"
	DG[$name]=$(push_case "$name")
	probe
done

echo "server RSS after the pushes: $(rss_kib) KiB"
peak=0
for c in $cases; do
	name=${c%%:*}
	want=${c#*:}
	dg=${DG[$name]}
	# The endpoint holds the request until the scan is final.
	t0=$(date +%s)
	while :; do
		curl -sS -o "$B" -w '%{http_code}' --max-time 60 \
			"$URL/v2/hostile/$name/_customs/scan/$dg?wait=30" \
			>"$TMP/status" &
		w=$!
		while kill -0 "$w" 2>/dev/null; do
			probe
			r=$(rss_kib)
			[ "$r" -gt "$peak" ] && peak=$r
			sleep 0.2
		done
		wait "$w" || true
		STATUS=$(cat "$TMP/status")
		[ "$STATUS" = 202 ] || break
		[ $(($(date +%s) - t0)) -lt 300 ] || fail "$name: still pending after 300 s"
	done
	secs=$(($(date +%s) - t0))
	case $want in
	complete)
		[ "$STATUS" = 200 ] || fail "$name: status $STATUS: $(head -c 300 "$B")"
		jq -e '(.status // "complete") == "complete"' "$B" >/dev/null ||
			fail "$name: want complete: $(jq -c '{status, budgets}' "$B")"
		;;
	budget:*)
		[ "$STATUS" = 200 ] || fail "$name: status $STATUS: $(head -c 300 "$B")"
		jq -e --arg b "${want#budget:}" '.status == "incomplete" and
			any(.budgets[]; .budget == $b)' "$B" >/dev/null ||
			fail "$name: want budget ${want#budget:}: $(jq -c '{status, budgets}' "$B")"
		# An incomplete scan is refused, whatever it found.
		req GET "/v2/hostile/$name/manifests/latest"
		expect 403 DENIED
		grep -q "incomplete" "$B" || fail "$name: refusal does not say why: $(cat "$B")"
		req HEAD "/v2/hostile/$name/manifests/latest"
		[ "$STATUS" = 403 ] || fail "$name: HEAD answered $STATUS, GET 403"
		;;
	index)
		[ "$STATUS" = 200 ] || fail "$name: status $STATUS: $(head -c 300 "$B")"
		jq -e '.status == "incomplete"' "$B" >/dev/null ||
			fail "$name: want an incomplete index: $(jq -c '{status}' "$B")"
		req GET "/v2/hostile/$name/manifests/latest"
		expect 403 DENIED
		;;
	esac
	echo "$name: $want in ${secs}s (server RSS $(rss_kib) KiB)"
done

r=$(rss_kib)
[ "$r" -gt "$peak" ] && peak=$r
echo "server peak RSS ${peak} KiB while scanning the corpus"
# Sanitizer builds (whose workers report no address-space limit) keep
# freed memory in a quarantine of 256 MiB: their RSS says nothing.
if "$CUSTOMS" scan-worker --self-test 2>/dev/null | grep -qx "rlimit-as -1"; then
	echo "sanitizer build: the 64 MiB bound is not checked"
else
	[ "$peak" -lt $((64 * 1024)) ] ||
		fail "server RSS ${peak} KiB is over 64 MiB"
fi
slow=$(sort -n "$TMP/probe.txt" | tail -n 1)
echo "GET /v2/ during the scans: $(wc -l <"$TMP/probe.txt") probes, slowest ${slow}s"

# A restart takes no scan up again: every job is final.
stop_server
n0=$(grep -c "scanned in" "$TMP/server.log")
start_server --scan-workers 2 --deny-severity critical --policy-wait 0
sleep 3
probe
[ "$(grep -c "scanned in" "$TMP/server.log")" = "$n0" ] ||
	fail "scans were taken again after a restart"
pgrep -P "$PID" -f "scan-worker" >/dev/null &&
	fail "a scan worker runs after the restart"
stop_server
echo ok
