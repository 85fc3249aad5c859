#!/bin/bash
# Runtimes in their official images' layouts, and jars without
# pom.properties: an image built here holds the machine's own Node.js
# binary at usr/local/bin/node, its libpython3.N at usr/local/lib, two real
# OpenJDK release files (Temurin's at opt/java/openjdk, Debian's at
# usr/local/openjdk-17) and jars carrying only real Debian manifests (one
# nested in a fat jar).  `customs scan` and a push to `serve` report them
# with their confidence and how they were identified, and find exactly what
# the fixture advisories (tests/data/runtimes/osv: OSV's Bitnami and a
# GitHub Maven record) say, computed here by a small oracle from each
# record's ranges.  Node.js or Python parts skip when the machine has no
# such binary.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"
need zip python3
RT=$SP_DATA/runtimes

S=$TMP/stage
mkdir -p "$S/node/usr/local/bin" "$S/python/usr/local/lib" \
	"$S/java/opt/java/openjdk" "$S/java/usr/local/openjdk-17" \
	"$S/app/app" "$TMP/jars"

# --- The machine's runtimes: a Node.js build with its release strings (a
# static binary, or Debian's libnode) and Debian's libpython3.N.
node_src=
for f in /usr/bin/node /usr/lib/*/libnode.so.*; do
	[ -f "$f" ] && grep -aqE 'node\.js/v[0-9]+\.[0-9]+\.[0-9]+' "$f" &&
		{ node_src=$f; break; }
done
node_ver=
if [ -n "$node_src" ]; then
	cp "$node_src" "$S/node/usr/local/bin/node"
	node_ver=$(grep -aoE 'node\.js/v[0-9]+\.[0-9]+\.[0-9]+' "$node_src" |
		head -n 1)
	node_ver=${node_ver#node.js/v}
else
	echo "note: no Node.js binary with a version string: Node.js part skipped"
fi
py_src=$(ls /usr/lib/*/libpython3.*.so.1.0 2>/dev/null | head -n 1 || true)
py_ver=
if [ -n "$py_src" ]; then
	py_base=$(basename "$py_src")
	cp "$py_src" "$S/python/usr/local/lib/$py_base"
	py_mm=${py_base#libpython}
	py_mm=${py_mm%.so.1.0}
	py_ver=$(python3 - "$py_src" "$py_mm" <<'PY'
import re, sys
d = open(sys.argv[1], 'rb').read()
m = re.search(rb'\x00(' + re.escape(sys.argv[2].encode()) +
              rb'\.[0-9]+(?:(?:a|b|rc)[0-9]+)?)\+?\x00', d)
print(m.group(1).decode() if m else '')
PY
)
	[ -n "$py_ver" ] || fail "no version string in $py_src"
else
	echo "note: no libpython3.N.so.1.0 installed: Python part skipped"
fi
cp "$RT/java/temurin-25.0.3.release" "$S/java/opt/java/openjdk/release"
cp "$RT/java/debian-openjdk-17.0.15.release" \
	"$S/java/usr/local/openjdk-17/release"

# --- Jars with only a manifest (what Gradle or a shading step leaves).
jar_of() { # MANIFEST JAR
	local d

	d=$(mktemp -d "$TMP/jar.XXXXXX")
	mkdir -p "$d/META-INF"
	cp "$1" "$d/META-INF/MANIFEST.MF"
	(cd "$d" && zip -qX "$2" META-INF/MANIFEST.MF) || fail "zip $2"
}
jar_of "$RT/manifests/commons-io-2.11.0.MF" "$S/app/app/commons-io-2.11.0.jar"
mkdir -p "$TMP/fat/BOOT-INF/lib" "$TMP/fat/META-INF"
jar_of "$RT/manifests/commons-lang3-3.12.0.MF" \
	"$TMP/fat/BOOT-INF/lib/commons-lang3-3.12.0.jar"
jar_of "$RT/manifests/guava-31.1-jre.MF" \
	"$TMP/fat/BOOT-INF/lib/guava-31.1-jre.jar"
printf 'Manifest-Version: 1.0\r\nMain-Class: app.Main\r\n\r\n' \
	>"$TMP/fat/META-INF/MANIFEST.MF"
(cd "$TMP/fat" && zip -qrX "$S/app/app/app.jar" META-INF BOOT-INF) ||
	fail "zip app.jar"

# Uncompressed layers: the node binary alone is 100 MB.
LAYER_COMPRESS=none oci_image "$L" runtimes "$S/node" "$S/python" \
	"$S/java" "$S/app" >/dev/null
"$CUSTOMS" db import --db "$TMP/vulndb.db" "$RT/osv" >"$TMP/import.log" 2>&1 ||
	fail "db import: $(cat "$TMP/import.log")"

# --- The inventory expected: name, version, path, confidence.
{
	[ -n "$node_ver" ] && printf 'node\t%s\tusr/local/bin/node\tmedium\n' \
		"$node_ver"
	[ -n "$py_ver" ] && printf 'python\t%s\tusr/local/lib/%s\tmedium\n' \
		"$py_ver" "$py_base"
	printf 'java\t25.0.3\topt/java/openjdk/release\tmedium\n'
	printf 'java\t17.0.15\tusr/local/openjdk-17/release\tmedium\n'
	printf 'commons-io:commons-io\t2.11.0\tapp/commons-io-2.11.0.jar\tlow\n'
	printf 'org.apache.commons:commons-lang3\t3.12.0\tapp/app.jar\tlow\n'
	printf 'com.google:guava\t31.1.0.jre\tapp/app.jar\tlow\n'
} | sort >"$TMP/inv.expected"

# The findings expected, from the records' own ranges (SEMVER for
# Bitnami, Maven's order for these plain versions): package, version, id.
python3 - "$RT/osv" "$TMP/inv.expected" >"$TMP/vulns.expected" <<'PY'
import json, os, re, sys

def key(v):
    m = re.match(r'(\d+)\.(\d+)\.(\d+)(.*)', v)
    if not m:
        return (0, 0, 0, 0, v)
    rest = m.group(4)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)),
            0 if rest and not rest.startswith('.') else 1, rest)

