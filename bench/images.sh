# images.sh: sourced by bench/run.  Builds the test images as one OCI
# layout, $IMG, with three tags:
#
#   debian   a Debian minbase (debootstrap, cached in $BENCH_CACHE), or,
#            when the mirror is unreachable (or --quick finds no cache), a
#            rootfs generated from this machine's own "required" packages
#   big      one uncompressed layer of $BIG_BYTES random bytes
#   small50  50 gzip layers of 16 KiB random each
#
# and the files the workloads need beside it: $W/debian.status (the
# image's dpkg status), $W/debian.tar.gz and $W/big.layer (hard links to
# the Debian and the big layer).

LAYER_TAR=application/vnd.oci.image.layer.v1.tar
LAYER_GZ=application/vnd.oci.image.layer.v1.tar+gzip
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_CONFIG=application/vnd.oci.image.config.v1+json

# blob_in FILE: moves FILE into the layout; prints "sha256:<hex> <size>".
blob_in() {
	local hex size

	hex=$(sha256sum <"$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$IMG/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

blob_path() {
	echo "$IMG/blobs/sha256/${1#sha256:}"
}

# tar_dir DIR: a reproducible tar of DIR on stdout.
tar_dir() {
	tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@0 -cf - .
}

# image_add TAG LIST: LIST has one "file<TAB>mediatype<TAB>diff_id" line
# per layer, bottom first.  Prints the manifest digest.
image_add() {
	local tag=$1 f mt diff dg sz layers="" diffs="" cfg man

	while IFS=$'\t' read -r f mt diff; do
		read -r dg sz < <(blob_in "$f")
		layers+=${layers:+,}$(printf '{"mediaType":"%s","digest":"%s","size":%s}' \
			"$mt" "$dg" "$sz")
		diffs+=${diffs:+,}\"$diff\"
	done <"$2"
	printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Labels":{"dev.customs.bench":"%s"}},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$tag" "$diffs" >"$W/cfg.tmp"
	read -r cfg sz < <(blob_in "$W/cfg.tmp")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%s},"layers":[%s]}' \
		"$OCI_MANIFEST" "$OCI_CONFIG" "$cfg" "$sz" "$layers" >"$W/man.tmp"
	read -r man sz < <(blob_in "$W/man.tmp")
	jq -c --arg mt "$OCI_MANIFEST" --arg dg "$man" --argjson sz "$sz" \
		--arg tag "$tag" '.manifests += [{mediaType: $mt, digest: $dg,
		size: $sz, annotations: {"org.opencontainers.image.ref.name":
		$tag}}]' "$IMG/index.json" >"$W/index.tmp"
	mv "$W/index.tmp" "$IMG/index.json"
	echo "$man"
}

