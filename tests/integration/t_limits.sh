#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# Limits: the request rate per client (429 TOOMANYREQUESTS, Retry-After),
# a per-repository storage quota (507 DENIED with a message), the size of
# a blob (413), the number
# of connections (503), the size of a request's headers (431), slow
# headers (cut off), and one server per data directory.
. "$(dirname "$0")/lib.sh"
need python3

# 1. Rate: a burst of 5, then 2 a second.  The 12 quick requests go on
# one connection from one curl, so a loaded machine cannot space them out.
start_server --rate-limit 2 --rate-burst 5
args=()
for i in $(seq 1 12); do args+=(-o /dev/null "$URL/v2/"); done
command curl -s -w '%{http_code} %header{retry-after}\n' "${args[@]}" \
	>"$TMP/burst"
n429=$(grep -c '^429 ' "$TMP/burst" || true)
[ "$n429" -ge 5 ] || fail "only $n429 of 12 quick requests were limited"
wait_s=$(awk '$1 == 429 { print $2; exit }' "$TMP/burst")
[ "$wait_s" -ge 1 ] 2>/dev/null || fail "Retry-After '$wait_s'"
req GET /v2/
[ "$STATUS" = 200 ] || expect 429 TOOMANYREQUESTS
sleep "$wait_s"
req GET /v2/
expect 200
# A second server on the same data directory is refused.
backend_flags "$DATA"
timeout 10 "$CUSTOMS" serve --listen 127.0.0.1:0 --data "$DATA" \
	${BFLAGS[@]+"${BFLAGS[@]}"} >"$TMP/second.log" 2>&1 &&
	fail "a second server started on the same data"
grep -q "in use by another customs process" "$TMP/second.log" ||
	fail "second server: $(cat "$TMP/second.log")"
stop_server

# 2. Quota: 64 KiB per repository; blobs of at most 48 KiB.
start_server --quota 64KiB --max-blob 48KiB
head -c 50000 /dev/urandom >"$TMP/huge"
req POST "/v2/quota/blobs/uploads/?digest=$(sha256 "$TMP/huge")" \
	--data-binary "@$TMP/huge" -H 'Content-Type: application/octet-stream'
expect 413 SIZE_INVALID
head -c 40000 /dev/urandom >"$TMP/a"
head -c 40000 /dev/urandom >"$TMP/b"
push_blob quota "$TMP/a" >/dev/null
req POST "/v2/quota/blobs/uploads/?digest=$(sha256 "$TMP/b")" \
	--data-binary "@$TMP/b" -H 'Content-Type: application/octet-stream'
expect 507 DENIED
jq -e '.errors[0].message | test("quota")' "$B" >/dev/null ||
	fail "the 507 does not say why: $(cat "$B")"
! has_blob "$(sha256 "$TMP/b")" || fail "the refused blob was stored"
# Another repository has its own quota.
push_blob other "$TMP/b" >/dev/null
stop_server

# 3. Connections, header size, slow headers.
start_server --max-conns 20 --max-header-bytes 8KiB --header-timeout 2
python3 - "$PORT" <<'PY' || fail "connection limits"
import socket, sys, time

port = int(sys.argv[1])

def get(extra=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    data = s.recv(65536)
    s.close()
    return int(data.split()[1])

# Idle connections up to the limit; one more is turned away with 503.
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
time.sleep(0.3)
st = get()
assert st == 503, f"past --max-conns: {st}"
for s in held:
    s.close()
time.sleep(0.3)
assert get() == 200
# Headers over the cap: 431.
st = get(b"X-Big: " + b"a" * 9000 + b"\r\n")
assert st == 431, f"big headers: {st}"
# A client trickling its headers is cut off after --header-timeout.
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /v2/ HTTP/1.1\r\n")
t0 = time.monotonic()
cut = False
while time.monotonic() - t0 < 8:
    try:
        s.sendall(b"X")
    except OSError:
        cut = True
        break
    s.settimeout(0.5)
    try:
        got = s.recv(4096)
        cut = True
        break
    except socket.timeout:
        pass
assert cut and time.monotonic() - t0 < 6, "slow headers not cut off"
print("limits ok")
PY
stop_server
exit 0
