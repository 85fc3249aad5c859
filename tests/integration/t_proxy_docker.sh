#!/bin/bash
# The docker CLI through the pull-through cache: a Docker engine of the
# test's own (vfs storage, no networking, private roots) with
# --registry-mirror pointing at customs --mirror, pulling names the
# upstream (Debian's docker-registry) has: an image, then a two-platform
# index.  Skipped, saying why, when dockerd cannot start here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need tar gzip
command -v dockerd >/dev/null 2>&1 ||
	skip "dockerd is not installed (Debian package docker.io)"
cli=$(dirname "$(command -v dockerd)")/../bin/docker
[ -x "$cli" ] || cli=$(command -v docker) || skip "no docker CLI"

L=$TMP/layout
mkdir -p "$TMP/a/etc" "$TMP/b/etc"
echo a >"$TMP/a/etc/hostname"
echo b >"$TMP/b/etc/hostname"
ma=$(oci_image "$L" a "$TMP/a")
mb=$(oci_image "$L" b "$TMP/b")
read -r idx isz < <(oci_multi "$L" "$ma/amd64" "$mb/arm64")

up_start
up_push "$L:a" library/small:v1
up_push "$L:multi" library/multi:v1 --all
start_server --mirror "$UP_URL"

d=$TMP/docker
mkdir -p "$d/root" "$d/exec" "$d/config"
export DOCKER_HOST=unix://$d/docker.sock DOCKER_CONFIG=$d/config
stop_engine() {
	local pid

	if pid=$(cat "$d/engine.pid" 2>/dev/null) && kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	umount_under "$d"
}
px_docker_exit() {
	local rc=$?

	set +e
	stop_engine
	(exit "$rc")
	px_exit
}
trap px_docker_exit EXIT

dockerd --iptables=false --ip6tables=false --bridge=none \
	--storage-driver=vfs --data-root "$d/root" --exec-root "$d/exec" \
	--pidfile "$d/dockerd.pid" -H "$DOCKER_HOST" \
	--registry-mirror "$URL" >"$d/dockerd.log" 2>&1 &
echo $! >"$d/engine.pid"
for _ in $(seq 1 150); do
	"$cli" version >/dev/null 2>&1 && break
	kill -0 "$(cat "$d/engine.pid")" 2>/dev/null ||
		skip "dockerd could not start here: $(tail -n 1 "$d/dockerd.log")"
	sleep 0.2
done
"$cli" version >/dev/null 2>&1 ||
	skip "dockerd did not answer: $(tail -n 1 "$d/dockerd.log")"
layers_ok docker "$cli" || exit 77

# expect_id REF CONFIG: the engine's image ID is the config digest.
expect_id() {
	local got

	got=$("$cli" image inspect --format '{{.Id}}' "$1")
	[ "$got" = "$2" ] || fail "$1: image ID $got, want $2"
}

# Names the engine resolves against docker.io, so through the mirror.
"$cli" pull -q small:v1 >"$TMP/pull.log" 2>&1 ||
	fail "docker pull small:v1: $(tail -n 3 "$TMP/pull.log")"
expect_id small:v1 "$(jq -r .config.digest "$L/blobs/sha256/${ma#sha256:}")"
"$cli" pull -q --platform linux/arm64 multi:v1 >"$TMP/pull.log" 2>&1 ||
	fail "docker pull multi:v1: $(tail -n 3 "$TMP/pull.log")"
expect_id multi:v1 "$(jq -r .config.digest "$L/blobs/sha256/${mb#sha256:}")"
grep -q "GET /v2/library/small/manifests/" "$TMP/server.log" ||
	fail "the engine did not pull through the mirror"
# Again, after forgetting it: from the cache, nothing upstream.
"$cli" rmi -f small:v1 >/dev/null
n=$(up_count '(GET|HEAD) /v2/')
"$cli" pull -q small:v1 >"$TMP/pull.log" 2>&1 ||
	fail "docker pull small:v1 again: $(tail -n 3 "$TMP/pull.log")"
[ "$(up_count '(GET|HEAD) /v2/')" = "$n" ] ||
	fail "the second docker pull reached the upstream"

# The upstream goes down; a tag never cached, pulled from customs by name:
# a 404 MANIFEST_UNKNOWN whose message the engine passes on (a 5xx it
# reports as its status line alone).  With each docker CLI there is (the
# engine's own and a newer one on PATH).
up_stop
clis=$cli
other=$(command -v docker) && [ "$other" != "$cli" ] && clis="$clis $other"
for c in $clis; do
	"$c" pull "$REG/library/never:v1" >"$TMP/pull.log" 2>&1 &&
		fail "$c pull of a tag never cached worked"
	grep -q "not found: manifest unknown: v1 is not cached, and upstream $UP" \
		"$TMP/pull.log" || fail "$c: $(tail -n 2 "$TMP/pull.log")"
	echo "docker $("$c" version --format '{{.Client.Version}}' 2>/dev/null) prints: $(tail -n 1 "$TMP/pull.log")"
done
