#!/usr/bin/env bash
# bench/nodes.sh [--reps N] [--mib M] [--clients C] [--gets G] [--gets-only]:
# customs on
# S3 (a Ceph RADOS Gateway on loopback, memstore OSD) + PostgreSQL
# (tests/pgtemp), as ratios, in one run:
#   - push and pull throughput of C clients at once (each a blob of M MiB,
#     default 8 clients x 32 MiB, random) through haproxy (round-robin) in
#     front of three nodes, against the same through haproxy in front of
#     one; MB/s is all bytes over the wall time of the round, "pull" a
#     first read (fetched from S3), median of N rounds (default 3);
#   - p99 (and p50) of manifest GETs (G of them, default 2000, on one kept-alive
#     connection; then G over 8 connections at once) of one node with its
#     metadata in PostgreSQL against the same node with sqlite (blobs on
#     local disk for both), after the manifest's scan and a warm-up, the
#     two nodes' rounds alternating, median of N rounds; --gets-only runs
#     this part alone (no RGW).  On a shared host the tail is mostly the
#     run queue (a GET on PostgreSQL wakes one process more); the line
#     under the table gives the load average.
# The RGW is started under a temporary directory and stopped at the end,
# unless CUSTOMS_S3_ENV names the env file of a running one.  Everything
# stays on 127.0.0.1; on a 2-core machine the three nodes, the RGW,
# PostgreSQL and the clients share the same cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
customs=${CUSTOMS:-$root/${BUILD:-build}/customs}
reps=3 mib=32 clients=8 gets=2000 gets_only=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2 && shift 2 ;;
	--mib) mib=$2 && shift 2 ;;
	--clients) clients=$2 && shift 2 ;;
	--gets) gets=$2 && shift 2 ;;
	--gets-only) gets_only=1 && shift ;;
	*) echo "usage: bench/nodes.sh [--reps N] [--mib M] [--clients C] [--gets G] [--gets-only]" >&2 && exit 2 ;;
	esac
done
[ -x "$customs" ] || { echo "bench/nodes.sh: build $customs first" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "bench/nodes.sh: needs haproxy" >&2; exit 1; }

. "$here/lib_rgw.sh"
w=$(mktemp -d "${TMPDIR:-/tmp}/customs-bench-nodes.XXXXXX")
# Nodes and balancers are started inside $(...): their pids go into a
# file, as an array set there would not reach this shell (and they would
# outlive their phase, polling PostgreSQL under the next one's figures).
stop_all() {
	local p

	[ -s "$w/pids" ] || return 0
	for p in $(cat "$w/pids"); do
		kill "$p" 2>/dev/null
	done
	for p in $(cat "$w/pids"); do
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
	done
	: >"$w/pids"
	return 0
}
cleanup() {
	set +e
	stop_all
	"$root/tests/pgtemp" stop "$w"
	rgw_stop
	rm -rf "$w"
}
trap cleanup EXIT

[ -n "$gets_only" ] || rgw_start "$w"
ci=$("$root/tests/pgtemp" start "$w")

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# node NAME FLAGS...: starts a node on a free port; prints the port.
node() {
	local n=$1 port

	shift
	port=$(free_port)
	"$customs" serve --listen "127.0.0.1:$port" --data "$w/data-$n" \
		--gc-interval 0 --scrub-interval 0 --db-update-interval 0 \
		--scan-workers 1 "$@" >>"$w/$n.log" 2>&1 &
	echo $! >>"$w/pids"
	for _ in $(seq 200); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
		sleep 0.05
	done
	echo "$port"
}

# balancer PORT...: haproxy round-robin over the ports; prints its port.
balancer() {
	local lb i=0 p

	lb=$(free_port)
	{
		printf 'defaults\n\tmode http\n\ttimeout connect 2s\n\ttimeout client 300s\n\ttimeout server 300s\n'
		printf 'frontend f\n\tbind 127.0.0.1:%s\n\tdefault_backend b\nbackend b\n\tbalance roundrobin\n' "$lb"
		for p in "$@"; do
			i=$((i + 1))
			printf '\tserver n%d 127.0.0.1:%s\n' "$i" "$p"
		done
	} >"$w/haproxy.cfg"
	haproxy -db -f "$w/haproxy.cfg" >"$w/haproxy.log" 2>&1 &
	echo $! >>"$w/pids"
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$lb/v2/" && break
		sleep 0.05
	done
	echo "$lb"
}

for i in $(seq "$clients"); do
	[ -n "$gets_only" ] && break
	head -c $((mib << 20)) /dev/urandom >"$w/blob$i"
	sha256sum "$w/blob$i" | cut -d' ' -f1 >"$w/dg$i"
done

# round NAME URL REP: all clients push at once, then all pull at once;
# "push SECONDS" and "pull SECONDS" into $w/NAME.
round() {
	local name=$1 url=$2 rep=$3 t0 i p

	t0=$(date +%s.%N)
	p=()
	for i in $(seq "$clients"); do
		curl -sf -o /dev/null -X POST -H 'Content-Type: application/octet-stream' \
			--data-binary "@$w/blob$i" \
			"$url/v2/r$rep-$i/blobs/uploads/?digest=sha256:$(cat "$w/dg$i")" &
		p+=($!)
	done
	for i in "${p[@]}"; do wait "$i" || { echo "bench/nodes.sh: push failed" >&2; exit 1; }; done
	echo "push $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }')" >>"$w/$name"
	t0=$(date +%s.%N)
	p=()
	for i in $(seq "$clients"); do
		curl -sf -o /dev/null "$url/v2/r$rep-$i/blobs/sha256:$(cat "$w/dg$i")" &
		p+=($!)
	done
	for i in "${p[@]}"; do wait "$i" || { echo "bench/nodes.sh: pull failed" >&2; exit 1; }; done
	echo "pull $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }')" >>"$w/$name"
}

