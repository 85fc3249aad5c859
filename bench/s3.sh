#!/usr/bin/env bash
# bench/s3.sh [--reps N] [--mib M]: push and pull throughput of one node
# with its blobs on S3 (a Ceph RADOS Gateway on loopback, memstore OSD) as
# a ratio to the same node on local disk.
#
# One blob of M MiB (default 128, random) is pushed (a monolithic POST:
# one streamed request, a multipart upload on S3) and pulled N times
# (default 5) into each store; the table gives the median MB/s of each and
# the ratio s3/fs.  "pull" on S3 is a first read (fetched from S3 into the
# node-local cache), "pull again" a read the cache serves.  The RGW is
# started under a temporary directory and stopped at the end, unless
# CUSTOMS_S3_ENV names the env file of a running one (ceph_rgw start).
# Everything stays on 127.0.0.1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
customs=${CUSTOMS:-$root/${BUILD:-build}/customs}
reps=5 mib=128
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2 && shift 2 ;;
	--mib) mib=$2 && shift 2 ;;
	*) echo "usage: bench/s3.sh [--reps N] [--mib M]" >&2 && exit 2 ;;
	esac
done
[ -x "$customs" ] || { echo "bench/s3.sh: build $customs first" >&2; exit 1; }

. "$here/lib_rgw.sh"
w=$(mktemp -d "${TMPDIR:-/tmp}/customs-bench-s3.XXXXXX")
pid=
cleanup() {
	set +e
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rgw_stop
	rm -rf "$w"
}
trap cleanup EXIT

rgw_start "$w"


head -c $((mib << 20)) /dev/urandom >"$w/blob"
dg=sha256:$(sha256sum "$w/blob" | cut -d' ' -f1)

# sample OP CURL-ARGS...: "OP seconds", or the bench stops.
sample() {
	local op=$1 t

	shift
	t=$(curl -sf -o /dev/null -w '%{time_total}' "$@") ||
		{ echo "bench/s3.sh: $op failed" >&2; exit 1; }
	echo "$op $t"
}

# run NAME FLAGS...: N pushes (each to a new repository) and reads; one
# "op seconds" line per sample into $w/NAME.
run() {
	local name=$1 url i

	shift
	rm -rf "$w/data" "$w/port"
	"$customs" serve --listen 127.0.0.1:0 --port-file "$w/port" \
		--data "$w/data" --gc-interval 0 --scrub-interval 0 \
		--db-update-interval 0 "$@" >"$w/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -s "$w/port" ] && break; sleep 0.05; done
	url=http://127.0.0.1:$(cat "$w/port")
	for i in $(seq "$reps"); do
		# Every push sends all its parts, the object being there or not.
		sample push -X POST -H 'Content-Type: application/octet-stream' \
			--data-binary "@$w/blob" "$url/v2/b$i/blobs/uploads/?digest=$dg"
		rm -f "$w"/data/s3/cache/*
		sample pull "$url/v2/b$i/blobs/$dg"
		sample pull-again "$url/v2/b$i/blobs/$dg"
	done >"$w/$name"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

# median_mbs NAME OP: the median MB/s of OP's samples.
median_mbs() {
	awk -v op="$2" -v mb=$((mib << 20)) '$1 == op { print mb / $2 / 1e6 }' \
		"$w/$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

run fs
run s3 --storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-region "$S3_REGION" \
	--s3-bucket "$S3_BUCKET" --s3-prefix "bench-$$"
printf '%-11s %10s %10s %8s   (%d MiB blob, median of %d, %d cores)\n' \
	op "fs MB/s" "s3 MB/s" s3/fs "$mib" "$reps" "$(nproc)"
for op in push pull pull-again; do
	f=$(median_mbs fs "$op")
	s=$(median_mbs s3 "$op")
	printf '%-11s %10.1f %10.1f %8.2f\n' "$op" "$f" "$s" \
		"$(awk -v a="$s" -v b="$f" 'BEGIN { print a / b }')"
done
