#!/bin/bash
# Blob GETs with several ranges (206 multipart/byteranges, RFC 9110 §14.6),
# over plain HTTP and TLS, uploads with ?digest-algorithm= (end-4c), and
# the log lines of a 404 and of a TLS handshake on the plain port.
. "$(dirname "$0")/lib.sh"
need python3

f=$TMP/blob
head -c 1000000 /dev/urandom >"$f"
dg=$(sha256 "$f")

# check_parts SPEC...: the last reply is a 206 multipart/byteranges whose
# parts are, in order, the given "first-last" slices of $f.
check_parts() {
	python3 - "$H" "$B" "$f" "$@" <<'EOF' || fail "multipart body: see above"
import re, sys
hdrs, body, blob = open(sys.argv[1], 'rb').read().decode(), \
    open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read()
want = [tuple(map(int, s.split('-'))) for s in sys.argv[4:]]
m = re.search(r'(?im)^content-type: multipart/byteranges; boundary=(\S+)\r$',
              hdrs)
if not m:
    sys.exit('no multipart/byteranges Content-Type')
clen = re.search(r'(?im)^content-length: (\d+)\r$', hdrs)
if not clen or int(clen.group(1)) != len(body):
    sys.exit('Content-Length does not match the body')
delim = b'--' + m.group(1).encode()
if not body.endswith(b'\r\n' + delim + b'--\r\n'):
    sys.exit('no closing delimiter')
parts = body[:-len(delim) - 6].split(b'\r\n' + delim + b'\r\n')
if parts[0].startswith(delim + b'\r\n'):
    parts[0] = parts[0][len(delim) + 2:]
else:
    sys.exit('body does not start with the delimiter')
if len(parts) != len(want):
    sys.exit('%d parts, want %d' % (len(parts), len(want)))
for p, (a, b) in zip(parts, want):
    head, data = p.split(b'\r\n\r\n', 1)
    cr = 'Content-Range: bytes %d-%d/%d' % (a, b, len(blob))
    if cr.encode() not in head.split(b'\r\n'):
        sys.exit('part head %r lacks %r' % (head, cr))
    if data != blob[a:b + 1]:
        sys.exit('part %d-%d: wrong bytes' % (a, b))
EOF
}

ranges_checks() {
	local curl_args=("$@") many i

	# Several disjoint ranges: answered as asked, in the client's order.
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=0-9, 500000-500099,999990-'
	expect 206
	check_parts 0-9 500000-500099 999990-999999
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=900000-900009,-5,100-199'
	expect 206
	check_parts 900000-900009 999995-999999 100-199
	# HEAD: the headers of the GET, no body.
	req HEAD "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=0-9,20-29'
	[ "$STATUS" = 206 ] || fail "HEAD with ranges: $STATUS"
	# Overlapping ranges are merged (sorted): never more than the blob.
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=100-199,0-149,5000-5009,0-0'
	expect 206
	check_parts 0-199 5000-5009
	# Overlaps that merge into one range: a plain single-range 206.
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=0-99,50-149'
	expect 206
	expect_hdr Content-Range "bytes 0-149/1000000"
	cmp -s "$B" <(head -c 150 "$f") || fail "merged range bytes differ"
	# Unsatisfiable ones are left out; if all are, 416.
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=2000000-,10-19,30-39'
	expect 206
	check_parts 10-19 30-39
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=2000000-,3000000-3000001'
	expect 416 RANGE_INVALID
	expect_hdr Content-Range "bytes */1000000"
	# 100 ranges are served; 101 get the whole blob (200).
	many=0-0
	for i in $(seq 1 99); do many="$many,$((i * 10))-$((i * 10))"; done
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H "Range: bytes=$many"
	expect 206
	check_parts $(echo "$many" | sed 's/\([0-9]*\)-\([0-9]*\)/\1-\2/g;
		s/,/ /g')
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H "Range: bytes=$many,5000-5000"
	expect 200
	same_file "$B" "$f"
	# Garbage in one range: the header is ignored.
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=0-9,x-y'
	expect 200
	same_file "$B" "$f"
	# A single range behaves as before.
	req GET "/v2/lib/r/blobs/$dg" "${curl_args[@]}" \
		-H 'Range: bytes=10-19'
	expect 206
	expect_hdr Content-Range "bytes 10-19/1000000"
}

start_server
req POST "/v2/lib/r/blobs/uploads/?digest=$dg" --data-binary "@$f" \
	-H 'Content-Type: application/octet-stream'
expect 201
ranges_checks

# ?digest-algorithm=: sha512 and sha256 are taken, anything else is 400
# before a byte is sent.  The session keeps it in its Location, so it
# holds across PATCH, status and PUT, and across a restart.
dg512=sha512:$(sha512sum "$f" | cut -d' ' -f1)
# curl_loc METHOD [curl args]: a request to $loc (a path with a query).
curl_loc() {
	local m=$1

	shift
	STATUS=$(curl -sS -o "$B" -D "$H" -w '%{http_code}' -X "$m" "$@" \
		"$URL$loc") || STATUS=000
}
req POST "/v2/lib/r512/blobs/uploads/?digest-algorithm=sha512"
expect 202
loc=$(upload_location)
case $loc in *'?digest-algorithm=sha512') ;;
*) fail "Location '$loc' does not keep the algorithm" ;; esac
curl_loc PATCH --data-binary "@$f" -H 'Content-Type: application/octet-stream'
expect 202
loc=$(upload_location)
case $loc in *'?digest-algorithm=sha512') ;; *) fail "PATCH Location '$loc'" ;; esac
stop_server
start_server
curl_loc GET
expect 204
expect_hdr Range 0-999999
loc=$(upload_location)
case $loc in *'?digest-algorithm=sha512') ;; *) fail "GET Location '$loc'" ;; esac
# A sha256 digest for a sha512 session: 400, the session stays.
loc0=$loc
loc="$loc0&digest=$dg"
curl_loc PUT
expect 400 DIGEST_INVALID
loc="$loc0&digest=$dg512"
curl_loc PUT
expect 201
expect_hdr Docker-Content-Digest "$dg512"
req GET "/v2/lib/r512/blobs/$dg512"
expect 200
same_file "$B" "$f"
# Without the parameter a session closes with either algorithm.
req POST "/v2/lib/r512b/blobs/uploads/"
expect 202
loc=$(upload_location)
case $loc in *'?'*) fail "plain session Location '$loc'" ;; esac
loc="$loc?digest=$dg512"
curl_loc PUT --data-binary "@$f" -H 'Content-Type: application/octet-stream'
expect 201
req POST "/v2/lib/r512/blobs/uploads/?digest-algorithm=sha256"
expect 202
for a in md5 SHA512 blake3 ''; do
	req POST "/v2/lib/r512/blobs/uploads/?digest-algorithm=$a"
	expect 400 DIGEST_INVALID
