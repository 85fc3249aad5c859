# lib.sh: sourced by every tests/integration/t_*.sh.
#
# Starts the real build/customs (or $BUILD/customs) on 127.0.0.1 at a port
# the kernel picks, with its data in a fresh temporary directory, and gives
# the tests small curl helpers.  A test exits 0 when it passes, 77 when it
# is skipped (skip "why"), anything else when it fails (fail "why").
#
#   start_server [flags...]   sets PID, PORT, REG (127.0.0.1:PORT), URL
#   stop_server               SIGTERM, and waits for a clean exit
#   req METHOD PATH [curl args...]
#                             sets STATUS; headers in $H, body in $B
#   expect STATUS [ERROR_CODE]
#   expect_hdr NAME VALUE     exact (header names case-insensitive)
#   hdr NAME                  prints a response header's value
#   customs_run CMD [args]    $CUSTOMS CMD, on the test's backend (below)
#   fresh_store               an empty store at $DATA, on either backend
#
# CUSTOMS_TEST_BACKEND picks where every server and gc/fsck of a test
# keeps its store: fs (the default: local disk and sqlite in the data
# directory) or dist (blobs in S3 on the shared RADOS Gateway named by
# CUSTOMS_S3_ENV, metadata in PostgreSQL on the shared server named by
# CUSTOMS_PG; tests/with-dist starts both).  On dist each data directory
# gets a database and a key prefix of its own, dropped when the test
# ends; a test about the local-disk store says so with need_backend.

set -eu

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CUSTOMS=$ROOT/$BUILD/customs
T=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/customs-$T.XXXXXX")
DATA=$TMP/data
H=$TMP/resp.headers
B=$TMP/resp.body
PID=
PORT=
REG=
URL=
BACKEND=${CUSTOMS_TEST_BACKEND:-fs}
declare -A BACKEND_META=() BACKEND_PREFIX=()
BACKEND_PREFIXES=() # every prefix used, for the cleanup

lib_cleanup() {
	local rc=$?

	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	# (not yet defined when the checks below fail)
	! declare -F backend_cleanup >/dev/null || backend_cleanup
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$TMP/server.log" ]; then
		echo "--- last lines of the server log:" >&2
		tail -n 20 "$TMP/server.log" >&2
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap lib_cleanup EXIT

fail() {
	echo "FAIL: $T: $*" >&2
	exit 1
}

skip() {
	echo "$*"
	exit 77
}

need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

# need_backend NAME WHY: skips the test unless it runs on backend NAME.
need_backend() {
	[ "$BACKEND" = "$1" ] || skip "not on the $BACKEND backend: $2"
}

need curl jq sha256sum
[ -x "$CUSTOMS" ] || fail "$CUSTOMS is not built (make BUILD=$BUILD)"
. "$ROOT/tests/integration/lib_pg.sh"
case $BACKEND in
fs) ;;
dist)
	[ -n "${CUSTOMS_S3_ENV:-}" ] && [ -s "$CUSTOMS_S3_ENV" ] &&
		[ -n "${CUSTOMS_PG:-}" ] ||
		fail "the dist backend needs the shared RADOS Gateway and PostgreSQL (run under tests/with-dist)"
	. "$CUSTOMS_S3_ENV"
	. "$ROOT/tests/integration/lib_ceph.sh"
	;;
*) fail "CUSTOMS_TEST_BACKEND: fs or dist, not '$BACKEND'" ;;
esac

# backend_flags DIR [flags]: BFLAGS, the flags that put the store of the
# data directory DIR on the test's backend (none on fs), less those the
# caller's flags already choose (--storage, --meta).
backend_flags() {
	local dir a s3=1 meta=1

	BFLAGS=()
	[ "$BACKEND" = dist ] || return 0
	dir=$(realpath -m "$1")
	shift
	for a in "$@"; do
		case $a in
		--storage | --storage=*) s3= ;;
		--meta | --meta=*) meta= ;;
		esac
	done
	if [ -z "${BACKEND_META[$dir]:-}" ]; then
		pg_db
		BACKEND_META[$dir]=$PG_CI
		BACKEND_PREFIX[$dir]=$T-$$-${#BACKEND_PREFIXES[@]}
		BACKEND_PREFIXES+=("${BACKEND_PREFIX[$dir]}")
	fi
	[ -z "$s3" ] || BFLAGS+=(--storage s3 --s3-endpoint "$S3_ENDPOINT"
		--s3-region "$S3_REGION" --s3-bucket "$S3_BUCKET"
		--s3-prefix "${BACKEND_PREFIX[$dir]}")
	[ -z "$meta" ] || BFLAGS+=(--meta "${BACKEND_META[$dir]}")
}

