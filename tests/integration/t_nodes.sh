#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# Three customs nodes on one Ceph RGW (--storage s3) and one PostgreSQL
# (--meta) behind haproxy (round-robin, no stickiness, loopback only; its
# config is written here):
# - skopeo, podman and docker (where the test's own dockerd can run) push
#   through the balancer; one upload's requests (POST, PATCHes, PUT) land
#   on two nodes or more (the nodes' access lines tell);
# - pulls from every node are byte-identical to what was pushed;
# - a scan job is finished by a node other than the one that took the
#   manifest PUT (the nodes' logs tell);
# - a node SIGKILLed during pushes and scans: the clients retry and
#   succeed, no acknowledged push is lost, every scan report appears;
# - gc on one node while the others take pushes loses nothing;
# - fsck is clean.
# About 2-3 minutes on 2 cores, most of it the clients and the scans.
. "$(dirname "$0")/lib.sh"
need_backend fs "the test starts its own RGW-and-PostgreSQL nodes"
. "$(dirname "$0")/lib_ceph.sh"
. "$(dirname "$0")/scanpush_lib.sh"
. "$(dirname "$0")/clients_lib.sh"
need psql pg_dump pg_restore haproxy skopeo python3
ceph_start
pg_db
CI=$PG_CI
declare -A NPID NPORT
HAPID=
nodes_cleanup() {
	local n

	dkd_stop
	[ -z "$HAPID" ] || { kill -TERM "$HAPID" 2>/dev/null; wait "$HAPID" 2>/dev/null; }
	for n in "${!NPID[@]}"; do
		kill -TERM "${NPID[$n]}" 2>/dev/null || true
		wait "${NPID[$n]}" 2>/dev/null || true
	done
}
next_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\\1/")
trap 'rc=$?; set +e; [ $rc = 0 ] || [ $rc = 77 ] || for n in a b c; do echo "--- node $n:" >&2; tail -n 8 "$TMP/$n/server.log" >&2; done; nodes_cleanup; (exit $rc); eval "$next_trap"' EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sp_db "$TMP/vulndb.db"
# node NAME: starts it on its fixed port (haproxy knows it), its scratch
# in $TMP/NAME; a restart appends to the same log.
node() {
	local n=$1

	mkdir -p "$TMP/$n"
	[ -n "${NPORT[$n]:-}" ] || NPORT[$n]=$(free_port)
	"$CUSTOMS" serve --listen "127.0.0.1:${NPORT[$n]}" \
		--data "$TMP/$n/data" --threads 2 --meta "$CI" \
		--vuln-db "$TMP/vulndb.db" --scan-workers 1 --scan-layers=false \
		--log-format json --db-update-interval 0 \
		--gc-interval 0 "${S3_FLAGS[@]}" --s3-part-size 5MiB \
		>>"$TMP/$n/server.log" 2>&1 &
	NPID[$n]=$!
	for _ in $(seq 1 200); do
		curl -s -o /dev/null "http://127.0.0.1:${NPORT[$n]}/v2/" && return 0
		kill -0 "${NPID[$n]}" 2>/dev/null ||
			fail "node $n exited: $(tail -n 5 "$TMP/$n/server.log")"
		sleep 0.05
	done
	fail "node $n does not answer"
}
node a
node b
node c

LBPORT=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
	maxconn 256
defaults
	mode http
	timeout connect 2s
	timeout client 120s
	timeout server 120s
	retries 3
	option redispatch
	retry-on conn-failure empty-response response-timeout
frontend registry
	bind 127.0.0.1:$LBPORT
	default_backend nodes
backend nodes
	balance roundrobin
	option httpchk GET /v2/
	server a 127.0.0.1:${NPORT[a]} check inter 300ms fall 1 rise 2
	server b 127.0.0.1:${NPORT[b]} check inter 300ms fall 1 rise 2
	server c 127.0.0.1:${NPORT[c]} check inter 300ms fall 1 rise 2
EOF
haproxy -c -q -f "$TMP/haproxy.cfg" || fail "haproxy rejects its config"
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HAPID=$!
REG=127.0.0.1:$LBPORT
URL=http://$REG
for _ in $(seq 1 100); do
	curl -sf -o /dev/null "$URL/v2/" && break
	sleep 0.1
