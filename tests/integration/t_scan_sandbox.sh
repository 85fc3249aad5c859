#!/bin/bash
# The scan sandbox: layers are read by `customs scan-worker` processes that
# cannot write files, open sockets or start programs, and whose death
# (a crash, a limit, the deadline) fails that one scan while the server
# goes on serving.  A failed scan is final (no crash loop on restart), and
# SIGTERM ends a server whose worker is deep in a decompression bomb.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need python3 zstd

# --- The worker's confinement, as it reports it itself.  Its last act is
# to open a socket, which the filter answers by killing it (SIGSYS).
rc=0
"$CUSTOMS" scan-worker --self-test >"$TMP/self.txt" 2>"$TMP/self.err" || rc=$?
[ "$rc" -eq $((128 + 31)) ] ||
	fail "self-test: exit $rc, want death by SIGSYS: $(cat "$TMP/self.txt" "$TMP/self.err")"
grep -qx "open-for-write Operation not permitted" "$TMP/self.txt" ||
	fail "self-test: a worker may open files for writing: $(cat "$TMP/self.txt")"
grep -qx "mkdir Operation not permitted" "$TMP/self.txt" ||
	fail "self-test: a worker may create directories"
grep -qx "read-only-open allowed" "$TMP/self.txt" ||
	fail "self-test: read-only opens should stay allowed"
grep -qx "rlimit-core 0" "$TMP/self.txt" || fail "self-test: core dumps allowed"
grep -qx "rlimit-nofile 64" "$TMP/self.txt" || fail "self-test: no fd limit"
if [ "$(id -u)" = 0 ]; then
	grep -qx "uid 65534" "$TMP/self.txt" ||
		fail "self-test: started as root, the worker kept its uid"
fi
grep -q "socket allowed" "$TMP/self.txt" && fail "self-test: socket() allowed"

sp_layout

# A layer that takes long to read when the budgets are off: the corpus's
# zstd bomb (100 GiB of zeros in 3 MiB).
python3 "$ROOT/tests/data/hostile/gen" "$TMP/corpus" zstd-bomb \
	>"$TMP/gen.log" 2>&1 || fail "gen: $(tail -n 3 "$TMP/gen.log")"
# status REPO DIGEST: the scan endpoint's status (200: "done").
scan_status() {
	req GET "/v2/$1/_customs/scan/$2"
	case $STATUS in
	200) echo done ;;
	*) jq -r '.status // "?"' "$B" ;;
	esac
}
alive() {
	kill -0 "$PID" 2>/dev/null || fail "server died: $(tail -n 5 "$TMP/server.log")"
	req GET /v2/
	expect 200
}

# --- A worker that cannot get memory dies; the server logs it, fails that
# scan for good and serves on.  A restart does not scan it again.  (Builds
# with AddressSanitizer set no address-space limit: it needs terabytes.)
if grep -qx "rlimit-as -1" "$TMP/self.txt"; then
	echo "sanitizer build: no address-space limit, dying-worker case skipped"
else
start_server --scan-workers 1 --scan-memory 4MiB
deb=$(sp_push debian sb/deb v1)
req GET "/v2/sb/deb/_customs/scan/$deb?wait=60"
expect 422
jq -e '.status == "failed" and (.error | test("scan worker (died|exited)"))' \
	"$B" >/dev/null || fail "dying worker: $(cat "$B")"
alive
grep -q "scan worker" "$TMP/server.log" || fail "the worker's death is not logged"
stop_server
start_server --scan-workers 1
sleep 1.5
[ "$(scan_status sb/deb "$deb")" = failed ] ||
	fail "a failed scan was taken again after a restart"
alive
stop_server
fi

# --- SIGTERM while a worker is deep in a bomb (budgets off): the server
# still stops within stop_server's few seconds, and the job is taken again
# at the next start.
start_server --scan-workers 1 --scan-max-ratio 0 --scan-max-layer-bytes 0 \
	--scan-max-image-bytes 0 --scan-deadline 0
bdg=$(sp_push_layout "$TMP/corpus/zstd-bomb" sb/bomb v1)
# Workers are the server's children (other servers may run beside this
# test: look at this one's only).
workers=
for i in $(seq 1 100); do
	workers=$(pgrep -P "$PID" -f "scan-worker" || true)
	[ -n "$workers" ] && break
	sleep 0.1
done
[ -n "$workers" ] || fail "no scan worker is running"
alive
stop_server
sleep 0.2
for w in $workers; do
	kill -0 "$w" 2>/dev/null && fail "scan worker $w outlived the server"
done

# --- The deadline: a one-second budget ends the bomb's scan, final, with
# the reason; the server answered all along.
start_server --scan-workers 1 --scan-max-ratio 0 --scan-max-layer-bytes 0 \
	--scan-max-image-bytes 0 --scan-deadline 1
alive
req GET "/v2/sb/bomb/_customs/scan/$bdg?wait=60"
case $STATUS in
200) jq -e '.status == "incomplete" and any(.budgets[]; .budget == "deadline")' \
	"$B" >/dev/null || fail "deadline: $(jq -c '{status, budgets}' "$B")" ;;
422) jq -e '.error | test("deadline")' "$B" >/dev/null ||
	fail "deadline: $(cat "$B")" ;;
*) fail "deadline: status $STATUS: $(cat "$B")" ;;
esac
alive
stop_server
echo "ok"
