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
