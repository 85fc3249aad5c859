#!/bin/bash
# The docker CLI, unchanged, against --auth token and --auth basic: a wrong
# password refused by `docker login`, then login, pull, tag, push, logout
# (and nothing without it).  In token mode the engine keeps the refresh
# token our endpoint hands out and pushes with the OAuth2 refresh grant.
# Runs a Docker engine of its own (vfs storage, no iptables, no bridge,
# private roots, a unix socket under the test directory, as the
# conformance suite's docker scenario does); skips when none can start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
need skopeo
command -v dockerd >/dev/null 2>&1 ||
	skip "dockerd is not installed (Debian package docker.io)"
# The CLI that came with this dockerd, else any.
cli=$(dirname "$(command -v dockerd)")/../bin/docker
[ -x "$cli" ] || cli=$(command -v docker) || skip "no docker CLI"

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
	rm -f "$d/engine.pid"
	# The engine bind-mounts its data root onto itself: undo it, deepest
	# first, or the test directory cannot be removed.
	awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r mnt; do umount -l "$mnt" || true; done
}
# lib.sh's clean-up reads the exit status: keep it across stop_engine.
trap 'rc=$?; set +e; stop_engine; (exit $rc); lib_cleanup' EXIT

dockerd --iptables=false --ip6tables=false --bridge=none \
	--storage-driver=vfs --data-root "$d/root" --exec-root "$d/exec" \
	--pidfile "$d/dockerd.pid" -H "$DOCKER_HOST" >"$d/dockerd.log" 2>&1 &
echo $! >"$d/engine.pid"
up=
for _ in $(seq 1 150); do
	"$cli" version >/dev/null 2>&1 && { up=1; break; }
	kill -0 "$(cat "$d/engine.pid")" 2>/dev/null || break
	sleep 0.2
done
[ -n "$up" ] || skip "dockerd could not start here: $(tail -n 1 "$d/dockerd.log")"
# Without local layers the engine still logs in and out; no pull or push.
dk_layers=y
layers_ok docker "$cli" || dk_layers=

add_user alice alice-pw
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
m=$(oci_layout "$TMP/layout" dk)
cfg=$(jq -r .config.digest "$m")

image_id() {
	"$cli" image inspect --format '{{.Id}}' "$1"
}

for mode in token basic; do
	start_server --auth "$mode"
	# 127.0.0.0/8 is an insecure registry by default: plain HTTP.
	src=$REG/team/src:$mode dst=$REG/team/dst:$mode
	skopeo --policy "$TMP/policy.json" --registries-conf /dev/null copy -q \
		--preserve-digests --dest-tls-verify=false \
		--dest-creds alice:alice-pw "oci:$TMP/layout:dk" "docker://$src" ||
		fail "$mode: skopeo copy"

	"$cli" pull -q "$src" >/dev/null 2>&1 && fail "$mode: pulled anonymously"
	echo wrong | "$cli" login -u alice --password-stdin "$REG" \
		>/dev/null 2>&1 && fail "$mode: login with a wrong password"
	echo alice-pw | "$cli" login -u alice --password-stdin "$REG" \
		>/dev/null || fail "$mode: docker login"
	if [ "$mode" = token ]; then
		# The engine keeps the refresh token, not the password.
		jq -e --arg r "$REG" '.auths[$r].identitytoken // empty' \
			"$d/config/config.json" >/dev/null ||
			fail "token: no identity token in config.json"
	fi
	if [ -n "$dk_layers" ]; then
		"$cli" pull -q "$src" >/dev/null || fail "$mode: docker pull"
		[ "$(image_id "$src")" = "$cfg" ] ||
			fail "$mode: image id $(image_id "$src")"
		"$cli" tag "$src" "$dst" || fail "$mode: docker tag"
		"$cli" push -q "$dst" >/dev/null || fail "$mode: docker push"
		"$cli" rmi -f "$src" "$dst" >/dev/null || fail "$mode: docker rmi"
		"$cli" pull -q "$dst" >/dev/null ||
			fail "$mode: docker pull of the push"
		[ "$(image_id "$dst")" = "$cfg" ] || fail "$mode: pushed image id"
	fi
	"$cli" logout "$REG" >/dev/null || fail "$mode: docker logout"
	"$cli" rmi -f "$dst" >/dev/null || true
	"$cli" pull -q "$dst" >/dev/null 2>&1 && fail "$mode: pulled after logout"
	stop_server
	! grep -q 'alice-pw\|eyJ' "$TMP/server.log" || fail "a secret in the log"
	echo "$mode: docker login, pull, push ok"
done
