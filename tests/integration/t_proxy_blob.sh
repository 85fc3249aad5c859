#!/bin/bash
# Blobs through the pull-through cache: ten clients pulling a 200 MiB blob
# at once make one upstream fetch, each gets every byte, and the server's
# memory stays flat (the blob is streamed from the growing upload file).
# Then the upstream dies half-way through a blob (its traffic runs through
# a throttling relay that is killed): the clients see a cut body, nothing
# is left in the store, and fsck is clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
# Under ASan freed memory sits in a quarantine (256 MiB by default) and
# counts as resident; keep it small so the cap measures our buffers.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

# relay.py PORTFILE TARGET_PORT RATE: a TCP relay to 127.0.0.1:TARGET_PORT
# that sends the replies at RATE bytes/s.
cat >"$TMP/relay.py" <<'EOF'
import socket, sys, threading, time
portfile, target, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(portfile, "w") as f:
    f.write(str(srv.getsockname()[1]))
def pipe(a, b, slow):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
            if slow:
                time.sleep(len(d) / rate)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, True), daemon=True).start()
EOF

# push_up NAME FILE: a blob into the upstream; prints its digest.
push_up() {
	local dg loc code

	dg=$(sha256 "$2")
	loc=$(curl -sS -D - -o /dev/null -X POST "$UP_URL/v2/$1/blobs/uploads/" |
		awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
	code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT \
		-H 'Content-Type: application/octet-stream' \
		--data-binary "@$2" "$loc&digest=$dg")
	[ "$code" = 201 ] || fail "upstream blob push: $code"
	echo "$dg"
}

up_start
head -c 200M /dev/urandom >"$TMP/big"
big=$(push_up library/big "$TMP/big")
rm -f "$TMP/big"
start_server --mirror "$UP_URL"

# Ten at once, each hashed as it arrives.
pids=
for i in $(seq 1 10); do
	(curl -sS --max-time 120 "$URL/v2/library/big/blobs/$big" |
		sha256sum | cut -d' ' -f1 >"$TMP/got.$i") &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a client failed"; done
for i in $(seq 1 10); do
	[ "sha256:$(cat "$TMP/got.$i")" = "$big" ] || fail "client $i got other bytes"
done
[ "$(up_count "GET /v2/library/big/blobs/$big")" = 1 ] ||
	fail "$(up_count "GET /v2/library/big/blobs/$big") upstream fetches"
rss=$(rss_peak_kib)
[ "$rss" -lt 131072 ] || fail "server peak RSS $rss KiB for a 200 MiB blob"
echo "10 clients, one upstream fetch, peak RSS ${rss} KiB"
# Now from the store.
[ "$(curl -sS "$URL/v2/library/big/blobs/$big" | sha256sum | cut -d' ' -f1)" = "${big#sha256:}" ] ||
	fail "the stored blob differs"
stop_server

# The upstream dies mid-blob.
head -c 100M /dev/urandom >"$TMP/doomed"
doomed=$(push_up library/doomed "$TMP/doomed")
rm -f "$TMP/doomed"
python3 "$TMP/relay.py" "$TMP/relay.port" "$UP_PORT" 20000000 &
relay=$!
px_bg "$relay"
for _ in $(seq 1 100); do
	[ -s "$TMP/relay.port" ] && break
	sleep 0.05
done
start_server --mirror "http://127.0.0.1:$(cat "$TMP/relay.port")"
for i in 1 2; do
	curl -sS --max-time 60 -o "$TMP/part.$i" -w '%{http_code}' \
		"$URL/v2/library/doomed/blobs/$doomed" >"$TMP/code.$i" 2>/dev/null &
	eval "c$i=\$!"
done
# Under way: the clients have more than 10 MiB of it.
got10m() { [ "$(stat -c %s "$TMP/part.1" 2>/dev/null || echo 0)" -gt 10485760 ]; }
for _ in $(seq 1 200); do
	got10m && break
	sleep 0.05
done
got10m || fail "the fetch did not get going"
kill -KILL "$relay"
wait "$relay" 2>/dev/null || true
up_stop
for i in 1 2; do
	eval "p=\$c$i"
	if wait "$p"; then
		fail "client $i got a whole body from a dead upstream"
	fi
	[ "$(stat -c %s "$TMP/part.$i")" -lt 104857600 ] ||
		fail "client $i got all the bytes"
done
! has_blob "$doomed" || fail "a cut blob was stored"
for _ in $(seq 1 100); do
	[ -z "$(store_uploads)" ] && break
	sleep 0.05
done
[ -z "$(store_uploads)" ] || fail "upload data left behind: $(store_uploads)"
grep -q "blob $doomed: upstream" "$TMP/server.log" ||
	fail "the failed fetch was not logged"
req HEAD "/v2/library/doomed/blobs/$doomed"
expect 502
stop_server
customs_run fsck --data "$DATA" >"$TMP/fsck.log" 2>&1 ||
	fail "fsck: $(tail -n 5 "$TMP/fsck.log")"
