# proxy_lib.sh: sourced (after lib.sh) by tests/integration/t_proxy*.sh.
#
# The upstream of the pull-through tests is Debian's docker-registry (CNCF
# distribution) on 127.0.0.1, open or behind htpasswd basic auth (and TLS),
# with its data and log under $TMP; its log tells how many requests reached
# it.  Images come from tests/data/images/mklayout.sh.
#
#   up_start [DIR] [--htpasswd FILE] [--tls CERT KEY]
#                          starts it; sets UP_PID, UP_PORT, UP (host:port),
#                          UP_URL; DIR (default $TMP/up) keeps data and log
#   up_stop                SIGTERM and wait
#   up_count REGEX         requests in the log whose "METHOD /v2/..." line
#                          matches REGEX (extended), e.g. 'GET /v2/a/blobs/'
#   up_bytes REGEX         body bytes the upstream sent for those requests
#   up_push LAYOUT:TAG NAME:REF [skopeo flags]
#                          copies an image (or index, with --all) there
#   wait_cached NAME TAG   waits until the store has NAME:TAG (a pulled
#                          image is stored once its blobs are)
#   free_port              prints a port nothing listens on
#   px_bg PID              a helper process, ended when the test exits
#   oci_multi LAYOUT DIGEST/ARCH...
#                          an index of those manifests (linux/ARCH) in
#                          LAYOUT, tagged multi; prints "digest size"
#   ctd_start              a containerd of the test's own ($CTD), for CTR
#   hosts_toml DIR NAME SERVER MIRROR
#                          containerd's DIR/NAME/hosts.toml: pulls of NAME
#                          go to MIRROR (a URL) first, then to SERVER
#   umount_under DIR       undoes mounts below DIR, deepest first
#   SK                     skopeo with a permissive policy, no registries.conf

PX_DATA=$ROOT/tests/data
. "$PX_DATA/images/mklayout.sh"

need docker-registry skopeo python3

printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
UP_PID=
UP_DIR=
UP_SCHEME=http

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

up_cleanup() {
	if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
		kill -TERM "$UP_PID" 2>/dev/null || true
		wait "$UP_PID" 2>/dev/null || true
	fi
	UP_PID=
}

up_start() {
	local dir=$TMP/up htpasswd= cert= key= i code

	if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
		dir=$1
		shift
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		--htpasswd) htpasswd=$2; shift 2 ;;
		--tls) cert=$2; key=$3; shift 3 ;;
		*) fail "up_start: unknown $1" ;;
		esac
	done
	UP_DIR=$dir
	UP_PORT=$(free_port)
	UP=127.0.0.1:$UP_PORT
	UP_SCHEME=http
	mkdir -p "$dir/data"
	{
		echo "version: 0.1"
		echo "log:"
		echo "  level: info"
		echo "storage:"
		echo "  filesystem:"
		echo "    rootdirectory: \"$dir/data\""
		echo "  delete:"
		echo "    enabled: true"
		echo "http:"
		echo "  addr: \"$UP\""
		if [ -n "$cert" ]; then
			echo "  tls:"
			echo "    certificate: \"$cert\""
			echo "    key: \"$key\""
			UP_SCHEME=https
		fi
		if [ -n "$htpasswd" ]; then
			echo "auth:"
			echo "  htpasswd:"
			echo "    realm: upstream"
			echo "    path: \"$htpasswd\""
		fi
	} >"$dir/config.yml"
	# It reads REGISTRY_* variables as configuration: skopeo's is not.
	env -u REGISTRY_AUTH_FILE docker-registry serve "$dir/config.yml" \
		>>"$dir/log" 2>&1 &
	UP_PID=$!
	UP_URL=$UP_SCHEME://$UP
	for i in $(seq 1 100); do
		code=$(curl -sk -o /dev/null -w '%{http_code}' "$UP_URL/v2/") || true
		case $code in 200 | 401) return 0 ;; esac
		kill -0 "$UP_PID" 2>/dev/null ||
			fail "docker-registry exited: $(head -n 5 "$dir/log")"
		sleep 0.05
	done
	fail "docker-registry did not start: $(tail -n 3 "$dir/log")"
}

