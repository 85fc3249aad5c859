#!/bin/bash
# An upload's running hash outlives its requests: a clean restart keeps it
# (saved beside the upload), a crash drops it (the finish then reads the
# data again, off the event loop), and a finish that must read everything
# (a sha512 digest) does not hold up other requests on the same loop.
. "$(dirname "$0")/lib.sh"
need python3
need_backend fs "the hash state files beside a local upload (on S3 it lives in the database)"

f=$TMP/blob
head -c 3000000 /dev/urandom >"$f"
head -c 1000000 "$f" >"$TMP/part1"
tail -c +1000001 "$f" >"$TMP/rest"
dg=$(sha256 "$f")

# 1. A clean restart: the state is saved and taken up again.
start_server
req POST /v2/state/blobs/uploads/
expect 202
loc=$(upload_location)
id=${loc##*/}
req PATCH "$loc" --data-binary "@$TMP/part1" -H 'Content-Range: 0-999999'
expect 202
stop_server
[ -s "$DATA/uploadstate/$id" ] || fail "no saved hash state after a stop"
[ -e "$DATA/uploadstate/clean" ] || fail "the stop did not mark the states"
start_server
[ -e "$DATA/uploadstate/clean" ] && fail "the mark outlives the start"
req GET "$loc"
expect 204
expect_hdr Range 0-999999
req PATCH "$loc" --data-binary "@$TMP/rest" -H 'Content-Range: 1000000-2999999'
expect 202
req PUT "$loc?digest=$dg"
expect 201
[ -e "$DATA/uploadstate/$id" ] && fail "the state outlives its upload"
req GET "/v2/state/blobs/$dg"
same_file "$B" "$f"

# 2. A crash: the saved states are dropped, the upload still resumes and
# finishes with the right digest.
req POST /v2/state/blobs/uploads/
loc=$(upload_location)
id=${loc##*/}
req PATCH "$loc" --data-binary "@$TMP/part1" -H 'Content-Range: 0-999999'
expect 202
stop_server
start_server
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=
[ -s "$DATA/uploadstate/$id" ] || fail "state lost before the crash"
start_server
[ -e "$DATA/uploadstate/$id" ] && fail "a state was kept after a crash"
req GET "$loc"
expect 204
expect_hdr Range 0-999999
req PATCH "$loc" --data-binary "@$TMP/rest" -H 'Content-Range: 1000000-2999999'
expect 202
req PUT "$loc?digest=sha256:$(printf '0%.0s' $(seq 64))"
expect 400 DIGEST_INVALID
req POST /v2/state/blobs/uploads/
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$f" -H 'Content-Range: 0-2999999'
expect 202
stop_server
start_server
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=
start_server
req PUT "$loc?digest=$dg"
expect 201
req GET "/v2/state/blobs/$dg"
same_file "$B" "$f"
stop_server

# 3. A sha512 finish reads the whole upload: on a work thread, so a
# GET /v2/ asked meanwhile on the one event-loop thread is answered first.
start_server --threads 1
head -c $((256 << 20)) /dev/zero >"$TMP/big"
dg512=sha512:$(sha512sum "$TMP/big" | cut -d' ' -f1)
req POST /v2/state/blobs/uploads/
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/big" \
	-H 'Content-Type: application/octet-stream'
expect 202
python3 - "$PORT" "$loc?digest=$dg512" <<'EOF' || fail "sha512 finish: see above"
import socket, sys, threading, time

port, put = int(sys.argv[1]), sys.argv[2]
order = []

def ask(method, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\n"
              "Content-Length: 0\r\n\r\n".encode())
    got = s.recv(4096)
    s.close()
    order.append((path.split("?")[0], int(got.split()[1])))

t = threading.Thread(target=ask, args=("PUT", put))
t.start()
time.sleep(0.05)
ask("GET", "/v2/")
t.join()
if order[0] != ("/v2/", 200) or order[1][1] != 201:
    sys.exit(f"replies came in this order: {order}")
EOF
req HEAD "/v2/state/blobs/$dg512"
expect 200
stop_server
