# lib.sh: sourced by the client scenarios.  oci-conformance runs each one as
# `bash <tool>.sh <scenario>` with CT_URL, CT_REGISTRY (host:port), CT_NS,
# CT_RUN and CT_WORK set.  Exit 0 passes, 77 skips, anything else fails; the
# last line printed is the verdict's reason.
set -euo pipefail

: "${CT_REGISTRY:?run by oci-conformance}" "${CT_NS:?}" "${CT_RUN:?}" \
	"${CT_WORK:?}"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$CT_WORK/clients
mkdir -p "$work"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }
# Shows each client command (never the password) before running it.
run() {
	local line="+ $*"
	[ -z "${OCI_PASSWORD:-}" ] || line=${line//"$OCI_PASSWORD"/***}
	echo "$line" >&2
	"$@"
}

# The images, built once per run from scratch (mkimage.sh).
images=$work/images
ensure_images() {
	if [ ! -f "$images/.done" ]; then
		run bash "$here/mkimage.sh" "$images"
		touch "$images/.done"
	fi
}

# Reads a value written by mkimage.sh (e.g. image.manifest, multi.index).
fact() { cat "$images/$1"; }

# Registry flags for containers/image tools; credentials when given.
policy=$work/policy.json
[ -f "$policy" ] ||
	echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$policy"
# creds: skopeo inspect/list-tags/delete and podman; src/dest: skopeo copy.
creds=() src=() dest=()
if [ -n "${OCI_USERNAME:-}" ]; then
	creds=(--creds "$OCI_USERNAME:${OCI_PASSWORD:-}")
	src=(--src-creds "$OCI_USERNAME:${OCI_PASSWORD:-}")
	dest=(--dest-creds "$OCI_USERNAME:${OCI_PASSWORD:-}")
fi
# Copies to the registry, from it, or within it (TLS checks off).  Digests
# are preserved: otherwise containers/image may swap a layer for another
# compression of it that its blob-info cache knows the registry has.
to_reg() {
	sk copy --preserve-digests --dest-tls-verify=false \
		${dest[@]+"${dest[@]}"} "$@"
}
from_reg() {
	sk copy --preserve-digests --src-tls-verify=false \
		${src[@]+"${src[@]}"} "$@"
}
within_reg() {
	sk copy --preserve-digests --src-tls-verify=false \
		--dest-tls-verify=false ${src[@]+"${src[@]}"} \
		${dest[@]+"${dest[@]}"} "$@"
}

# skopeo with our policy; docker:// references need TLS verification off
# (plain HTTP, or a test certificate).
sk() { run skopeo --policy "$policy" "$@"; }
reg() { echo "docker://$CT_REGISTRY/$CT_NS/$1"; }

# Pushes the single-platform test image to <repo>:<tag> with skopeo.
push_image() {
	ensure_images
	to_reg "oci:$images/image:v1" "$(reg "$1:$2")"
}

# need_layers podman POD-FUNCTION | need_layers docker DOCKER-CLI: skips
# the scenario unless the client's own local storage can apply an image
# layer here (in a chroot whose / is not a mount point it cannot: "remount
# /, flags: 0x44000: invalid argument"; the client's environment, not the
# registry).  podman pulls the test image from its layout, the docker CLI
# loads it as a `docker save` archive: no registry involved; the image is
# removed again.  Asked once per run.  CUSTOMS_TEST_FORCE_NO_LAYERS=1 makes
# it skip without trying (to exercise the skip paths).
need_layers() {
	local c=$1 ans=$work/layers-$1.why err=$work/layers-$1.err

	shift
	if [ ! -f "$ans" ]; then
		if [ "${CUSTOMS_TEST_FORCE_NO_LAYERS:-}" = 1 ]; then
			echo "forced by CUSTOMS_TEST_FORCE_NO_LAYERS=1" >"$ans"
		elif "layers_probe_$c" "$@" 2>"$err"; then
			: >"$ans"
			cat "$err" >&2
		else
			cat "$err" >&2
			{ grep -m 1 '^Error' "$err" || grep -v -m 1 '^+ ' "$err" ||
				echo "$c failed saying nothing"; } >"$ans"
		fi
	fi
	[ -s "$ans" ] || return 0
	echo "SKIP $c: local storage cannot apply layers here ($(cat "$ans"))"
	exit 77
}

layers_probe_podman() {
	local id
	ensure_images
	id=$(cd "$images" && "$@" pull -q oci:image:v1) || return 1
	"$@" rmi -f "$(echo "$id" | tail -n 1)" >/dev/null || true
}

layers_probe_docker() {
	local tar=$work/layers-probe.tar
	ensure_images
	rm -f "$tar"
	sk copy -q "oci:$images/image:v1" \
		"docker-archive:$tar:customs-layers-probe:v1" || return 1
	run "$1" load -q -i "$tar" >/dev/null || return 1
	run "$1" rmi -f customs-layers-probe:v1 >/dev/null || true
}