done
# A monolithic POST whose digest is not of the algorithm it names.
req POST "/v2/lib/r512/blobs/uploads/?digest-algorithm=sha512&digest=$dg" \
	--data-binary "@$f" -H 'Content-Type: application/octet-stream'
expect 400 DIGEST_INVALID
req POST "/v2/lib/r512/blobs/uploads/?digest-algorithm=sha512&digest=$dg512" \
	--data-binary "@$f" -H 'Content-Type: application/octet-stream'
expect 201

# A 404 is one access line that says why.
bad=sha256:$(printf 'a%.0s' $(seq 1 64))
req GET "/v2/lib/r/blobs/$bad"
expect 404 BLOB_UNKNOWN
sleep 0.2
[ "$(grep -c "blobs/$bad" "$TMP/server.log")" = 1 ] ||
	fail "404 logged $(grep -c "blobs/$bad" "$TMP/server.log") times"
grep -q "GET /v2/lib/r/blobs/$bad 404 .* BLOB_UNKNOWN: " "$TMP/server.log" ||
	fail "the 404 line lacks its reason: $(grep "$bad" "$TMP/server.log")"

# A TLS client on the plain port: named once, answered in plain HTTP.
if command -v openssl >/dev/null; then
	openssl s_client -connect "$REG" </dev/null >"$TMP/sc.out" 2>&1 || true
	sleep 0.2
	n=$(grep -c "TLS handshake on a plain-HTTP listener from 127.0.0.1" \
		"$TMP/server.log" || true)
	[ "$n" = 1 ] || fail "TLS handshake logged $n times"
	! grep -q ' - - 400 ' "$TMP/server.log" ||
		fail "an anonymous 400 line: $(grep ' - - 400 ' "$TMP/server.log")"
	# The client sees an HTTP reply where a handshake should be.
	grep -q 'wrong version number\|record layer failure\|packet length too long' \
		"$TMP/sc.out" || fail "s_client: $(tail -n 3 "$TMP/sc.out")"
	# The port still serves HTTP.
	req GET /v2/
	expect 200
fi
stop_server

# TLS cannot sendfile: the parts are read in pieces.
if command -v openssl >/dev/null; then
	tls_cert
	start_server --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
	URL=https://$REG
	ranges_checks --cacert "$TMP/cert.pem"
	stop_server
fi
echo "PASS: $T"
