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
#   sp_push_layout DIR REPO REF      pushes the first image (or index, with
#                                    its children) of the layout DIR; prints
#                                    its digest
#   sp_report REPO REF [WAIT]        GET the scan report (expects 200) into $B
#   sp_findings FILE                 "package installed id fixed" lines
#   sp_expected FIXTURE              the same, from the answer key
#   sp_slow REPO REF N               debian + N x 4 MiB of filler: a scan that
#                                    takes a while; prints the digest
#   $SP_RT                           ?artifactType= the report's, for the
#                                    Referrers API (SBOMs are referrers too)

SP_DATA=$ROOT/tests/data
SP_RT='?artifactType=application/vnd.customs.scan.report.v1%2Bjson'
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

# sp_push_manifest LAYOUT REPO DIGEST REF: a manifest (for an index, its
# children first, by digest) with every blob it names.
sp_push_manifest() {
	local lay=$1 repo=$2 dg=$3 ref=$4 f mt c

	f=$lay/blobs/sha256/${dg#sha256:}
	mt=$(jq -r '.mediaType // "application/vnd.oci.image.manifest.v1+json"' "$f")
	if jq -e '.manifests' "$f" >/dev/null; then
		for c in $(jq -r '.manifests[].digest' "$f"); do
			sp_push_manifest "$lay" "$repo" "$c" "$c"
		done
	else
		for c in $(jq -r '[.config.digest, .layers[].digest] | unique[]' "$f"); do
			push_blob "$repo" "$lay/blobs/sha256/${c#sha256:}" >/dev/null
		done
	fi
	push_manifest "$repo" "$ref" "$f" "$mt"
}

sp_push_layout() {
	local dg

	dg=$(jq -r '.manifests[0].digest' "$1/index.json")
	sp_push_manifest "$1" "$2" "$dg" "$3"
	echo "$dg"
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
	local m dg f dir=$TMP/slow list

	mkdir -p "$dir"
	rm -f "$dir"/l*.gz
	# N x 4 MiB to read, as distinct layers of 48 MiB of zeros each (a
	# layer listed twice is read once; one of over 64 MiB would hit the
	# ratio budget): small to push, seconds to scan.
	python3 - "$dir" "$3" <<'PY'
import gzip, sys
d, n = sys.argv[1], int(sys.argv[2])
def hdr(name, size):
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:124] = b"0000000\0" * 2
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)
size = 48 << 20
filler = gzip.compress(hdr("filler", size) + bytes(size) + bytes(1024), 6, mtime=0)
for i in range((n * 4 + 47) // 48):
    ident = b"%d" % i
    with open("%s/l%03d.gz" % (d, i), "wb") as f:
        f.write(gzip.compress(hdr("id", len(ident)) + ident + bytes(512 - len(ident)), 6, mtime=0) + filler)
PY
	m=$(sp_manifest_file debian)
	for dg in $(jq -r '.config.digest, .layers[].digest' "$m"); do
		push_blob "$1" "$L/blobs/sha256/${dg#sha256:}" >/dev/null
	done
	list=$dir/layers.txt
	: >"$list"
	for f in "$dir"/l*.gz; do
		echo "$(push_blob "$1" "$f") $(stat -c %s "$f")" >>"$list"
	done
	jq -c --rawfile l "$list" '.layers += [$l | split("\n")[] |
		select(length > 0) | split(" ") | {mediaType:
		 "application/vnd.oci.image.layer.v1.tar+gzip",
		 digest: .[0], size: (.[1] | tonumber)}]' "$m" >"$dir/manifest.json"
	push_manifest "$1" "$2" "$dir/manifest.json" "$OCI_MANIFEST"
	sha256 "$dir/manifest.json"
}

# ms: milliseconds since the epoch.
ms() {
	echo $(($(date +%s%N) / 1000000))
}

# sp_wait_idle VERSION: every scan job done, with that DB loaded.
sp_wait_idle() {
	local i

	for i in $(seq 1 1200); do
		req GET /v2/_customs/db
		jq -e --arg v "$1" '.version == $v and .scans.queued == 0 and
			.scans.running == 0 and .scans.waiting == 0' "$B" \
			>/dev/null && return 0
		sleep 0.05
	done
	fail "queue not idle: $(cat "$B")"
}
