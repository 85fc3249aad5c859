# scanpush_lib.sh: sourced (after lib.sh) by tests/integration/t_scanpush*.sh.
#
# Real images built from the fixture package databases (tests/data/images,
# tarred into layers by tests/data/images/mklayout.sh), a vulnerability DB
# imported from the fixture advisories (tests/data/advisories), and the
# answer key tests/data/expected/expected-matches.tsv.
#
#   sp_db DB [osv|alpine-secdb]...   imports advisories into DB (all: both)
#   sp_feed_zip ZIP [subdir]...      zips advisories (a feed for POST)
#   sp_layout                        builds $L with tags debian, alpine310, npm
#   sp_push TAG REPO REF             pushes layout image TAG with curl; prints
#                                    the manifest digest
#   sp_report REPO REF [WAIT]        GET the scan report (expects 200) into $B
#   sp_findings FILE                 "package installed id fixed" lines
#   sp_expected FIXTURE              the same, from the answer key
#   sp_slow REPO REF N               debian + N filler layers: a scan that
#                                    takes a while; prints the digest

SP_DATA=$ROOT/tests/data
L=$TMP/layout
. "$SP_DATA/images/mklayout.sh"

need tar gzip

sp_db() {
	local db=$1 d inputs=()

	shift
	[ $# -gt 0 ] || set -- osv alpine-secdb
	for d in "$@"; do inputs+=("$SP_DATA/advisories/$d"); done
	"$CUSTOMS" db import --db "$db" "${inputs[@]}" >"$TMP/import.log" 2>&1 ||
		fail "db import: $(tail -n 3 "$TMP/import.log")"
}

sp_feed_zip() {
	local zip=$1

	need zip
	shift
	[ $# -gt 0 ] || set -- osv alpine-secdb
	(cd "$SP_DATA/advisories" && zip -qr "$zip" "$@") || fail "zip feed"
}

sp_layout() {
	local s=$TMP/stage

	fixture_stage "$SP_DATA/images/debian-bookworm-minbase" "$s/debian"
	fixture_stage "$SP_DATA/images/alpine-3.10.4" "$s/alpine310"
	mkdir -p "$s/npm/srv"
	cp -a "$SP_DATA/images/npm-app" "$s/npm/srv/app"
	oci_image "$L" debian "$s/debian" >/dev/null
	oci_image "$L" alpine310 "$s/alpine310" >/dev/null
	oci_image "$L" npm "$s/npm" >/dev/null
}

# The manifest file of layout tag $1.
sp_manifest_file() {
	local dg

	dg=$(jq -r --arg t "$1" '.manifests[] |
		select(.annotations["org.opencontainers.image.ref.name"] == $t) |
		.digest' "$L/index.json")
	[ -n "$dg" ] || fail "no $1 in the layout"
	echo "$L/blobs/sha256/${dg#sha256:}"
}

sp_push() {
	local m dg

	m=$(sp_manifest_file "$1")
	for dg in $(jq -r '.config.digest, .layers[].digest' "$m"); do
		push_blob "$2" "$L/blobs/sha256/${dg#sha256:}" >/dev/null
	done
	push_manifest "$2" "$3" "$m" "$OCI_MANIFEST"
	sha256 "$m"
}

sp_report() {
	req GET "/v2/$1/_customs/scan/$2?wait=${3:-60}"
	expect 200
}

sp_findings() {
	jq -r '.vulnerabilities[] | [.package.name, .installed, .id,
		(.fixed // "")] | @tsv' "$1" | sort
}

sp_expected() {
	tail -n +2 "$SP_DATA/expected/expected-matches.tsv" | awk -F'\t' -v f="$1" '
		{ fx = $3; sub(/^images\//, "", fx); sub(/\/.*/, "", fx) }
		fx == f { pkg = $4; sub(/.*node_modules\//, "", pkg)
			  print pkg "\t" $6 "\t" $7 "\t" $8 }' | sort
}

# sp_same_findings FILE FIXTURE: the report's findings are the key's.
sp_same_findings() {
	sp_findings "$1" >"$TMP/actual.tsv"
	sp_expected "$2" >"$TMP/expected.tsv"
	[ -s "$TMP/expected.tsv" ] || fail "no expected findings for $2"
	diff -u "$TMP/expected.tsv" "$TMP/actual.tsv" >&2 ||
		fail "$2: findings differ from the answer key"
}

sp_slow() {
	local m filler fdg fsize dir=$TMP/slow

	mkdir -p "$dir/root"
	head -c 3M /dev/urandom | base64 -w 100 >"$dir/root/filler.txt"
	tar -C "$dir/root" -cf - . | gzip -1 >"$dir/filler.tar.gz"
	fdg=$(push_blob "$1" "$dir/filler.tar.gz")
	fsize=$(stat -c %s "$dir/filler.tar.gz")
	m=$(sp_manifest_file debian)
	for dg in $(jq -r '.config.digest, .layers[].digest' "$m"); do
		push_blob "$1" "$L/blobs/sha256/${dg#sha256:}" >/dev/null
	done
	# The same filler layer, N times over: each is read again.
	jq -c --arg d "$fdg" --argjson s "$fsize" --argjson n "$3" \
		'.layers += [range($n) | {mediaType:
		 "application/vnd.oci.image.layer.v1.tar+gzip",
		 digest: $d, size: $s}]' "$m" >"$dir/manifest.json"
	push_manifest "$1" "$2" "$dir/manifest.json" "$OCI_MANIFEST"
	sha256 "$dir/manifest.json"
}

# ms: milliseconds since the epoch.
ms() {
	echo $(($(date +%s%N) / 1000000))
}