up_stop() {
	[ -n "$UP_PID" ] || return 0
	kill -TERM "$UP_PID"
	wait "$UP_PID" 2>/dev/null || true
	UP_PID=
}

up_count() {
	grep -cE "\"$1" "$UP_DIR/log" || true
}

up_bytes() {
	grep -E "\"$1[^\"]* HTTP/[0-9.]+\" [0-9]+ [0-9]+ " "$UP_DIR/log" |
		awk '{ for (i = 1; i < NF; i++) if ($i ~ /^HTTP\//) { n += $(i + 2); break } }
		END { print n + 0 }'
}

wait_cached() {
	local i

	for i in $(seq 1 200); do
		curl -s "$URL/v2/$1/tags/list" | jq -e --arg t "$2" \
			'.tags | index($t)' >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "$1:$2 was not cached"
}

up_push() {
	local src=$1 dst=$2

	shift 2
	"${SK[@]}" copy -q --dest-tls-verify=false "$@" "oci:$src" \
		"docker://$UP/$dst" >"$TMP/skopeo.log" 2>&1 ||
		fail "push $src to the upstream: $(tail -n 3 "$TMP/skopeo.log")"
}

# px_bg PID: a helper process of the test, ended at exit.
PX_PIDS=
px_bg() {
	PX_PIDS="$PX_PIDS $1"
}

# The upstream and helpers go first, then lib.sh's cleanup (with the exit
# status).
px_exit() {
	local rc=$? pid

	set +e # (exit "$rc") below must not end this function
	up_cleanup
	for pid in $PX_PIDS; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	(exit "$rc")
	lib_cleanup
}
trap px_exit EXIT

oci_multi() {
	local l=$1 m dg arch ms='[]' idx isz

	shift
	for m in "$@"; do
		dg=${m%/*}
		arch=${m##*/}
		ms=$(jq -c --arg d "$dg" --arg a "$arch" \
			--argjson s "$(stat -c %s "$l/blobs/sha256/${dg#sha256:}")" \
			'. + [{mediaType: "application/vnd.oci.image.manifest.v1+json",
			digest: $d, size: $s, platform: {architecture: $a, os: "linux"}}]' \
			<<<"$ms")
	done
	jq -cn --argjson ms "$ms" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.index.v1+json", manifests: $ms}' \
		>"$TMP/multi.json"
	read -r idx isz < <(oci_blob "$l" "$TMP/multi.json")
	jq --arg d "$idx" --argjson s "$isz" '.manifests += [{
		mediaType: "application/vnd.oci.image.index.v1+json", digest: $d,
		size: $s, annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
		"$l/index.json" >"$l/index.tmp"
	mv "$l/index.tmp" "$l/index.json"
	echo "$idx $isz"
}

# containerd: private root, state and socket; no CRI.
CTD=$TMP/ctd
CTR=(ctr -a "$CTD/c.sock")
ctd_start() {
	command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 ||
		return 1
	mkdir -p "$CTD/root" "$CTD/state"
	cat >"$CTD/config.toml" <<-EOF
		version = 2
		root = "$CTD/root"
		state = "$CTD/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$CTD/c.sock"
	EOF
	containerd --config "$CTD/config.toml" >"$CTD/log" 2>&1 &
	px_bg $!
	for _ in $(seq 1 100); do
		"${CTR[@]}" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

hosts_toml() {
	mkdir -p "$1/$2"
	cat >"$1/$2/hosts.toml" <<-EOF
		server = "$3"
		[host."$4"]
		  capabilities = ["pull", "resolve"]
	EOF
}

# dockerd and podman's overlay driver bind-mount their roots onto
# themselves: this lets the scratch directory go.
umount_under() {
	awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" || true; done
}