done
curl -sf -o /dev/null "$URL/v2/" || fail "haproxy does not answer: $(cat "$TMP/haproxy.log")"
skopeo_setup

# nodes_of PATTERN: the nodes whose access lines have a path with PATTERN.
nodes_of() {
	local n

	for n in a b c; do
		jq -R -r 'fromjson? | .path // empty' "$TMP/$n/server.log" |
			grep -q -- "$1" && echo "$n"
	done
	return 0
}

# spread REPO: some upload of REPO went to two nodes or more.
spread() {
	local id

	for id in $(cat "$TMP"/[abc]/server.log | jq -R -r 'fromjson? | .path // empty' |
		grep -o "^/v2/$1/blobs/uploads/[^/?]*" | sed 's|.*/||' | grep . | sort -u); do
		[ "$(nodes_of "/uploads/$id" | wc -l)" -ge 2 ] && return 0
	done
	fail "no upload of $1 spread over two nodes"
}

# pull REGISTRY/REPO:TAG LAYOUT: skopeo pulls it into the OCI layout
# LAYOUT (tag x).
pull() {
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$1" "oci:$2:x" ||
		fail "pull $1"
}

# same_blobs PULLED LAYOUT: every blob of PULLED is LAYOUT's, byte for byte.
same_blobs() {
	local f

	for f in "$1"/blobs/sha256/*; do
		same_file "$f" "$2/blobs/sha256/${f##*/}"
	done
}

# pull_all REPO:TAG LAYOUT: pulls it from every node, byte for byte equal
# to the blobs of LAYOUT.
pull_all() {
	local n

	for n in a b c; do
		rm -rf "$TMP/pull-$n"
		pull "127.0.0.1:${NPORT[$n]}/$1" "$TMP/pull-$n"
		same_blobs "$TMP/pull-$n" "$2"
	done
}

# --- skopeo: a chunked upload by hand (two PATCHes), then images.
head -c $((12 << 20)) /dev/urandom >"$TMP/blob"
head -c $((6 << 20)) "$TMP/blob" >"$TMP/p1"
tail -c +$(((6 << 20) + 1)) "$TMP/blob" >"$TMP/p2"
req POST /v2/chunk/blobs/uploads/
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/p1" -H 'Content-Type: application/octet-stream' \
	-H "Content-Range: 0-$(((6 << 20) - 1))"
expect 202
loc=$(upload_location)
req PATCH "$loc" --data-binary "@$TMP/p2" -H 'Content-Type: application/octet-stream' \
	-H "Content-Range: $((6 << 20))-$(((12 << 20) - 1))"
