#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# Load: 500 keep-alive connections pushing and pulling at random for 30 s,
# plus 50 slowloris clients trickling their headers.  The server keeps
# answering (a probe's GET /v2/ stays quick), its memory stays bounded,
# and every push acknowledged is pulled back byte for byte afterwards.
#
#   LOAD_CONNS=N LOAD_SLOW=N LOAD_SECONDS=N   (defaults 500, 50, 30)
#   LOAD_RSS_MAX_MIB=N                        peak RSS allowed (512; 1024
#                                             for an ASan build)
. "$(dirname "$0")/lib.sh"
need python3

CONNS=${LOAD_CONNS:-500}
SLOW=${LOAD_SLOW:-50}
SECS=${LOAD_SECONDS:-30}
RSS_MAX=${LOAD_RSS_MAX_MIB:-512}
# AddressSanitizer keeps freed memory in quarantine (256 MiB by default).
if ldd "$CUSTOMS" 2>/dev/null | grep -q libasan; then
	RSS_MAX=${LOAD_RSS_MAX_MIB:-1024}
fi
# Room for the connections on both sides.
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((CONNS + SLOW + 100)) ] ||
	skip "open-file limit $(ulimit -n) is too low for $CONNS connections"

start_server --header-timeout 10
python3 "$(dirname "$0")/loadgen.py" 127.0.0.1 "$PORT" --conns "$CONNS" \
	--slow "$SLOW" --seconds "$SECS" >"$TMP/load.json" ||
	fail "loadgen failed: $(tail -n 5 "$TMP/load.json")"
peak=$(rss_peak_kib)
r=$(cat "$TMP/load.json")
get() { jq -r ".$1" <<<"$r"; }

echo "load: $(get conns) connections + $(get slow) slow for $(get seconds)s:" \
	"$(get requests) requests, $(get throughput_rps) req/s," \
	"$(get pushes_acked) pushes and $(get pulls_ok) pulls," \
	"statuses $(jq -c .statuses <<<"$r"), $(get conn_errors) connection errors;" \
	"probe p50 $(get probe_p50_ms) ms, max $(get probe_max_ms) ms;" \
	"slow clients cut $(get slow_cut)/$(get slow);" \
	"peak RSS $((peak / 1024)) MiB; lost $(get lost) of $(get verified)"
[ "$(get lost)" = 0 ] || fail "acknowledged pushes lost: $(jq -c .lost_keys <<<"$r")"
[ "$(get pushes_acked)" -gt 0 ] || fail "no push was acknowledged"
[ "$(get probes_ok)" = "$(get probes)" ] ||
	fail "the probe went unanswered $(($(get probes) - $(get probes_ok))) times"
jq -e '.probe_max_ms < 5000' <<<"$r" >/dev/null ||
	fail "the probe waited $(get probe_max_ms) ms"
[ $((peak / 1024)) -le "$RSS_MAX" ] ||
	fail "peak RSS $((peak / 1024)) MiB over $RSS_MAX MiB"
# The slow clients get cut off by the header timeout (10 s here).
[ "$(get slow_cut)" = "$SLOW" ] ||
	fail "only $(get slow_cut) of $SLOW slowloris clients were cut off"

stop_server
customs_run fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck after the load: $(cat "$TMP/fsck.out")"
exit 0