# The mirror apt uses for this release (deb822 or one-line sources).
debian_mirror() {
	local m

	[ -z "${BENCH_MIRROR:-}" ] || { echo "$BENCH_MIRROR"; return 0; }
	m=$(awk '$1 == "URIs:" { print $2; exit }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /^http/ { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null || true)
	echo "${m:-http://deb.debian.org/debian}"
}

debian_suite() {
	(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
}

# Undoes what an interrupted debootstrap may leave mounted under $1.
unmount_under() {
	local m

	findmnt -rn -o TARGET 2>/dev/null | { grep "^$1/" || true; } | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# debootstrap_layer OUT: a minbase of this machine's release, without apt's
# downloaded packages and lists (as Debian's own container images are).
debootstrap_layer() {
	local out=$1 suite mirror r=$W/rootfs rc=0

	suite=$(debian_suite)
	mirror=$(debian_mirror)
	command -v debootstrap >/dev/null || return 1
	curl -sf --max-time 10 -o /dev/null "$mirror/dists/$suite/Release" || {
		say "mirror $mirror unreachable"
		return 1
	}
	say "debootstrap --variant=minbase $suite (once; cached in $BENCH_CACHE)"
	timeout 900 debootstrap --variant=minbase "$suite" "$r" "$mirror" \
		>>"$W/log/debootstrap.log" 2>&1 || rc=$?
	unmount_under "$r"
	if [ "$rc" -ne 0 ]; then
		say "debootstrap failed ($rc; log: $W/log/debootstrap.log)"
		rm -rf "$r"
		return 1
	fi
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin \
		"$r"/var/lib/apt/lists/*
	tar_dir "$r" | gzip -n >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$r"
}

# generated_layer OUT: the files of this machine's "required" packages,
# its os-release and a dpkg status that lists just those packages.
generated_layer() {
	local out=$1 r=$W/rootfs pkgs

	pkgs=$(dpkg-query -W -f='${Package} ${Priority} ${db:Status-Status}\n' |
		awk '$2 == "required" && $3 == "installed" { print $1 }')
	[ -n "$pkgs" ] || return 1
	mkdir -p "$r/etc" "$r/var/lib/dpkg"
	# shellcheck disable=SC2086
	dpkg-query -L $pkgs 2>/dev/null | sort -u | while read -r f; do
		[ -f "$f" ] && echo "${f#/}"
	done >"$W/files.txt"
	tar -C / --no-recursion -T "$W/files.txt" -cf - 2>>"$LOG" |
		tar -C "$r" -xf -
	cp -L /etc/os-release "$r/etc/os-release"
	# shellcheck disable=SC2086
	awk -v want=" $(echo $pkgs) " 'BEGIN { RS = ""; ORS = "\n\n" }
		{ split($0, l, "\n"); sub(/^Package: /, "", l[1]) }
		index(want, " " l[1] " ")' /var/lib/dpkg/status \
		>"$r/var/lib/dpkg/status"
	tar_dir "$r" | gzip -n >"$out"
	rm -rf "$r"
}

# The Debian layer into $W/debian.tar.gz; sets DEBIAN_KIND.
debian_layer() {
	local cache

	cache=$BENCH_CACHE/$(debian_suite)-minbase.tar.gz

	if [ ! -s "$cache" ] && [ -z "$QUICK" ]; then
		mkdir -p "$BENCH_CACHE"
		debootstrap_layer "$cache" || true
	fi
	if [ -s "$cache" ]; then
		cp "$cache" "$W/debian.tar.gz"
		DEBIAN_KIND="Debian $(debian_suite) minbase (debootstrap)"
	else
		[ -z "$QUICK" ] || say "no cached minbase: --quick uses a generated rootfs"
		generated_layer "$W/debian.tar.gz" || return 1
		DEBIAN_KIND="generated rootfs ($(. /etc/os-release &&
			echo "$ID $VERSION_ID") required packages)"
	fi
	tar -xzOf "$W/debian.tar.gz" ./var/lib/dpkg/status >"$W/debian.status"
	[ -s "$W/debian.status" ] || { say "the Debian layer has no dpkg status"; return 1; }
}

make_images() {
	local i d=$W/small

	mkdir -p "$IMG/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$IMG/oci-layout"
	echo '{"schemaVersion":2,"manifests":[]}' >"$IMG/index.json"

	debian_layer || return 1
	ln "$W/debian.tar.gz" "$W/debian.layer"
	printf '%s\t%s\tsha256:%s\n' "$W/debian.layer" "$LAYER_GZ" \
		"$(gzip -dc "$W/debian.tar.gz" | sha256sum | cut -d' ' -f1)" \
		>"$W/layers.txt"
	image_add debian "$W/layers.txt" >/dev/null

	# One member whose data makes the layer exactly BIG_BYTES long:
	# header (512) + data + end of archive (1024), with 512-byte records.
	mkdir -p "$W/bigdir"
	openssl rand -out "$W/bigdir/random.bin" $((BIG_BYTES - 1536))
	tar -C "$W/bigdir" -b1 --owner=0 --group=0 --numeric-owner \
		--mtime=@0 -cf "$W/big.tar" random.bin
	rm -rf "$W/bigdir"
	printf '%s\t%s\tsha256:%s\n' "$W/big.tar" "$LAYER_TAR" \
		"$(sha256sum <"$W/big.tar" | cut -d' ' -f1)" >"$W/layers.txt"
	image_add big "$W/layers.txt" >/dev/null
	ln "$(blob_path "$(image_layer big 0)")" "$W/big.layer"

	: >"$W/layers.txt"
	for i in $(seq -w 1 50); do
		mkdir -p "$d/$i"
		openssl rand -out "$d/$i/layer-$i.bin" 16384
		tar_dir "$d/$i" >"$d/$i.tar"
		gzip -n -c "$d/$i.tar" >"$d/$i.tar.gz"
		printf '%s\t%s\tsha256:%s\n' "$d/$i.tar.gz" "$LAYER_GZ" \
			"$(sha256sum <"$d/$i.tar" | cut -d' ' -f1)" >>"$W/layers.txt"
	done
	image_add small50 "$W/layers.txt" >/dev/null
	rm -rf "$d" "$W/layers.txt"
}

# image_manifest TAG: the manifest digest of layout tag TAG.
image_manifest() {
	jq -r --arg t "$1" '.manifests[] |
		select(.annotations["org.opencontainers.image.ref.name"] == $t) |
		.digest' "$IMG/index.json"
}

# image_layer TAG N: the digest of layer N (0-based); N = config: the config.
image_layer() {
	local m

	m=$(blob_path "$(image_manifest "$1")")
	if [ "$2" = config ]; then
		jq -r .config.digest "$m"
	else
		jq -r --argjson n "$2" '.layers[$n].digest' "$m"
	fi
}

# image_bytes TAG: config + layers, bytes.
image_bytes() {
	jq '[.config.size, .layers[].size] | add' \
		"$(blob_path "$(image_manifest "$1")")"
}
