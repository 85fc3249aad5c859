#!/usr/bin/env bash
# skopeo.sh SCENARIO: skopeo against the registry (containers/image: the
# code podman, buildah and CRI-O share).
. "$(dirname "$0")/lib.sh"
need skopeo
ensure_images

tls=(--tls-verify=false ${creds[@]+"${creds[@]}"})
tag=$CT_RUN

# Digest of the raw manifest the registry serves for <repo>:<ref>.
raw_digest() {
	echo "sha256:$(sk inspect "${tls[@]}" --raw "$(reg "$1")" | sha256sum |
		cut -d' ' -f1)"
}

expect() { # what got want
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1 = $2"
}

case ${1:?scenario} in
copy-image)
	push_image skopeo-image "$tag"
	expect "manifest digest on the registry" "$(raw_digest "skopeo-image:$tag")" \
		"$(fact image.manifest)"
	rm -rf "$work/skopeo-back"
	from_reg "$(reg "skopeo-image:$tag")" "oci:$work/skopeo-back:v1"
	for b in "$images"/image/blobs/sha256/*; do
		cmp "$b" "$work/skopeo-back/blobs/sha256/${b##*/}" ||
			fail "blob ${b##*/} differs after the round trip"
	done
	echo "ok: every blob came back byte for byte"
	;;
copy-index)
	to_reg --all "oci:$images/multi:v1" "$(reg "skopeo-multi:$tag")"
	expect "index digest on the registry" "$(raw_digest "skopeo-multi:$tag")" \
		"$(fact multi.index)"
	expect "arm64 manifest by digest" \
		"$(raw_digest "skopeo-multi@$(fact multi.arm64)")" "$(fact multi.arm64)"
	rm -rf "$work/skopeo-multi-back"
	from_reg --all "$(reg "skopeo-multi:$tag")" "oci:$work/skopeo-multi-back:v1"
	got=$(jq -r '.manifests[0].digest' "$work/skopeo-multi-back/index.json")
	expect "index digest after the round trip" "$got" "$(fact multi.index)"
	;;
inspect)
	push_image skopeo-inspect "$tag"
	out=$(sk inspect "${tls[@]}" "$(reg "skopeo-inspect:$tag")")
	echo "$out"
	expect "Digest" "$(jq -r .Digest <<<"$out")" "$(fact image.manifest)"
	expect "Architecture" "$(jq -r .Architecture <<<"$out")" amd64
	expect "Os" "$(jq -r .Os <<<"$out")" linux
	cfg=$(sk inspect "${tls[@]}" --config --raw "$(reg "skopeo-inspect:$tag")")
	expect "config digest" "sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)" \
		"$(fact image.config)"
	to_reg --all "oci:$images/multi:v1" "$(reg "skopeo-inspect:$tag-multi")"
	out=$(sk --override-arch arm64 inspect "${tls[@]}" \
		"$(reg "skopeo-inspect:$tag-multi")")
	# .Digest stays the index's; the platform's image is what is shown.
	expect "Digest of the index" "$(jq -r .Digest <<<"$out")" \
		"$(fact multi.index)"
	expect "Architecture picked from the index" \
		"$(jq -r .Architecture <<<"$out")" arm64
	;;
list-tags)
	push_image skopeo-tags "$tag-a"
	within_reg "$(reg "skopeo-tags:$tag-a")" "$(reg "skopeo-tags:$tag-b")"
	out=$(sk list-tags "${tls[@]}" "$(reg skopeo-tags)")
	echo "$out"
	for t in "$tag-a" "$tag-b"; do
		jq -e --arg t "$t" '.Tags | index($t)' <<<"$out" >/dev/null ||
			fail "list-tags does not list $t"
	done
	echo "ok: both tags listed"
	;;
delete)
	push_image skopeo-delete "$tag"
	sk delete "${tls[@]}" "$(reg "skopeo-delete:$tag")"
	if sk inspect "${tls[@]}" --raw "$(reg "skopeo-delete:$tag")"; then
		fail "the image is still there after skopeo delete"
	fi
	echo "ok: gone after delete"
	;;
*)
	fail "unknown scenario $1"
	;;
esac