# fresh_store: an empty store at $DATA (on dist, a new database and
# prefix; the old ones are dropped at the end all the same).
fresh_store() {
	local dir

	rm -rf "$DATA"
	dir=$(realpath -m "$DATA")
	[ -z "${BACKEND_META[$dir]:-}" ] || BACKEND_META[$dir]=
}

# customs_run CMD [args]: serve, gc and fsck get the backend flags of
# their --data DIR.  In a subshell (`customs_run serve ... &`) it execs,
# so that $! is the server's; call backend_flags DIR before, in the
# test's shell, so that the cleanup knows the database and prefix.
customs_run() {
	local cmd=$1 a prev= dir=

	shift
	BFLAGS=()
	case $cmd in
	serve | gc | fsck)
		for a in "$@"; do
			[ "$prev" != --data ] || dir=$a
			case $a in --data=*) dir=${a#--data=} ;; esac
			prev=$a
		done
		[ -z "$dir" ] || backend_flags "$dir" "$@"
		;;
	esac
	[ "$BASHPID" = $$ ] || exec "$CUSTOMS" "$cmd" ${BFLAGS[@]+"${BFLAGS[@]}"} "$@"
	"$CUSTOMS" "$cmd" ${BFLAGS[@]+"${BFLAGS[@]}"} "$@"
}

# What the store of $DATA holds, on either backend (sha256 blobs):
#   store_blobs [MIN_BYTES]
#                   the hex digests of its blobs (of MIN_BYTES or more),
#                   one a line
#   has_blob DIGEST whether it holds the blob
#   store_bytes     the bytes of its blobs and uploads in progress
#   store_uploads   what uploads in progress keep: files under uploads/
#                   on fs; objects and multipart uploads under uploads/ on
#                   dist (and node-local files, none once it is finished)
store_prefix() {
	backend_flags "$DATA"
	echo "${BACKEND_PREFIX[$(realpath -m "$DATA")]}"
}

store_blobs() {
	local min=${1:-0}

	if [ "$BACKEND" = dist ]; then
		s3_objects "$(store_prefix)/blobs/sha256/" |
			awk -v m="$min" '$2 >= m { sub(/.*\//, "", $1); print $1 }'
	else
		find "$DATA/blobs" -type f -size +$((min > 0 ? min - 1 : 0))c \
			-printf '%f\n' 2>/dev/null || true
	fi
}

has_blob() {
	store_blobs | grep -qx "${1#sha256:}"
}

store_bytes() {
	if [ "$BACKEND" = dist ]; then
		s3_bytes "$(store_prefix)/"
	else
		find "$DATA/uploads" "$DATA/blobs" -type f -printf '%s\n' |
			awk '{ s += $1 } END { print s + 0 }'
	fi
}

store_uploads() {
	local p

	if [ "$BACKEND" = dist ]; then
		p=$(store_prefix)
		s3_keys "$p/uploads/"
		s3_uploads "$p/uploads/"
	fi
	find "$DATA/uploads" -type f ! -name 'tmp-*' 2>/dev/null || true
}

# backend_cleanup: the databases and keys of the test (never fails).

backend_cleanup() {
	local p

	if [ "$BACKEND" = dist ]; then
		for p in ${BACKEND_PREFIXES[@]+"${BACKEND_PREFIXES[@]}"}; do
			(s3_purge "$p/") >/dev/null 2>&1 || true
		done
	fi
	pg_release
}

# start_server [extra flags]: the data directory survives restarts.
start_server() {
	local i

	rm -f "$TMP/port"
	backend_flags "$DATA" "$@"
	# No public feeds fetched unless a test asks (traffic stays on
	# loopback); a test's own --db-update-interval comes later and wins.
	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TMP/port" \
		--data "$DATA" --threads 2 --db-update-interval 0 \
		${BFLAGS[@]+"${BFLAGS[@]}"} "$@" \
		>>"$TMP/server.log" 2>&1 &
	PID=$!
	for i in $(seq 1 200); do
		if [ -s "$TMP/port" ]; then
			PORT=$(cat "$TMP/port")
			REG=127.0.0.1:$PORT
			URL=http://$REG
			return 0
		fi
		kill -0 "$PID" 2>/dev/null ||
			fail "server exited at start: $(tail -n 5 "$TMP/server.log")"
		sleep 0.05
	done
	fail "server did not write its port"
}

