#!/usr/bin/env bash
# mkimage.sh DIR: builds two small OCI image layouts from scratch with tar,
# gzip, sha256sum and jq (image-spec image-layout.md), byte for byte the
# same on every run:
#   DIR/image  linux/amd64 image, ref "v1"
#   DIR/multi  image index of linux/amd64 + linux/arm64, ref "v1"
# and one file per fact the scenarios check (DIR/image.manifest: the
# manifest's digest, DIR/image.config, DIR/multi.index, ...).
set -euo pipefail
out=${1:?usage: mkimage.sh DIR}
mkdir -p "$out"
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Moves file $1 into layout $2's blobs; prints its digest (hex).
put_blob() {
	local d
	d=$(sha256sum "$1" | cut -d' ' -f1)
	mkdir -p "$2/blobs/sha256"
	mv "$1" "$2/blobs/sha256/$d"
	echo "$d"
}

size() { stat -c %s "$1"; }

# image LAYOUT ARCH: writes config, layer and manifest blobs of a one-layer
# image; prints "<manifest hex> <manifest size> <config hex>".
image() {
	local layout=$1 arch=$2 root=$tmp/root-$2 diff layer lsize cfg csize m
	mkdir -p "$root/etc"
	printf 'ID=customs-conformance\nVERSION_ID=1\n' >"$root/etc/os-release"
	printf 'hello from %s\n' "$arch" >"$root/hello.txt"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		--format=posix --pax-option=delete=atime,delete=ctime \
		-C "$root" -cf "$tmp/layer.tar" etc hello.txt
	diff=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
	gzip -n -9 <"$tmp/layer.tar" >"$tmp/layer.tgz"
	lsize=$(size "$tmp/layer.tgz")
	layer=$(put_blob "$tmp/layer.tgz" "$layout")
	jq -cn --arg arch "$arch" --arg diff "sha256:$diff" '{
		created: "2024-01-01T00:00:00Z",
		architecture: $arch, os: "linux",
		config: {Env: ["PATH=/"], Cmd: ["/hello.txt"]},
		rootfs: {type: "layers", diff_ids: [$diff]},
		history: [{created: "2024-01-01T00:00:00Z",
			   created_by: "conformance/clients/mkimage.sh"}]
	}' | tr -d '\n' >"$tmp/config"
	csize=$(size "$tmp/config")
	cfg=$(put_blob "$tmp/config" "$layout")
	jq -cn --arg c "sha256:$cfg" --argjson cs "$csize" \
		--arg l "sha256:$layer" --argjson ls "$lsize" '{
		schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json",
			 digest: $c, size: $cs},
		layers: [{mediaType:
			  "application/vnd.oci.image.layer.v1.tar+gzip",
			  digest: $l, size: $ls}]
	}' | tr -d '\n' >"$tmp/manifest"
	csize=$(size "$tmp/manifest")
	m=$(put_blob "$tmp/manifest" "$layout")
	echo "$m $csize $cfg"
}

# layout_index LAYOUT MEDIATYPE HEX SIZE: the layout's index.json, ref v1.
layout_index() {
	echo '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
	jq -cn --arg mt "$2" --arg d "sha256:$3" --argjson s "$4" '{
		schemaVersion: 2,
		manifests: [{mediaType: $mt, digest: $d, size: $s,
			annotations: {"org.opencontainers.image.ref.name": "v1"}}]
	}' >"$1/index.json"
}

rm -rf "$out/image" "$out/multi"
mkdir -p "$out/image" "$out/multi"

read -r m s c < <(image "$out/image" amd64)
layout_index "$out/image" application/vnd.oci.image.manifest.v1+json "$m" "$s"
echo "sha256:$m" >"$out/image.manifest"
echo "sha256:$c" >"$out/image.config"

read -r m1 s1 c1 < <(image "$out/multi" amd64)
read -r m2 s2 c2 < <(image "$out/multi" arm64)
jq -cn --arg d1 "sha256:$m1" --argjson s1 "$s1" \
	--arg d2 "sha256:$m2" --argjson s2 "$s2" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [
		{mediaType: "application/vnd.oci.image.manifest.v1+json",
		 digest: $d1, size: $s1,
		 platform: {architecture: "amd64", os: "linux"}},
		{mediaType: "application/vnd.oci.image.manifest.v1+json",
		 digest: $d2, size: $s2,
		 platform: {architecture: "arm64", os: "linux"}}
	]
}' | tr -d '\n' >"$tmp/index"
s=$(size "$tmp/index")
i=$(put_blob "$tmp/index" "$out/multi")
layout_index "$out/multi" application/vnd.oci.image.index.v1+json "$i" "$s"
echo "sha256:$i" >"$out/multi.index"
echo "sha256:$m1" >"$out/multi.amd64"
echo "sha256:$m2" >"$out/multi.arm64"
echo "sha256:$c1" >"$out/multi.amd64.config"
echo "sha256:$c2" >"$out/multi.arm64.config"
echo "built $out/image ($(cat "$out/image.manifest")) and $out/multi ($(cat "$out/multi.index"))"