def affected(ver, events):
    hit = False
    for e in events:
        if 'introduced' in e:
            hit = hit or e['introduced'] == '0' or key(ver) >= key(e['introduced'] + ('.0' * (2 - e['introduced'].count('.'))))
        if 'fixed' in e and key(ver) >= key(e['fixed'] + ('.0' * (2 - e['fixed'].count('.')))):
            hit = False
    return hit

recs = []
for d, _, fs in os.walk(sys.argv[1]):
    recs += [json.load(open(os.path.join(d, f))) for f in fs]
out = set()
for line in open(sys.argv[2]):
    name, ver, path, conf = line.rstrip('\n').split('\t')
    for r in recs:
        for a in r['affected']:
            if a['package']['name'] != name:
                continue
            if any(affected(ver, rg['events']) for rg in a['ranges']):
                out.add('%s\t%s\t%s\t%s' % (name, ver, path, r['id']))
print('\n'.join(sorted(out)))
PY
# The oracle must have something to find: Debian's 17.0.15 and commons-io.
grep -q 'BIT-java-2025-30749' "$TMP/vulns.expected" &&
	grep -q 'GHSA-78wr-2p64-hpwj' "$TMP/vulns.expected" ||
	fail "oracle: $(cat "$TMP/vulns.expected")"

