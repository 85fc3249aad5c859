#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# A 1 GiB blob pushed in one PATCH and pulled back: the server streams it,
# so its peak RSS (VmHWM) stays under 64 MiB.  Prints the throughput.
# BIG_BLOB_MIB=512 changes the size (the default is 1024).
. "$(dirname "$0")/lib.sh"
# Under ASan freed memory sits in a quarantine (256 MiB by default) and
# counts as resident; keep it small so the cap measures our buffers.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
start_server

mib=${BIG_BLOB_MIB:-1024}
f=$TMP/big
truncate -s "${mib}M" "$f" # sparse: the source costs no disk
# Some non-zero bytes at both ends and in the middle.
head -c 65536 /dev/urandom | dd of="$f" conv=notrunc status=none
head -c 65536 /dev/urandom | dd of="$f" bs=1M seek=$((mib / 2)) conv=notrunc status=none
dg=$(sha256 "$f")
bytes=$(stat -c %s "$f")

now() { date +%s.%N; }
mbps() { echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / 1048576 / ($3 - $2) }'; }

req POST /v2/big/blobs/uploads/
expect 202
loc=$(upload_location)
t0=$(now)
req PATCH "$loc" -T "$f" -H 'Content-Type: application/octet-stream'
t1=$(now)
expect 202
expect_hdr Range "0-$((bytes - 1))"
req PUT "$loc?digest=$dg"
t2=$(now)
expect 201

t3=$(now)
got=$(curl -sS "$URL/v2/big/blobs/$dg" | sha256sum | cut -d' ' -f1)
t4=$(now)
[ "sha256:$got" = "$dg" ] || fail "pulled blob hashes to $got"
# Resume a pull from the middle (Range).
off=$((bytes - 1000000))
req GET "/v2/big/blobs/$dg" -H "Range: bytes=$off-"
expect 206
cmp -s "$B" <(tail -c 1000000 "$f") || fail "ranged pull differs"

rss=$(rss_peak_kib)
echo "push ${mib} MiB: $(mbps "$bytes" "$t0" "$t1") MiB/s (PATCH)," \
	"$(mbps "$bytes" "$t0" "$t2") MiB/s with the closing PUT;" \
	"pull: $(mbps "$bytes" "$t3" "$t4") MiB/s (with sha256sum);" \
	"server peak RSS $((rss / 1024)) MiB"
[ "$rss" -lt 65536 ] || fail "server peak RSS ${rss} KiB >= 64 MiB"
stop_server