# stop_server: SIGTERM must end it cleanly (exit 0) within a few seconds.
stop_server() {
	local rc=0 i

	kill -TERM "$PID"
	for i in $(seq 1 200); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$PID" 2>/dev/null && fail "server ignored SIGTERM"
	wait "$PID" || rc=$?
	PID=
	[ "$rc" -eq 0 ] || fail "server exited with $rc after SIGTERM"
}

# req METHOD PATH [curl args]: PATH starts with /v2/.
req() {
	local method=$1 path=$2

	shift 2
	if [ "$method" = HEAD ]; then
		# curl writes the headers as the output of --head.
		: >"$B"
		STATUS=$(curl -sS -o /dev/null -D "$H" -w '%{http_code}' \
			--max-time 120 --head "$@" "$URL$path") || STATUS=000
		return 0
	else
		set -- -X "$method" "$@"
	fi
	STATUS=$(curl -sS -o "$B" -D "$H" -w '%{http_code}' \
		--max-time 120 "$@" "$URL$path") || STATUS=000
}

hdr() {
	# The last header block (after 100 Continue), value without CR.
	awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" '
		/^HTTP\// { delete v }
		{ sub(/\r$/, "") }
		{ i = index($0, ":"); if (i) { k = tolower(substr($0, 1, i - 1));
		  val = substr($0, i + 1); sub(/^[ \t]+/, "", val); v[k] = val } }
		END { if (n in v) print v[n] }' "$H"
}

# expect STATUS [ERROR_CODE]: checks the last reply.
expect() {
	local code

	[ "$STATUS" = "$1" ] ||
		fail "expected $1, got $STATUS: $(head -c 300 "$B" 2>/dev/null)"
	[ "$(hdr Docker-Distribution-API-Version)" = registry/2.0 ] ||
		fail "reply lacks Docker-Distribution-API-Version"
	[ $# -ge 2 ] || return 0
	code=$(jq -r '.errors[0].code' "$B" 2>/dev/null) ||
		fail "error body is not JSON: $(head -c 300 "$B")"
	[ "$code" = "$2" ] || fail "expected error $2, got $code: $(cat "$B")"
	jq -e '.errors[0] | has("message") and has("detail")' "$B" >/dev/null ||
		fail "error body lacks message/detail: $(cat "$B")"
}

expect_hdr() {
	local got

	got=$(hdr "$1")
	[ "$got" = "$2" ] || fail "header $1: expected '$2', got '$got'"
}

# sha256 FILE: prints sha256:<hex>.
sha256() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

# push_blob REPO FILE: monolithic POST; prints the digest.
push_blob() {
	local dg

	dg=$(sha256 "$2")
	req POST "/v2/$1/blobs/uploads/?digest=$dg" --data-binary "@$2" \
		-H 'Content-Type: application/octet-stream'
	[ "$STATUS" = 201 ] || fail "push_blob $1 $2: $STATUS $(cat "$B")"
	echo "$dg"
}

# push_manifest REPO REF FILE MEDIA_TYPE: expects 201.
push_manifest() {
	req PUT "/v2/$1/manifests/$2" --data-binary "@$3" \
		-H "Content-Type: $4"
	[ "$STATUS" = 201 ] || fail "push_manifest $1:$2: $STATUS $(cat "$B")"
}

# skopeo_setup: SK=(skopeo ...) with a policy that accepts anything, no
# registries.conf, and an empty auth file of the test's own.
skopeo_setup() {
	printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
	SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
	export REGISTRY_AUTH_FILE=$TMP/auth.json
	echo '{}' >"$REGISTRY_AUTH_FILE"
}

# upload_location: the path of the Location header (relative or not).
upload_location() {
	hdr Location | sed -E 's|^https?://[^/]+||'
}

# same_file A B: fails unless byte for byte equal.
same_file() {
	cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

# tls_cert: a throwaway self-signed certificate for 127.0.0.1 in
# $TMP/cert.pem, its key in $TMP/key.pem.
tls_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/key.pem" \
		-out "$TMP/cert.pem" 2>/dev/null || fail "openssl req"
}

# rss_peak_kib: the server's peak resident set size.
rss_peak_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status"
}

OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json
OCI_CONFIG=application/vnd.oci.image.config.v1+json
OCI_LAYER=application/vnd.oci.image.layer.v1.tar+gzip