check_report() { # REPORT WHAT
	jq -r '.packages[] | [.name, .version, .path, .confidence] | @tsv' \
		"$1" | sort >"$TMP/inv.actual"
	diff -u "$TMP/inv.expected" "$TMP/inv.actual" >&2 ||
		fail "$2: packages differ"
	jq -r '.vulnerabilities[] | [.package.name, .installed, .package.path,
		.id] | @tsv' "$1" | sort >"$TMP/vulns.actual"
	diff -u "$TMP/vulns.expected" "$TMP/vulns.actual" >&2 ||
		fail "$2: findings differ"
	jq -e 'all(.packages[]; .ecosystem == (if .confidence == "low"
			then "Maven" else "Runtime" end) and
		(.identified_by | type) == "string") and
		any(.packages[]; .path == "usr/local/openjdk-17/release" and
			.identified_by == "release file: JAVA_VERSION (Debian)"
			and .purl == "pkg:generic/java@17.0.15") and
		any(.packages[]; .name == "commons-io:commons-io" and
			.identified_by == "MANIFEST.MF: group from Implementation-Vendor-Id, artifact from file name, version from Implementation-Version") and
		any(.packages[]; .name == "org.apache.commons:commons-lang3" and
			(.identified_by | startswith("BOOT-INF/lib/commons-lang3-3.12.0.jar: ")))' \
		"$1" >/dev/null || fail "$2: confidence and evidence"
}

# --- customs scan.
"$CUSTOMS" scan --db "$TMP/vulndb.db" "$L:runtimes" >"$TMP/cli.json" ||
	fail "scan exit $?"
check_report "$TMP/cli.json" "customs scan"
"$CUSTOMS" scan --db "$TMP/vulndb.db" --format cyclonedx "$L:runtimes" \
	>"$TMP/cdx.json" || fail "scan --format cyclonedx"
jq -e 'any(.components[]; .purl == "pkg:maven/commons-io/commons-io@2.11.0"
	and any(.properties[]; .name == "customs:confidence" and
		.value == "low"))' "$TMP/cdx.json" >/dev/null ||
	fail "CycloneDX properties"
if python3 -c 'import jsonschema' 2>/dev/null; then
	python3 "$(dirname "$0")/sbom_check.py" "$SP_DATA" cyclonedx \
		"$TMP/cdx.json" >"$TMP/check.log" 2>&1 ||
		fail "CycloneDX not valid: $(tail -n 5 "$TMP/check.log")"
fi

# --- A push to serve: the same report.
mkdir -p "$DATA"
cp "$TMP/vulndb.db" "$DATA/vulndb.db"
start_server --scan-workers 1
dg=$(sp_push runtimes rt/app v1)
sp_report rt/app "$dg" 120
cp "$B" "$TMP/push.json"
check_report "$TMP/push.json" "scan on push"
# Its SPDX referrer says how the runtimes were found, and stays valid.
for i in $(seq 1 100); do
	req GET "/v2/rt/app/referrers/$dg?artifactType=application/spdx%2Bjson"
	[ "$(jq '.manifests | length' "$B")" = 1 ] && break
	sleep 0.1
done
req GET "/v2/rt/app/manifests/$(jq -r '.manifests[0].digest' "$B")"
expect 200
req GET "/v2/rt/app/blobs/$(jq -r '.layers[0].digest' "$B")"
expect 200
jq -e 'any(.packages[].sourceInfo // ""; endswith("usr/local/openjdk-17/release; identified by release file: JAVA_VERSION (Debian), confidence medium"))' \
	"$B" >/dev/null || fail "SPDX sourceInfo: $(jq -c '[.packages[].sourceInfo]' "$B")"
if python3 -c 'import jsonschema' 2>/dev/null; then
	cp "$B" "$TMP/spdx.json"
	python3 "$(dirname "$0")/sbom_check.py" "$SP_DATA" spdx \
		"$TMP/spdx.json" >"$TMP/check.log" 2>&1 ||
		fail "SPDX not valid: $(tail -n 5 "$TMP/check.log")"
fi
stop_server
echo "ok: runtimes (node ${node_ver:-skipped}, python ${py_ver:-skipped}, java) and manifest-only jars"
