#!/bin/bash
# S3 over https with a CA bundle (--s3-ca): a TLS relay of the test's own
# (python3's ssl, a throwaway certificate for 127.0.0.1) stands in front of
# the RADOS Gateway.  With the certificate's CA a blob goes in (as a
# multipart upload) and comes back; with the system's CAs only, the
# server does not trust the endpoint and does not start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ceph.sh"
need python3 openssl
ceph_start
tls_cert

cat >"$TMP/tls_relay.py" <<'PY'
import contextlib, socket, ssl, sys, threading
portfile, target, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
open(portfile, "w").write(str(srv.getsockname()[1]))
def pipe(a, b):
    with contextlib.suppress(OSError):
        for d in iter(lambda: a.recv(65536), b""):
            b.sendall(d)
    for s in (a, b):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except OSError:
        c.close()
        return
    u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(t, u), daemon=True).start()
    pipe(u, t)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$TMP/tls_relay.py" "$TMP/relay.port" "${S3_ENDPOINT##*:}" \
	"$TMP/cert.pem" "$TMP/key.pem" &
relay=$!
next_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap 'rc=$?; set +e; kill "$relay" 2>/dev/null; (exit $rc); eval "$next_trap"' EXIT
for _ in $(seq 1 100); do [ -s "$TMP/relay.port" ] && break; sleep 0.05; done
[ -s "$TMP/relay.port" ] || fail "the TLS relay did not start"
S3_TLS=(--storage s3 --s3-endpoint "https://127.0.0.1:$(cat "$TMP/relay.port")"
	--s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX"
	--s3-part-size 5MiB)

head -c $((7 << 20)) /dev/urandom >"$TMP/blob"
start_server "${S3_TLS[@]}" --s3-ca "$TMP/cert.pem"
dg=$(push_blob tls "$TMP/blob")
curl -sf -o "$TMP/blob.back" "$URL/v2/tls/blobs/$dg" || fail "GET over TLS"
same_file "$TMP/blob" "$TMP/blob.back"
s3_keys "$S3_PREFIX/blobs/" | grep -qx "$S3_PREFIX/blobs/sha256/${dg#sha256:}" ||
	fail "not in the bucket"
stop_server

# An endpoint whose certificate no trusted CA signed: the server says so
# and does not start.
"$CUSTOMS" serve --listen 127.0.0.1:0 --data "$DATA" "${S3_TLS[@]}" \
	>"$TMP/untrusted.log" 2>&1 && fail "served with an untrusted S3 endpoint"
grep -qi "certificate" "$TMP/untrusted.log" || fail "$(cat "$TMP/untrusted.log")"
kill "$relay" 2>/dev/null || true
wait "$relay" 2>/dev/null || true
echo ok
