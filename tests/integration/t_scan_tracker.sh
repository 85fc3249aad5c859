#!/bin/bash
# t_scan_tracker.sh: end to end, `customs scan` of a bookworm image built
# from tests/data/debian-tracker/image against a DB imported from the
# Debian Security Tracker fixture (plus Debian's DSA/DLA OSV records) must
# report exactly the 67 findings of its answer key, with their status and
# Debian's urgency; DSA records fold into the tracker's CVE rows.
# Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
. "$(dirname "$0")/lib.sh"
need tar gzip
FX=$ROOT/tests/data
DT=$FX/debian-tracker
. "$FX/images/mklayout.sh"
W=$TMP/work
mkdir -p "$W"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

if ! "$CUSTOMS" db import --db "$W/vuln.db" \
	debian-tracker="$DT/tracker-bookworm-15src.json" \
	"$FX/advisories/osv/Debian" >"$W/import.log" 2>&1; then
	cat "$W/import.log"
	bad "db import failed"
	exit 1
fi

# The fixture image, and the same with an older libc6 (DSAs apply to it).
fixture_stage "$DT/image" "$W/s/dt"
fixture_stage "$DT/image" "$W/s/old"
sed -i 's/^Version: 2.36-9+deb12u10$/Version: 2.36-9+deb12u3/' \
	"$W/s/old/var/lib/dpkg/status"
L=$W/layout
oci_image "$L" bookworm "$W/s/dt" >/dev/null
oci_image "$L" old-libc "$W/s/old" >/dev/null

"$CUSTOMS" scan --db "$W/vuln.db" "$L:bookworm" >"$W/r.json" ||
	bad "scan exit $?"
jq -r '.vulnerabilities[] | [.package.name, (.package.source.name //
	.package.name), .installed, .id, (.fixed // ""), .status,
	(.vendor_severity.rating // "")] | @tsv' "$W/r.json" | sort >"$W/actual.tsv"
tail -n +2 "$DT/expected.tsv" | awk -F'\t' 'BEGIN { OFS = "\t"
	m["resolved"] = "fixed"; m["open"] = "affected"
	m["no-dsa"] = "fix_deferred"; m["postponed"] = "fix_deferred"
	m["ignored"] = "will_not_fix" } { $6 = m[$6]; print }' |
	sort >"$W/expected.tsv"
[ "$(wc -l <"$W/expected.tsv")" -eq 67 ] || bad "answer key is not 67 lines"
diff -u "$W/expected.tsv" "$W/actual.tsv" ||
	bad "findings differ from the answer key (- expected, + reported)"
jq -e 'all(.vulnerabilities[]; .vendor_severity.source == "debian")' \
	"$W/r.json" >/dev/null || bad "a finding without Debian's rating"
jq -e 'all(.vulnerabilities[]; select(.vendor_severity.rating ==
	"unimportant") | .severity == "low")' "$W/r.json" >/dev/null ||
	bad "unimportant is not reported as low"
echo "counts by status:"
jq -r '.vulnerabilities | group_by(.status)[] | "  \(.[0].status) \(length)"' \
	"$W/r.json"

# DSA-5611-1 (glibc, CVE-2023-6246 and two more) is folded in: one row per
# CVE with the DSA as an alias, never a row of its own.
"$CUSTOMS" scan --db "$W/vuln.db" "$L:old-libc" >"$W/old.json" ||
	bad "scan old-libc exit $?"
jq -e '[.vulnerabilities[] | select(.id | test("^(DSA|DLA|DEBIAN)-"))] |
	length == 0' "$W/old.json" >/dev/null || bad "a DSA/DLA row next to its CVEs"
for cve in CVE-2023-6246 CVE-2023-6779 CVE-2023-6780; do
	jq -e --arg c "$cve" '[.vulnerabilities[] | select(.id == $c and
		.package.name == "libc6")] | length == 1 and
		(.[0].aliases | index("DSA-5611-1")) != null and
		.[0].status == "fixed" and .[0].fixed == "2.36-9+deb12u4"' \
		"$W/old.json" >/dev/null || bad "old-libc: $cve not merged with DSA-5611-1"
done

# Without tracker data the DSA records work as before, with a status.
"$CUSTOMS" db import --db "$W/osv.db" "$FX/advisories/osv/Debian" \
	>/dev/null 2>&1 || bad "OSV-only import failed"
"$CUSTOMS" scan --db "$W/osv.db" "$L:old-libc" >"$W/osv.json"
jq -e '[.vulnerabilities[] | select(.id == "DSA-5611-1")] | length == 1 and
	.[0].status == "fixed"' "$W/osv.json" >/dev/null ||
	bad "OSV only: DSA-5611-1 missing or without status fixed"