# One node, then three, each on a prefix of its own (a fresh store).
throughput() {
	s3=(--storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-region "$S3_REGION"
		--s3-bucket "$S3_BUCKET" --s3-cache 0)
	a=$(node one --meta "$ci" "${s3[@]}" --s3-prefix "bench-nodes-$$-1")
	lb=$(balancer "$a")
	for r in $(seq "$reps"); do round one "http://127.0.0.1:$lb" "$r"; done
	stop_all
	psql "$ci" -Xqc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null 2>&1 ||
		{ "$root/tests/pgtemp" stop "$w"; ci=$("$root/tests/pgtemp" start "$w"); }
	ports=()
	for n in n1 n2 n3; do
		ports+=("$(node "$n" --meta "$ci" "${s3[@]}" --s3-prefix "bench-nodes-$$-3")")
	done
	lb=$(balancer "${ports[@]}")
	for r in $(seq "$reps"); do round three "http://127.0.0.1:$lb" "$r"; done
	stop_all
}
[ -n "$gets_only" ] || throughput

# mf_setup PORT: pushes the manifest m:v1 and waits for its scan to end,
# so that no round overlaps it; then a warm-up (the pool's connections,
# PostgreSQL's plan cache).
mf_setup() {
	local url=http://127.0.0.1:$1 cdg m

	printf '{}' >"$w/cfg.json"
	cdg=sha256:$(sha256sum "$w/cfg.json" | cut -d' ' -f1)
	curl -sf -o /dev/null -X POST --data-binary "@$w/cfg.json" "$url/v2/m/blobs/uploads/?digest=$cdg"
	m='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'$cdg'","size":2},"layers":[]}'
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "$m" "$url/v2/m/manifests/v1"
	curl -sf -o /dev/null "$url/v2/m/_customs/scan/v1?wait=30" || true
	mf_gets "$1" 1 200 >/dev/null
}

# mf_gets PORT CONNS N: N GETs of m:v1 on each of CONNS kept-alive
# connections at once; every GET's seconds, one a line.
mf_gets() {
	local url=http://127.0.0.1:$1 i

	for _ in $(seq "$3"); do
		printf 'url = "%s/v2/m/manifests/v1"\noutput = "/dev/null"\n' "$url"
	done >"$w/gets-$1.cfg"
	for i in $(seq "$2"); do
		curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
			-w '%{time_total}\n' -K "$w/gets-$1.cfg" >"$w/t-$1-$i" &
	done
	wait
	cat "$w"/t-"$1"-*
	rm -f "$w"/t-"$1"-*
}

# pct P: the P-th percentile (ms) of the seconds on stdin.
pct() {
	sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5)
		if (i < 1) i = 1; print v[i] * 1000 }'
}

# median: of the numbers on stdin.
median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Both nodes up at once, their rounds alternating (pg, sqlite, pg, ...)
# so that what else the host runs meanwhile falls on both alike; each
# figure is the median over the rounds of that round's percentile.
psql "$ci" -Xqc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null 2>&1
pgp=$(node pgm --meta "$ci")
sqp=$(node sqlm)
mf_setup "$pgp"
mf_setup "$sqp"
conns=8
for r in $(seq "$reps"); do
	for e in pg sq; do
		[ $e = pg ] && p=$pgp || p=$sqp
		mf_gets "$p" 1 "$gets" >"$w/one-$e"
		echo "$(pct 50 <"$w/one-$e") $(pct 99 <"$w/one-$e")" >>"$w/gets1-$e"
		mf_gets "$p" "$conns" $((gets / conns)) | pct 99 >>"$w/getsn-$e"
	done
done
stop_all
for e in pg sq; do
	read -r "${e}_p50" < <(cut -d' ' -f1 "$w/gets1-$e" | median)
	read -r "${e}_ms" < <(cut -d' ' -f2 "$w/gets1-$e" | median)
	read -r "${e}_nms" < <(median <"$w/getsn-$e")
done

mbs() { # mbs NAME OP: median MB/s over the rounds
	awk -v op="$2" -v mb=$((clients * (mib << 20))) '$1 == op { print mb / $2 / 1e6 }' \
		"$w/$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
printf '%-34s %10s %10s %8s\n' measure "A" "B" "A/B"
for op in push pull; do
	[ -n "$gets_only" ] && break
	o=$(mbs one "$op")
	t=$(mbs three "$op")
	printf '%-34s %10.1f %10.1f %8.2f\n' "$op MB/s: 3 nodes vs 1" "$t" "$o" \
		"$(awk -v a="$t" -v b="$o" 'BEGIN { print a / b }')"
done
row() { # row LABEL A B
	printf '%-34s %10.2f %10.2f %8.2f\n' "$1" "$2" "$3" \
		"$(awk -v a="$2" -v b="$3" 'BEGIN { print a / b }')"
}
row "manifest GET p99 ms: pg vs sqlite" "$pg_ms" "$sq_ms"
row "(the same, p50 ms)" "$pg_p50" "$sq_p50"
row "(p99 ms, $conns connections at once)" "$pg_nms" "$sq_nms"
[ -n "$gets_only" ] || printf '(%s clients x %s MiB on S3) ' "$clients" "$mib"
echo "(median of $reps rounds; $gets GETs a round; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
