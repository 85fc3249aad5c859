# s3hold_lib.sh: sourced after lib.sh and lib_ceph.sh (ceph_start run) by
# the tests that stall a node's S3: hold_proxy.py between it and the RGW.
#
#   hold_start          starts the proxy; HOLD_ENDPOINT is its URL, for a
#                       node's --s3-endpoint
#   hold PREFIX         requests beginning with PREFIX ("GET /bucket/key")
#                       stall from now on
#   hold_wait           waits until one is stalled (fails after 30 s)
#   unhold              they go on
#   port_wait PID FILE LOG
#                       waits for a server's port file (fails if it exits)
#
# On exit the stall ends, then the servers in HOLD_NODES (pids; stopped
# ones are continued) get SIGTERM, and the PostgreSQL of tests/pgtemp in
# HOLD_PGDIR (if set) is stopped.

HOLD_PID=
HOLD_ENDPOINT=
HOLD_NODES=()
HOLD_PGDIR=
hold_cleanup() {
	local p

	rm -f "$TMP/hold"
	for p in ${HOLD_NODES[@]+"${HOLD_NODES[@]}"}; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID"
	[ -n "$HOLD_PGDIR" ] && "$ROOT/tests/pgtemp" stop "$HOLD_PGDIR"
}
HOLD_NEXT_TRAP=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap 'rc=$?; set +e; hold_cleanup; (exit $rc); eval "${HOLD_NEXT_TRAP:-lib_cleanup}"' EXIT

hold_start() {
	python3 "$ROOT/tests/integration/hold_proxy.py" "$TMP/hold.port" \
		"${S3_ENDPOINT##*:}" "$TMP/hold" "$TMP/held" &
	HOLD_PID=$!
	for _ in $(seq 100); do [ -s "$TMP/hold.port" ] && break; sleep 0.05; done
	[ -s "$TMP/hold.port" ] || fail "hold_proxy.py did not start"
	HOLD_ENDPOINT=http://127.0.0.1:$(cat "$TMP/hold.port")
}

hold() {
	rm -f "$TMP/held"
	printf '%s' "$1" >"$TMP/hold"
}

hold_wait() {
	for _ in $(seq 600); do [ -e "$TMP/held" ] && return 0; sleep 0.05; done
	fail "no request to S3 was held"
}

unhold() {
	rm -f "$TMP/hold"
}

port_wait() {
	for _ in $(seq 1 200); do
		[ -s "$2" ] && return 0
		kill -0 "$1" 2>/dev/null || fail "server exited: $(tail -n 5 "$3")"
		sleep 0.05
	done
	fail "server did not write its port"
}