# make_image DIR NAME: writes a config and a layer blob for a tiny image
# (a gzipped tar of a small rootfs) under DIR and prints a manifest JSON
# file path.  The blobs are DIR/<hex>.
make_image() {
	local dir=$1 name=$2 root layer config cdg ldg

	root=$dir/rootfs-$name
	mkdir -p "$root/etc"
	echo "$name" >"$root/etc/hostname"
	head -c 4096 /dev/urandom >"$root/etc/random"
	layer=$dir/layer-$name.tar.gz
	tar -C "$root" -cf - . | gzip -n >"$layer"
	ldg=$(sha256 "$layer")
	config=$dir/config-$name.json
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' \
		"sha256:$(gunzip -c "$layer" | sha256sum | cut -d' ' -f1)" >"$config"
	cdg=$(sha256 "$config")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}' \
		"$OCI_MANIFEST" "$OCI_CONFIG" "$cdg" "$(stat -c %s "$config")" \
		"$OCI_LAYER" "$ldg" "$(stat -c %s "$layer")" >"$dir/manifest-$name.json"
	echo "$dir/manifest-$name.json"
}

# push_image REPO TAG DIR NAME: pushes make_image's blobs and manifest;
# prints the manifest digest.
push_image() {
	local m

	m=$(make_image "$3" "$4")
	push_blob "$1" "$3/config-$4.json" >/dev/null
	push_blob "$1" "$3/layer-$4.tar.gz" >/dev/null
	push_manifest "$1" "$2" "$m" "$OCI_MANIFEST"
	sha256 "$m"
}

# oci_layout DIR NAME: make_image NAME into an OCI image layout at DIR,
# tagged NAME; prints the manifest path.
oci_layout() {
	local dir=$1 name=$2 m f dg

	mkdir -p "$dir/blobs/sha256" "$dir.work"
	m=$(make_image "$dir.work" "$name")
	for f in "$dir.work/config-$name.json" "$dir.work/layer-$name.tar.gz" "$m"; do
		dg=$(sha256 "$f")
		cp "$f" "$dir/blobs/sha256/${dg#sha256:}"
	done
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$OCI_MANIFEST" "$(sha256 "$m")" "$(stat -c %s "$m")" "$name" \
		>"$dir/index.json"
	echo "$m"
}

# layers_ok podman PODMAN-COMMAND... | layers_ok docker DOCKER-CLI
#	Whether the client's own local storage can apply an image layer
#	here: podman (the test's command, with its private --root, --runroot
#	and vfs) pulls a tiny OCI layout made here, the docker CLI loads a
#	tiny image tar into the test's engine; no registry is involved, and
#	the image is removed again.  Some places cannot (in a chroot whose /
#	is not a mount point, "remount /, flags: 0x44000: invalid argument"):
#	that is the client's environment, not the registry, so the caller
#	skips its client steps.  Then prints "SKIP podman: local storage
#	cannot apply layers here (the error's first line)" and fails.  Asked
#	once per test.  CUSTOMS_TEST_FORCE_NO_LAYERS=1 makes it fail without
#	trying, to exercise the skip paths.
layers_ok() {
	local c=$1 ans=$TMP/layers-$1.why

	shift
	if [ ! -f "$ans" ]; then
		if [ "${CUSTOMS_TEST_FORCE_NO_LAYERS:-}" = 1 ]; then
			echo "forced by CUSTOMS_TEST_FORCE_NO_LAYERS=1" >"$ans"
		elif "layers_probe_$c" "$@" 2>"$TMP/layers-$c.err"; then
			: >"$ans"
		else
			{ grep -m 1 '^Error' "$TMP/layers-$c.err" ||
				grep -m 1 . "$TMP/layers-$c.err" ||
				echo "$c failed saying nothing"; } >"$ans"
		fi
	fi
	[ -s "$ans" ] || return 0
	echo "SKIP $c: local storage cannot apply layers here ($(cat "$ans"))"
	return 1
}

layers_probe_podman() {
	local id

	oci_layout "$TMP/layers-probe" probe >/dev/null || return 1
	id=$(cd "$TMP" && "$@" pull -q oci:layers-probe:probe) || return 1
	"$@" rmi -f "$(echo "$id" | tail -n 1)" >/dev/null || true
}

# A `docker save` archive: manifest.json names the config and the layer.
layers_probe_docker() {
	local d=$TMP/layers-probe-docker

	make_image "$d" probe >/dev/null || return 1
	printf '[{"Config":"config-probe.json","RepoTags":["customs-layers-probe:v1"],"Layers":["layer-probe.tar.gz"]}]' \
		>"$d/manifest.json"
	tar -C "$d" -cf "$d.tar" manifest.json config-probe.json \
		layer-probe.tar.gz || return 1
	"$1" load -q -i "$d.tar" >/dev/null || return 1
	"$1" rmi -f customs-layers-probe:v1 >/dev/null || true
}