# The verbatim samples import; a document of another kind is refused.
"$CUSTOMS" db import --db "$W/samples.db" \
	debian-tracker="$DT/samples/vunnel-debian.json" \
	debian-tracker="$DT/samples/vuln-list-update-debian.json" \
	>"$W/samples.log" 2>&1 || { cat "$W/samples.log"; bad "samples import failed"; }
"$CUSTOMS" db status --db "$W/samples.db" >"$W/status.txt" || bad "db status failed"
grep -q "tracker: *32 release entries, 7 issues" "$W/status.txt" ||
	bad "db status: $(grep tracker "$W/status.txt")"
if "$CUSTOMS" db import --db "$W/wrong.db" \
	debian-tracker="$FX/advisories/osv/Debian/real/DSA-3029-1.json" \
	>"$W/wrong.log" 2>&1; then
	bad "an OSV record imported as tracker JSON"
fi
grep -q "not Debian Security Tracker JSON" "$W/wrong.log" ||
	bad "no clear message for a foreign document: $(cat "$W/wrong.log")"
[ -e "$W/wrong.db" ] && bad "a failed import left a DB"

# With NVD's data too: Debian's urgency rates what it ranks (unimportant:
# low), NVD's CVSS the rest ("not yet assigned"), unknown where neither
# has a rating; the same 67 rows, so nothing is listed twice.
"$CUSTOMS" db import --db "$W/nvd.db" \
	debian-tracker="$DT/tracker-bookworm-15src.json" \
	"$FX/advisories/osv/Debian" \
	nvd="$FX/feeds/nvd/nvdcve-2.0-fixture.json.gz" >"$W/nvd.log" 2>&1 ||
	{ cat "$W/nvd.log"; bad "import with NVD failed"; }
"$CUSTOMS" scan --db "$W/nvd.db" "$L:bookworm" >"$W/n.json" ||
	bad "scan with NVD: exit $?"
jq -e '(.vulnerabilities | length) == 67 and
	.counts == {"critical": 3, "high": 12, "medium": 22, "low": 24,
		"unknown": 6} and
	all(.vulnerabilities[]; if .vendor_severity.rating == "unimportant"
		then .severity == "low" and .severity_source == "debian"
		else .severity_source != "debian" end) and
	([.vulnerabilities[] | select(.severity_source == "nvd")] | length)
		== 42' "$W/n.json" >/dev/null ||
	bad "severities with NVD: $(jq -c '[.counts, (.vulnerabilities |
		group_by(.severity_source) | map([.[0].severity_source,
		length]))]' "$W/n.json")"
# A DB older than --db-max-age: a note in the report and a warning.
jq -e 'all(.notes[]; test("older than --db-max-age") | not)' "$W/n.json" \
	>/dev/null || bad "a fresh DB called old"
sleep 2
"$CUSTOMS" scan --db "$W/nvd.db" --db-max-age 1s "$L:bookworm" \
	>"$W/old-db.json" 2>"$W/old-db.err" || bad "scan --db-max-age: exit $?"
jq -e 'any(.notes[]; test("older than --db-max-age.*customs db update"))' \
	"$W/old-db.json" >/dev/null || bad "no note for an old DB"
grep -q "older than --db-max-age" "$W/old-db.err" || bad "no warning"

# The table and CycloneDX say the same: status and whose rating.
"$CUSTOMS" scan --db "$W/nvd.db" --format table "$L:bookworm" >"$W/n.txt"
grep -Eq '^critical +nvd +CVE-2024-5535 +libssl3 .* fix_deferred ' "$W/n.txt" ||
	bad "table: $(grep CVE-2024-5535 "$W/n.txt")"
"$CUSTOMS" scan --db "$W/nvd.db" --format cyclonedx "$L:bookworm" >"$W/n.cdx"
jq -e '[.vulnerabilities[] | select(.id == "CVE-2024-5535") |
	.ratings[0].severity, (.properties | from_entries |
	.["customs:status"], .["customs:severity_source"])] ==
	["critical", "fix_deferred", "nvd"]' "$W/n.cdx" >/dev/null ||
	bad "cyclonedx: $(jq -c '.vulnerabilities[0]' "$W/n.cdx")"
rc=0
"$CUSTOMS" scan --db "$W/nvd.db" --fail-on critical "$L:bookworm" \
	>/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || bad "--fail-on critical should exit 1 with NVD's ratings"

[ $fail -eq 0 ] && echo "ok: 67 tracker findings as expected, DSAs merged"
exit $fail
