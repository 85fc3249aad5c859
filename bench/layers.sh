#!/usr/bin/env bash
# bench/layers.sh [--mib N] [--images N] [--reps N]: per-layer indexes
# against whole-image scans (serve --scan-layers=false), on fresh servers
# on 127.0.0.1.  Two figures:
#
#   report after PUT  an image of N MiB (default 1024: a Debian minbase
#                     layer, then gzip layers of random filler) whose
#                     blobs were all pushed first: time from the manifest
#                     PUT's response to its report (GET ?wait), median of
#                     --reps images (each a new config on the same
#                     layers); with indexes the PUT only merges
#   shared base       --images images (default 100) on one base (the
#                     minbase plus 64 MiB of gzip filler), each with a
#                     small layer of its own, pushed one after another:
#                     layers read (customs_scan_layers_total) and the
#                     time until every report is there
#
# Prints a markdown table; --log FILE keeps the servers' log.
# Environment: BUILD, CUSTOMS, TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CUSTOMS=${CUSTOMS:-$root/$BUILD/customs}
MIB=1024 IMAGES=100 REPS=5 KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	--mib) MIB=$2; shift ;;
	--images) IMAGES=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--log) KEEP=$2; shift ;;
	*) echo "bench/layers.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/customs-layers.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -z "$KEEP" ] || cp "$tmp/log" "$KEEP"; rm -rf "$tmp"' EXIT
MT=application/vnd.oci.image.manifest.v1+json
LGZ=application/vnd.oci.image.layer.v1.tar+gzip
. "$root/tests/data/images/mklayout.sh"

say() { printf '%s layers: %s\n' "$(date +%T)" "$*" >&2; }

start() {
	rm -rf "$tmp/data" "$tmp/port"
	"$CUSTOMS" serve --data "$tmp/data" --listen 127.0.0.1:0 \
		--port-file "$tmp/port" --scan-workers 2 --db-update-interval 0 \
		"$@" >>"$tmp/log" 2>&1 &
	pid=$!
	until [ -s "$tmp/port" ]; do
		kill -0 "$pid" 2>/dev/null ||
			{ say "customs exited: $(tail -n 3 "$tmp/log")"; exit 1; }
		sleep 0.05
	done
	url=http://127.0.0.1:$(cat "$tmp/port")
}

stop() {
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# blob FILE: moves FILE into the layout $tmp; prints "digest size".
blob() {
	oci_blob "$tmp" "$1"
}

# layer DIR: a gzip layer of DIR; prints "digest size diff_id".
layer() {
	local diff

	tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@0 -cf "$tmp/l.tar" .
	diff=sha256:$(sha256sum <"$tmp/l.tar" | cut -d' ' -f1)
	gzip -1 -n -c "$tmp/l.tar" >"$tmp/l.gz"
	rm -f "$tmp/l.tar"
	echo "$(blob "$tmp/l.gz") $diff"
}

# filler DIR MIB: MIB of random bytes in 64 MiB files.
filler() {
	local left=$2 i=0 n

	mkdir -p "$1"
	while [ "$left" -gt 0 ]; do
		n=$((left < 64 ? left : 64))
		head -c "$((n << 20))" /dev/urandom >"$1/f$i"
		left=$((left - n)) i=$((i + 1))
	done
}

# manifest NAME LAYERS: LAYERS has "digest size diff_id" lines; writes
# the config (labelled NAME) and the manifest, prints the manifest's file.
manifest() {
	local cfg l

	l=$(awk -v mt="$LGZ" '{ printf "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%s}", (NR > 1 ? "," : ""), mt, $1, $2 }' <<<"$2")
	printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"bench":"%s"}},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$1" "$(awk '{ printf "%s\"%s\"", (NR > 1 ? "," : ""), $3 }' <<<"$2")" >"$tmp/cfg"
	read -r cfg _ < <(blob "$tmp/cfg")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$MT" "$cfg" "$(stat -c %s "$tmp/blobs/sha256/${cfg#sha256:}")" "$l" >"$tmp/$1.json"
	echo "$tmp/$1.json"
}

push_blobs() {
	local dg

	for dg in $(jq -r '.config.digest, .layers[].digest' "$1"); do
		curl -sf -o /dev/null -X POST -H 'Content-Type: application/octet-stream' \
			--data-binary "@$tmp/blobs/sha256/${dg#sha256:}" \
			"$url/v2/$2/blobs/uploads/?digest=$dg"
	done
}

