#!/usr/bin/env bash
# podman.sh SCENARIO: podman push and pull, with storage of its own (vfs
# under the run's scratch directory): no daemon, nothing of the host's.
. "$(dirname "$0")/lib.sh"
need podman
need skopeo
ensure_images

p=$work/podman
mkdir -p "$p/root" "$p/run" "$p/tmp"
pod() {
	run podman --root "$p/root" --runroot "$p/run" --tmpdir "$p/tmp" \
		--storage-driver vfs --cgroup-manager cgroupfs \
		--events-backend file "$@"
}
need_layers podman pod
tls=(--tls-verify=false ${creds[@]+"${creds[@]}"})
image=$CT_REGISTRY/$CT_NS

# podman's image ID is the config's digest (hex).
image_id() { pod image inspect --format '{{.Id}}' "$1"; }
expect_id() { # ref config-digest
	local got
	got=sha256:$(image_id "$1")
	[ "$got" = "$2" ] || fail "$1: image ID $got, want $2"
	echo "ok: $1 has image ID $got"
}

case ${1:?scenario} in
push)
	# Into podman's storage from the layout (podman would name an oci:
	# image after its path, which need not be a valid name).
	sk copy "oci:$images/image:v1" \
		"containers-storage:[vfs@$p/root+$p/run]localhost/conformance-src:$CT_RUN"
	pod tag "localhost/conformance-src:$CT_RUN" "$image/podman:$CT_RUN"
	pod push --signature-policy "$policy" "${tls[@]}" \
		"$image/podman:$CT_RUN"
	pod rmi -a -f
	pod pull --signature-policy "$policy" "${tls[@]}" "$image/podman:$CT_RUN"
	expect_id "$image/podman:$CT_RUN" "$(fact image.config)"
	;;
pull)
	# An index pushed by skopeo; podman picks this machine's platform.
	to_reg --all "oci:$images/multi:v1" "$(reg "podman-multi:$CT_RUN")"
	pod rmi -a -f
	pod pull --signature-policy "$policy" "${tls[@]}" --arch arm64 \
		"$image/podman-multi:$CT_RUN"
	expect_id "$image/podman-multi:$CT_RUN" "$(fact multi.arm64.config)"
	pod pull --signature-policy "$policy" "${tls[@]}" \
		"$image/podman-multi@$(fact multi.amd64)"
	expect_id "$image/podman-multi@$(fact multi.amd64)" \
		"$(fact multi.amd64.config)"
	;;
*)
	fail "unknown scenario $1"
	;;
esac
