#!/usr/bin/env bash
# docker.sh SCENARIO: the docker CLI against the registry, through a Docker
# engine of our own (vfs storage, no iptables, no bridge, private data and
# exec roots, a unix socket in the scratch directory).  Skips, and says why,
# when dockerd is not installed or cannot start here.
. "$(dirname "$0")/lib.sh"
need skopeo
command -v dockerd >/dev/null 2>&1 ||
	skip "dockerd is not installed (Debian package docker.io)"
# The CLI that came with this dockerd, else any.
cli=$(dirname "$(command -v dockerd)")/../bin/docker
[ -x "$cli" ] || cli=$(command -v docker) || skip "no docker CLI"
ensure_images

d=$work/docker
mkdir -p "$d/root" "$d/exec" "$d/config"
sock=$d/docker.sock
export DOCKER_HOST=unix://$sock DOCKER_CONFIG=$d/config

stop_engine() {
	local pid
	if pid=$(cat "$d/engine.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	then
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	# dockerd bind-mounts its data root onto itself (and may leave more):
	# undo it, deepest first, so the scratch directory can be removed.
	awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" || true; done
}
trap stop_engine EXIT

start_engine() {
	echo "+ dockerd (log: $d/dockerd.log)" >&2
	dockerd --iptables=false --ip6tables=false --bridge=none \
		--storage-driver=vfs --data-root "$d/root" \
		--exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
		-H "unix://$sock" --insecure-registry "$CT_REGISTRY" \
		>"$d/dockerd.log" 2>&1 &
	echo $! >"$d/engine.pid"
	for _ in $(seq 1 150); do
		"$cli" version >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$d/engine.pid")" 2>/dev/null || break
		sleep 0.2
	done
	tail -5 "$d/dockerd.log"
	skip "dockerd could not start on this machine: $(tail -1 "$d/dockerd.log")"
}

dk() { run "$cli" "$@"; }
expect_id() { # ref config-digest
	local got
	got=$("$cli" image inspect --format '{{.Id}}' "$1")
	[ "$got" = "$2" ] || fail "$1: image ID $got, want $2"
	echo "ok: $1 has image ID $got"
}

case ${1:?scenario} in
push-pull)
	start_engine
	need_layers docker "$cli"
	if [ -n "${OCI_USERNAME:-}" ]; then
		echo "$OCI_PASSWORD" | dk login -u "$OCI_USERNAME" \
			--password-stdin "$CT_REGISTRY"
	fi
	src=$CT_REGISTRY/$CT_NS/docker-src:$CT_RUN
	dst=$CT_REGISTRY/$CT_NS/docker:$CT_RUN
	push_image docker-src "$CT_RUN"
	dk pull "$src"
	expect_id "$src" "$(fact image.config)"
	dk tag "$src" "$dst"
	dk push "$dst"
	dk rmi "$src" "$dst"
	dk pull "$dst"
	expect_id "$dst" "$(fact image.config)"
	# A two-platform index: the engine picks its own platform.
	to_reg --all "oci:$images/multi:v1" "$(reg "docker-multi:$CT_RUN")"
	dk pull --platform linux/arm64 "$CT_REGISTRY/$CT_NS/docker-multi:$CT_RUN"
	expect_id "$CT_REGISTRY/$CT_NS/docker-multi:$CT_RUN" \
		"$(fact multi.arm64.config)"
	;;
*)
	fail "unknown scenario $1"
	;;
esac