put_manifest() {
	curl -sf -o /dev/null -X PUT -H "Content-Type: $MT" \
		--data-binary "@$1" "$url/v2/$2/manifests/latest"
}

report() {
	curl -sf -o /dev/null "$url/v2/$1/_customs/scan/sha256:$(sha256sum <"$2" | cut -d' ' -f1)?wait=600"
}

metric() {
	curl -sf "$url/metrics" | sed -n "s/^customs_scan_layers_total{how=\"$1\"} //p"
}

wait_indexed() {
	while [ "$(metric indexed)" -lt "$1" ]; do sleep 0.05; done
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- the images --------------------------------------------------------------
say "building a ${MIB} MiB image and a base for $IMAGES images"
mkdir -p "$tmp/minbase"
cp -a "$root/tests/data/images/debian-bookworm-minbase/." "$tmp/minbase/"
big=$(layer "$tmp/minbase")
left=$((MIB - 1)) i=0
while [ "$left" -gt 0 ]; do
	n=$((left < 256 ? left : 256))
	rm -rf "$tmp/fill"
	filler "$tmp/fill/big$i" "$n"
	big+=$'\n'$(layer "$tmp/fill")
	left=$((left - n)) i=$((i + 1))
done
rm -rf "$tmp/fill"
filler "$tmp/basefill/opt/base" 64
cp -a "$tmp/minbase/." "$tmp/basefill/"
base=$(layer "$tmp/basefill")
rm -rf "$tmp/basefill"
for i in $(seq 1 "$IMAGES"); do
	rm -rf "$tmp/own"
	mkdir -p "$tmp/own/usr/lib/python3/dist-packages/app$i-1.0.dist-info"
	printf 'Metadata-Version: 2.1\nName: app%s\nVersion: 1.0\n' "$i" \
		>"$tmp/own/usr/lib/python3/dist-packages/app$i-1.0.dist-info/METADATA"
	head -c 65536 /dev/urandom >"$tmp/own/usr/lib/python3/r"
	manifest "img$i" "$base"$'\n'"$(layer "$tmp/own")" >/dev/null
done
rm -rf "$tmp/own"
nbig=$(wc -l <<<"$big")

# --- report after PUT --------------------------------------------------------
put_figure() { # MODE ARGS...: prints the median ms
	local mode=$1 r m t0 t1

	shift
	start "$@"
	manifest "big0" "$big" >/dev/null
	push_blobs "$tmp/big0.json" bench/big
	[ "$mode" = on ] && wait_indexed "$nbig"
	for r in $(seq 1 "$REPS"); do
		m=$(manifest "big$r" "$big")
		push_blobs "$m" bench/big
		t0=$(ms)
		put_manifest "$m" bench/big
		t0=$(ms)
		report bench/big "$m"
		t1=$(ms)
		echo $((t1 - t0))
	done | median
	stop
}
say "report after PUT, per-layer indexes"
put_on=$(put_figure on)
say "report after PUT, whole-image scans"
put_off=$(put_figure off --scan-layers=false)

# --- shared base -------------------------------------------------------------
shared_figure() { # ARGS...: prints "layers-read seconds"
	local i t0 read

	start "$@"
	t0=$(ms)
	for i in $(seq 1 "$IMAGES"); do
		push_blobs "$tmp/img$i.json" "bench/img$i"
		put_manifest "$tmp/img$i.json" "bench/img$i"
	done
	for i in $(seq 1 "$IMAGES"); do
		report "bench/img$i" "$tmp/img$i.json"
	done
	read=$(($(metric indexed) + $(metric image)))
	echo "$read $(awk -v a="$t0" -v b="$(ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
	stop
}
say "$IMAGES images on one base, per-layer indexes"
read -r sh_on_read sh_on_s < <(shared_figure)
say "$IMAGES images on one base, whole-image scans"
read -r sh_off_read sh_off_s < <(shared_figure --scan-layers=false)

echo "| per-layer indexes ($(nproc) cores) | --scan-layers=true | --scan-layers=false |"
echo "|---|---|---|"
echo "| manifest PUT response to report, ${MIB} MiB image, layers pushed first (median of $REPS, ms) | $put_on | $put_off |"
echo "| $IMAGES images on one base: layers read | $sh_on_read | $sh_off_read |"
echo "| $IMAGES images on one base: pushes to all reports (s) | $sh_on_s | $sh_off_s |"