expect 202
loc=$(upload_location)
dg=$(sha256 "$TMP/blob")
case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
req PUT "$loc${sep}digest=$dg"
expect 201
id=${loc##*/}
id=${id%%\?*}
[ "$(nodes_of "/uploads/$id" | wc -l)" -ge 2 ] ||
	fail "the upload's PATCHes hit $(nodes_of "/uploads/$id")"
for n in a b c; do
	curl -sf -o "$TMP/back" "http://127.0.0.1:${NPORT[$n]}/v2/chunk/blobs/$dg" ||
		fail "GET the blob from $n"
	same_file "$TMP/blob" "$TMP/back"
done

sp_layout
s=$TMP/stage
mkdir -p "$s/big"
head -c $((11 << 20)) /dev/urandom >"$s/big/random.bin"
oci_image "$L" big "$s/debian" "$s/big" >/dev/null
for t in debian alpine310 npm big; do
	"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:$t" \
		"docker://$REG/sk/$t:v1" || fail "skopeo push $t"
done
for t in debian alpine310 npm big; do spread "sk/$t"; done
pull_all sk/big:v1 "$L"
pull_all sk/alpine310:v1 "$L"

# --- podman, docker: where they can run here.
PM=(podman --root "$TMP/pm/root" --runroot "$TMP/pm/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
why=$(pm_why "${PM[@]}")
if [ -z "$why" ]; then
	(cd "$L/.." && "${PM[@]}" pull -q "oci:${L##*/}:alpine310") >"$TMP/pm.id" ||
		fail "podman pull oci:"
	"${PM[@]}" push -q --tls-verify=false "$(tail -n 1 "$TMP/pm.id")" \
		"docker://$REG/pm/alpine:v1" || fail "podman push"
	spread pm/alpine
	"${PM[@]}" rmi -af >/dev/null 2>&1 || true
	for n in a b c; do
		"${PM[@]}" pull -q --tls-verify=false "127.0.0.1:${NPORT[$n]}/pm/alpine:v1" \
			>/dev/null || fail "podman pull from $n"
	done
else
	echo "SKIP podman: $why"
fi
if dkd_start "$TMP/dkd" >"$TMP/dk.why" 2>&1 &&
	layers_ok docker docker >"$TMP/dk.why"; then
	dkd_image "$REG/dk/img:v1" || fail "docker load"
	docker push -q "$REG/dk/img:v1" >/dev/null || fail "docker push"
	spread dk/img
	for n in a b c; do
		docker pull -q "127.0.0.1:${NPORT[$n]}/dk/img:v1" >/dev/null ||
			fail "docker pull from $n"
	done
else
	echo "SKIP docker: $(cat "$TMP/dk.why")"
fi
dkd_stop

# --- Scans: every report; one finished by a node that did not take the PUT.
for t in debian alpine310 npm big; do
	req GET /v2/sk/$t/manifests/v1 -H "Accept: $OCI_MANIFEST"
	expect 200
	echo "$t $(hdr Docker-Content-Digest)" >>"$TMP/digests"
done
# scan_node REPO DIGEST: the node that logged the scan's end.
scan_node() {
	grep -l "scan $2 ($1): .* in [0-9]* ms" "$TMP"/[abc]/server.log |
		sed 's|.*/\([abc]\)/server.log|\1|' || true
}
while read -r t mdg; do
	sp_report "sk/$t" "$mdg" 120
	[ -n "$(scan_node "sk/$t" "$mdg")" ] || fail "no node logged the scan of sk/$t"
done <"$TMP/digests"
# Node a (one scan worker) takes a slow scan's PUT, then another's: the
# second is claimed by b or c (woken by the database's NOTIFY).
mkdir -p "$s/nx"
head -c 4096 /dev/urandom >"$s/nx/f.bin"
oci_image "$L" nx "$s/alpine310" "$s/nx" >/dev/null
URL=http://127.0.0.1:${NPORT[a]}
slow=$(sp_slow nodes/slow v1 100)
next=$(sp_push nx nodes/next v1)
URL=http://$REG
sp_report nodes/next "$next" 120
n=$(scan_node nodes/next "$next")
[ -n "$n" ] && [ "$n" != a ] || fail "the scan of nodes/next ran on '$n', not on b or c"
sp_report nodes/slow "$slow" 120

# --- SIGKILL one node during pushes and scans.
for i in 1 2 3 4 5 6; do
	mkdir -p "$s/k$i"
	head -c $((12 << 20)) /dev/urandom >"$s/k$i/f.bin"
	oci_image "$L" "k$i" "$s/alpine310" "$s/k$i" >/dev/null
done
for i in 1 2 3 4 5 6; do
	# A client whose request the dead node held gets a 502 (a PATCH's
	# body is not kept to be sent again): it pushes again, as CI does.
	(for _ in 1 2 3; do
		"${SK[@]}" copy -q --retry-times 3 --dest-tls-verify=false "oci:$L:k$i" \
			"docker://$REG/kill/k$i:v1" >>"$TMP/kill-$i.log" 2>&1 &&
			touch "$TMP/kill-$i.ok" && break
	done) &
	echo $! >>"$TMP/kill.pids"
done
# Killed once c has served some of these pushes, while the rest go on.
for _ in $(seq 1 300); do
	jq -R -r 'fromjson? | .path // empty' "$TMP/c/server.log" | grep -q '^/v2/kill/' && break
	sleep 0.05
done
[ "$(ls "$TMP"/kill-*.ok 2>/dev/null | wc -l)" -lt 6 ] ||
	fail "the pushes ended before the kill: nothing was cut"
kill -KILL "${NPID[c]}"
wait "${NPID[c]}" 2>/dev/null || true
unset 'NPID[c]'
for p in $(cat "$TMP/kill.pids"); do wait "$p" || true; done
for i in 1 2 3 4 5 6; do
	[ -e "$TMP/kill-$i.ok" ] || fail "push k$i failed: $(tail -n 3 "$TMP/kill-$i.log")"
	m=$(sp_manifest_file "k$i")
	req GET "/v2/kill/k$i/manifests/v1" -H "Accept: $OCI_MANIFEST"
	expect 200
	cmp -s "$B" "$m" || fail "manifest k$i differs"
	sp_report "kill/k$i" "$(sha256 "$m")" 120
	pull "$REG/kill/k$i:v1" "$TMP/kill-back"
done
same_blobs "$TMP/kill-back" "$L"
# The pushes before the kill are all there, with their reports.
while read -r t mdg; do
	sp_report "sk/$t" "$mdg" 5
done <"$TMP/digests"
node c

# --- gc on node a while b and c take pushes: nothing pushed is lost.
for i in 1 2 3; do
	("${SK[@]}" copy -q --retry-times 3 --dest-tls-verify=false "oci:$L:k$i" \
		"docker://127.0.0.1:${NPORT[b]}/gc/b$i:v1" >"$TMP/gcb-$i.log" 2>&1 &&
		"${SK[@]}" copy -q --retry-times 3 --dest-tls-verify=false "oci:$L:big" \
			"docker://127.0.0.1:${NPORT[c]}/gc/c$i:v1" >"$TMP/gcc-$i.log" 2>&1 &&
		touch "$TMP/gc-$i.ok") &
	echo $! >>"$TMP/gc.pids"
done
for _ in 1 2 3; do
	"$CUSTOMS" gc --data "$TMP/a/data" --meta "$CI" "${S3_FLAGS[@]}" \
		--gc-grace 0 --upload-ttl 1h --quiet >>"$TMP/gc.out" 2>&1 ||
		fail "gc: $(tail -n 3 "$TMP/gc.out")"
done
for p in $(cat "$TMP/gc.pids"); do wait "$p" || true; done
for i in 1 2 3; do
	[ -e "$TMP/gc-$i.ok" ] || fail "push during gc failed: $(tail -n 3 "$TMP"/gc[bc]-$i.log)"
done
"$CUSTOMS" gc --data "$TMP/a/data" --meta "$CI" "${S3_FLAGS[@]}" \
	--gc-grace 0 --quiet >>"$TMP/gc.out" 2>&1 || fail "gc: $(tail -n 3 "$TMP/gc.out")"
for i in 1 2 3; do
	pull "$REG/gc/b$i:v1" "$TMP/gc-back"
	pull "$REG/gc/c$i:v1" "$TMP/gc-back"
done
same_blobs "$TMP/gc-back" "$L"
pull_all sk/big:v1 "$L"

# --- fsck: clean, every object re-hashed; the README's commands (its
# variables: a node's values), verbatim, from a scratch directory.
"$CUSTOMS" fsck --data "$TMP/a/data" --meta "$CI" "${S3_FLAGS[@]}" \
	>"$TMP/fsck.out" 2>&1 || fail "fsck: $(tail -n 5 "$TMP/fsck.out")"
customs() { "$CUSTOMS" "$@"; }
META=$CI
mkdir -p "$TMP/readme"
cd "$TMP/readme"
mkdir -p ./scratch
customs gc --meta "$META" --storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX" --data ./scratch >gc.out 2>&1 ||
	fail "the README's gc: $(tail -n 3 gc.out)"
customs fsck --meta "$META" --storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX" --data ./scratch >fsck.out 2>&1 ||
	fail "the README's fsck: $(tail -n 3 fsck.out)"
pg_dump --format custom --file customs-meta.dump "$META" ||
	fail "the README's pg_dump"
pg_restore --list customs-meta.dump | grep -q "TABLE DATA public manifests" ||
	fail "the dump lacks the manifests"
cd "$ROOT"
pull_all sk/big:v1 "$L"
echo ok
