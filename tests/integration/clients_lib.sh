# clients_lib.sh: clients' daemons and stores of the test's own, sourced
# after lib.sh.
#
#   pm_why PODMAN...      prints why the podman command (with the test's
#                         --root, --runroot, vfs) cannot push and pull here,
#                         or nothing when it can
#   dkd_start DIR [ETC]   starts dockerd with its root, exec root and socket
#                         under DIR (no iptables, no bridge, vfs); with ETC,
#                         in a mount namespace of its own where ETC is
#                         bind-mounted over /etc/docker, so that it reads
#                         ETC/certs.d and the machine's /etc/docker is left
#                         alone.  Sets DOCKER_HOST and DOCKER_CONFIG for the
#                         CLI ($DKD_CLI, default docker).  Prints why and
#                         returns 1 when it cannot run.
#   dkd_stop              SIGTERM, then SIGKILL after 10 s; unmounts what
#                         dockerd left mounted under DIR
#   dkd_image NAME        loads a tiny image (make_image's) tagged NAME

DKD_PID=
DKD_DIR=

dkd_start() {
	local dir=$1 etc=${2:-} run=() cli=${DKD_CLI:-docker}

	command -v dockerd >/dev/null 2>&1 && command -v "$cli" >/dev/null 2>&1 ||
		{ echo "dockerd is not installed (Debian package docker.io)"; return 1; }
	DKD_DIR=$dir
	mkdir -p "$dir/root" "$dir/exec" "$dir/config"
	if [ -n "$etc" ]; then
		command -v unshare >/dev/null 2>&1 ||
			{ echo "unshare is not installed"; return 1; }
		run=(unshare -m --propagation private sh -c
			'mount --bind "$0" /etc/docker && exec "$@"' "$etc")
	fi
	export DOCKER_HOST=unix://$dir/docker.sock DOCKER_CONFIG=$dir/config
	"${run[@]}" dockerd --iptables=false --ip6tables=false --bridge=none \
		--storage-driver=vfs --data-root "$dir/root" --exec-root "$dir/exec" \
		--pidfile "$dir/dockerd.pid" -H "$DOCKER_HOST" >"$dir/dockerd.log" 2>&1 &
	DKD_PID=$!
	for _ in $(seq 1 150); do
		"$cli" version >/dev/null 2>&1 && return 0
		kill -0 "$DKD_PID" 2>/dev/null ||
			{ echo "dockerd could not start here: $(tail -n 1 "$dir/dockerd.log")"; return 1; }
		sleep 0.2
	done
	echo "dockerd did not answer: $(tail -n 1 "$dir/dockerd.log")"
	return 1
}

dkd_stop() {
	if [ -n "$DKD_PID" ] && kill "$DKD_PID" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$DKD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$DKD_PID" 2>/dev/null || true
		wait "$DKD_PID" 2>/dev/null || true
	fi
	DKD_PID=
	[ -z "$DKD_DIR" ] ||
		awk -v d="$DKD_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" || true; done
}

# A `docker save` archive of make_image's blobs.
dkd_image() {
	local d=$TMP/dkd-image ref=$1

	[[ $ref == *:* ]] || ref=$ref:latest
	make_image "$d" dkd >/dev/null || return 1
	printf '[{"Config":"config-dkd.json","RepoTags":["%s"],"Layers":["layer-dkd.tar.gz"]}]' \
		"$ref" >"$d/manifest.json"
	tar -C "$d" -cf "$d.tar" manifest.json config-dkd.json layer-dkd.tar.gz &&
		docker load -q -i "$d.tar" >/dev/null
}

pm_why() {
	if ! command -v podman >/dev/null 2>&1; then
		echo "not installed"
	elif ! "$@" images >/dev/null 2>"$TMP/pm.err"; then
		echo "cannot run here: $(tail -n 1 "$TMP/pm.err")"
	elif ! layers_ok podman "$@" >"$TMP/pm.err"; then
		sed 's/^SKIP podman: //' "$TMP/pm.err"
	fi
}
