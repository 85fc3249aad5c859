# mklayout.sh: build OCI image layouts from directories, for the scanner's
# integration tests (sourced by tests/integration/t_scan_*.sh).  Needs tar,
# gzip, zstd, sha256sum and jq.
#
#   oci_image OUT TAG DIR...   one layer per DIR (in order), a config with
#                              the layers' diff_ids, a manifest, and an
#                              index.json entry named TAG
#   LAYER_COMPRESS=gzip|zstd|none picks the layer compression (gzip)
#   OCI_HISTORY='[{"created_by": ...}, ...]' puts that history in the config
#   fixture_stage SRC DST      copies a fixture directory, turning the
#                              os-release placeholder back into a symlink

oci_blob() { # OUT FILE -> prints "sha256:<hex> <size>", moves FILE in
	local out=$1 f=$2 hex size
	hex=$(sha256sum <"$f" | cut -d' ' -f1)
	size=$(stat -c %s "$f")
	mkdir -p "$out/blobs/sha256"
	mv "$f" "$out/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

oci_image() {
	local out=$1 tag=$2 d tmp mt dg sz diff layers='[]' diffs='[]' cfg man
	shift 2
	mkdir -p "$out/blobs/sha256"
	[ -f "$out/oci-layout" ] ||
		echo '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
	[ -f "$out/index.json" ] ||
		echo '{"schemaVersion":2,"manifests":[]}' >"$out/index.json"
	tmp=$(mktemp)
	for d in "$@"; do
		tar -C "$d" --sort=name --owner=0 --group=0 --numeric-owner \
			--mtime=@0 -cf "$tmp" .
		diff=sha256:$(sha256sum <"$tmp" | cut -d' ' -f1)
		case ${LAYER_COMPRESS:-gzip} in
		gzip) gzip -n -c "$tmp" >"$tmp.c"
		      mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
		zstd) zstd -q -c "$tmp" >"$tmp.c"
		      mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
		*) cp "$tmp" "$tmp.c"
		   mt=application/vnd.oci.image.layer.v1.tar ;;
		esac
		read -r dg sz < <(oci_blob "$out" "$tmp.c")
		layers=$(jq -c --arg mt "$mt" --arg dg "$dg" --argjson sz "$sz" \
			'. + [{mediaType: $mt, digest: $dg, size: $sz}]' <<<"$layers")
		diffs=$(jq -c --arg d "$diff" '. + [$d]' <<<"$diffs")
	done
	rm -f "$tmp"
	jq -cn --argjson diffs "$diffs" --argjson h "${OCI_HISTORY:-null}" \
		'{architecture: "amd64", os: "linux", config: {},
		rootfs: {type: "layers", diff_ids: $diffs}} +
		(if $h then {history: $h} else {} end)' >"$out/cfg.tmp"
	read -r cfg sz < <(oci_blob "$out" "$out/cfg.tmp")
	jq -cn --arg cfg "$cfg" --argjson sz "$sz" --argjson layers "$layers" '{
		schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json",
			 digest: $cfg, size: $sz},
		layers: $layers}' >"$out/man.tmp"
	read -r man sz < <(oci_blob "$out" "$out/man.tmp")
	jq --arg man "$man" --argjson sz "$sz" --arg tag "$tag" '.manifests += [{
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $man, size: $sz,
		annotations: {"org.opencontainers.image.ref.name": $tag}}]' \
		"$out/index.json" >"$out/index.tmp"
	mv "$out/index.tmp" "$out/index.json"
	echo "$man"
}

fixture_stage() {
	local src=$1 dst=$2 f
	mkdir -p "$dst"
	cp -a "$src/." "$dst/"
	for f in etc/os-release; do
		if [ -f "$dst/$f" ] && [ "$(head -c 3 "$dst/$f")" = "../" ]; then
			ln -sfn "$(cat "$dst/$f")" "$dst/$f.tmp"
			mv -T "$dst/$f.tmp" "$dst/$f"
		fi
	done
}
