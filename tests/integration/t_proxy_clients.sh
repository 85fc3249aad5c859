#!/bin/bash
# Clients of the pull-through cache as they are configured in practice:
# containerd's ctr with a hosts.toml mirror of a registry with a port (it
# sends ?ns=HOST:PORT; customs has --upstream HOST:PORT/=URL), then the
# upstream goes down and each client pulls a tag never cached: customs
# answers 404 MANIFEST_UNKNOWN saying why, and this checks what skopeo,
# podman and ctr print of it (docker: t_proxy_docker.sh).  A client that
# cannot run here is skipped, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need tar gzip

L=$TMP/layout
mkdir -p "$TMP/a/etc"
echo a >"$TMP/a/etc/hostname"
ma=$(oci_image "$L" a "$TMP/a")
up_start
up_push "$L:a" library/small:v1
start_server --upstream "$UP/=$UP_URL"
LOCAL=127.0.0.1_$UP_PORT
skipped=


if ctd_start; then
	# hosts.toml: pulls of $UP go to customs first, then to $UP itself.
	hosts_toml "$TMP/hosts" "$UP" "$UP_URL" "$URL"
	"${CTR[@]}" content fetch --hosts-dir "$TMP/hosts" "$UP/library/small:v1" \
		>"$TMP/ctr.log" 2>&1 || fail "ctr fetch: $(tail -n 3 "$TMP/ctr.log")"
	# It came through customs (under the port prefix), not around it.
	wait_cached "$LOCAL/library/small" v1
	grep -qE "(HEAD|GET) /v2/library/small/manifests/v1 " "$TMP/server.log" ||
		fail "ctr did not pull through the mirror"
	req GET "/v2/$LOCAL/library/small/manifests/v1"
	expect 200
	[ "$(hdr Docker-Content-Digest)" = "$ma" ] || fail "cached digest"
else
	echo "SKIP ctr: containerd cannot start here: $(tail -n 1 "$CTD/log" 2>/dev/null)"
	skipped="$skipped ctr"
	CTR=
fi

# The upstream goes away; a tag never cached.
up_stop
never=$LOCAL/library/small:never
req GET "/v2/$LOCAL/library/small/manifests/never"
expect 404 MANIFEST_UNKNOWN
why="never is not cached, and upstream $UP"
jq -r '.errors[0].message' "$B" | grep -q "$why" ||
	fail "the error does not say why: $(cat "$B")"

# check_said CLIENT FILE: the client printed the code and the cause.
check_said() {
	grep -q "manifest unknown: $why" "$2" ||
		fail "$1 does not show the cause: $(tail -n 2 "$2")"
	echo "$1 prints: $(grep -m 1 "manifest unknown" "$2")"
}

"${SK[@]}" inspect --tls-verify=false "docker://$REG/$never" \
	>"$TMP/sk.log" 2>&1 && fail "skopeo inspect of a tag never cached worked"
check_said skopeo "$TMP/sk.log"

if command -v podman >/dev/null 2>&1; then
	PM=(podman --root "$TMP/pm" --runroot "$TMP/pmrun" --storage-driver vfs
		--cgroup-manager cgroupfs --events-backend none)
	if "${PM[@]}" images >/dev/null 2>"$TMP/pm.err"; then
		"${PM[@]}" pull --tls-verify=false "$REG/$never" >"$TMP/pm.log" 2>&1 &&
			fail "podman pull of a tag never cached worked"
		check_said podman "$TMP/pm.log"
	else
		echo "SKIP podman: cannot run here: $(tail -n 1 "$TMP/pm.err")"
		skipped="$skipped podman"
	fi
else
	echo "SKIP podman: not installed"
	skipped="$skipped podman"
fi

if [ -n "$CTR" ]; then
	# Through the mirror, a 404 makes containerd try the upstream itself:
	# it prints that one's error, the cause.
	"${CTR[@]}" content fetch --hosts-dir "$TMP/hosts" "$UP/library/small:never" \
		>"$TMP/ctr.log" 2>&1 && fail "ctr fetch of a tag never cached worked"
	grep -q "$UP.*connection refused" "$TMP/ctr.log" ||
		fail "ctr (mirror): $(tail -n 2 "$TMP/ctr.log")"
	echo "ctr (hosts.toml mirror) prints: $(tail -n 1 "$TMP/ctr.log")"
	# Straight at customs, ctr says only "not found" for any 404 (and the
	# status line alone for any other error: no status does better).
	"${CTR[@]}" content fetch --plain-http "$REG/$never" >"$TMP/ctr.log" 2>&1 &&
		fail "ctr fetch of a tag never cached worked"
	grep -q "not found" "$TMP/ctr.log" || fail "ctr: $(tail -n 2 "$TMP/ctr.log")"
	echo "ctr (direct) prints: $(tail -n 1 "$TMP/ctr.log")"
	# What was cached is still served, the upstream down.
	"${CTR[@]}" content fetch --plain-http "$REG/$LOCAL/library/small:v1" \
		>"$TMP/ctr.log" 2>&1 || fail "ctr fetch from the cache: $(tail -n 3 "$TMP/ctr.log")"
fi

stop_server
[ -z "$skipped" ] || echo "skipped:$skipped"
