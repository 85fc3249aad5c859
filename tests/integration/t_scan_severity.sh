#!/bin/bash
# t_scan_severity.sh: `customs scan` rates findings as users expect: the
# distribution's own rating first (Ubuntu's priority), else NVD's CVSS of
# the CVE the advisory names, else the advisory's own; --severity-source
# nvd puts NVD first.  The DB holds the NVD fixture feed (tests/data/feeds,
# imported as nvd=FILE), real Ubuntu OSV records and two records written
# here; checked in the JSON, table and CycloneDX outputs and --fail-on.
# Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
. "$(dirname "$0")/lib.sh"
set +e # the checks below read exit statuses
need tar gzip
FX=$ROOT/tests/data
. "$FX/images/mklayout.sh"
T=$TMP/w
mkdir -p "$T"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# Two records of our own for Debian 12's zlib: one names CVE-2023-45853
# (NVD: 9.8 critical, beside CISA-ADP's 8.8) and has no rating of its
# own; one names a CVE NVD does not know and rates itself (CVSS 5.3).
mkdir -p "$T/osv"
cat >"$T/osv/TEST-ZLIB-1.json" <<'EOF'
{"id": "TEST-ZLIB-1", "modified": "2025-01-01T00:00:00Z",
 "aliases": ["CVE-2023-45853"], "summary": "zlib MiniZip overflow",
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}
EOF
cat >"$T/osv/TEST-ZLIB-2.json" <<'EOF'
{"id": "TEST-ZLIB-2", "modified": "2025-01-01T00:00:00Z",
 "aliases": ["CVE-2099-0002"],
 "severity": [{"type": "CVSS_V3",
   "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}],
 "affected": [{"package": {"ecosystem": "npm", "name": "zlib"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]},
  {"package": {"ecosystem": "Debian:12", "name": "zlib"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}
EOF
F=$FX/feeds
"$CUSTOMS" db import --db "$T/vuln.db" "$T/osv" "$F/ubuntu-osv/canonical" \
	"nvd=$F/nvd/nvdcve-2.0-fixture.json.gz" >"$T/import.log" 2>&1 ||
	{ cat "$T/import.log"; bad "db import"; exit 1; }
"$CUSTOMS" db status --db "$T/vuln.db" | grep -q "NVD CVEs: *90" ||
	bad "db status does not count 90 NVD CVEs"

# Images: the Debian fixture, and an Ubuntu 22.04 one with sqlite3.
fixture_stage "$FX/images/debian-bookworm-minbase" "$T/s/debian"
mkdir -p "$T/s/ubuntu/etc" "$T/s/ubuntu/var/lib/dpkg"
cat >"$T/s/ubuntu/etc/os-release" <<'EOF'
NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
VERSION_CODENAME=jammy
PRETTY_NAME="Ubuntu 22.04.5 LTS"
EOF
cat >"$T/s/ubuntu/var/lib/dpkg/status" <<'EOF'
Package: libsqlite3-0
Status: install ok installed
Architecture: amd64
Source: sqlite3
Version: 3.37.2-2ubuntu0.3
Description: SQLite 3 shared library

EOF
L=$T/layout
oci_image "$L" debian "$T/s/debian" >/dev/null
oci_image "$L" ubuntu "$T/s/ubuntu" >/dev/null

scan() { "$CUSTOMS" scan --db "$T/vuln.db" "$@"; }

# JSON: NVD's rating through the CVE alias; the advisory's own when NVD
# has nothing; the CVSS ratings known listed with their source.
scan "$L:debian" >"$T/debian.json" || bad "debian: scan exit $?"
jq -e '.vulnerabilities[] | select(.id == "TEST-ZLIB-1") |
	.severity == "critical" and .severity_source == "nvd" and
	.cvss[0].source == "nvd" and .cvss[0].cve == "CVE-2023-45853" and
	.cvss[0].score == 9.8 and .cvss[0].assigner == "nvd@nist.gov" and
	.cvss[0].version == "3.1"' "$T/debian.json" >/dev/null ||
	bad "TEST-ZLIB-1: not critical from NVD: $(jq -c '.vulnerabilities[] |
		select(.id == "TEST-ZLIB-1") | [.severity, .severity_source, .cvss]' \
		"$T/debian.json")"
jq -e '.vulnerabilities[] | select(.id == "TEST-ZLIB-2") |
	.severity == "medium" and .severity_source == "advisory" and
	.cvss == [{"version": "3.1", "score": 5.3, "severity": "medium",
		"source": "advisory",
		"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}]' \
	"$T/debian.json" >/dev/null || bad "TEST-ZLIB-2: not medium from the advisory"
jq -e '.counts.critical >= 1' "$T/debian.json" >/dev/null ||
	bad "debian: counts do not include the critical"

# Ubuntu: the priority first (medium), NVD's 5.5 listed beside it.
scan "$L:ubuntu" >"$T/ubuntu.json" || bad "ubuntu: scan exit $?"
jq -e '.vulnerabilities[] | select(.id == "UBUNTU-CVE-2025-29088") |
	.severity == "medium" and .severity_source == "ubuntu" and
	(.aliases | index("CVE-2025-29088")) and
	any(.cvss[]; .source == "nvd" and .score == 5.5)' "$T/ubuntu.json" \
	>/dev/null || bad "UBUNTU-CVE-2025-29088: not Ubuntu's medium"
# ... and its priority is kept where NVD has no record.
jq -e '.vulnerabilities[] | select(.id == "UBUNTU-CVE-2025-6965") |
	.severity == "medium" and .severity_source == "ubuntu"' \
	"$T/ubuntu.json" >/dev/null || bad "UBUNTU-CVE-2025-6965: not Ubuntu's medium"

# --severity-source nvd: NVD's rating wherever it has one.
scan --severity-source nvd "$L:ubuntu" >"$T/ubuntu-nvd.json" ||
	bad "ubuntu nvd: scan exit $?"
jq -e '.vulnerabilities[] | select(.id == "UBUNTU-CVE-2025-29088") |
	.severity == "medium" and .severity_source == "nvd"' \
	"$T/ubuntu-nvd.json" >/dev/null || bad "--severity-source nvd: not NVD's"
jq -e '.vulnerabilities[] | select(.id == "UBUNTU-CVE-2025-6965") |
	.severity_source == "ubuntu"' "$T/ubuntu-nvd.json" >/dev/null ||
	bad "--severity-source nvd: no NVD data should leave Ubuntu's"
scan --severity-source cvss "$L:ubuntu" >/dev/null 2>&1
[ $? -eq 2 ] || bad "--severity-source cvss should be a usage error"

# Table: severity and whose it is.
scan --format table "$L:debian" >"$T/debian.txt" || bad "table exit $?"
grep -Eq '^critical +nvd +TEST-ZLIB-1 ' "$T/debian.txt" ||
	bad "table: no 'critical nvd TEST-ZLIB-1' row"
grep -Eq '^medium +advisory +TEST-ZLIB-2 ' "$T/debian.txt" ||
	bad "table: no 'medium advisory TEST-ZLIB-2' row"
scan --format table "$L:ubuntu" | grep -Eq '^medium +ubuntu +UBUNTU-CVE-2025-29088 ' ||
	bad "table: no 'medium ubuntu' row"

# CycloneDX: the rating the severity comes from first, with its source
# and method; the others after it.
scan --format cyclonedx "$L:debian" >"$T/bom.json" || bad "cyclonedx exit $?"
jq -e '.vulnerabilities[] | select(.id == "TEST-ZLIB-1") |
	.ratings[0].severity == "critical" and .ratings[0].source.name == "NVD" and
	.ratings[0].method == "CVSSv31" and .ratings[0].score == 9.8 and
	(.properties[] | select(.name == "customs:severity_source") |
		.value == "nvd")' "$T/bom.json" >/dev/null ||
	bad "cyclonedx: TEST-ZLIB-1 ratings"
scan --format cyclonedx "$L:ubuntu" >"$T/bom-u.json" || bad "cyclonedx exit $?"
jq -e '.vulnerabilities[] | select(.id == "UBUNTU-CVE-2025-29088") |
	.ratings[0].severity == "medium" and .ratings[0].source.name == "ubuntu" and
	.ratings[0].method == "other" and
	any(.ratings[1:][]; .source.name == "NVD" and .score == 5.5)' \
	"$T/bom-u.json" >/dev/null || bad "cyclonedx: Ubuntu's rating first"

# --fail-on reads the same severity.
scan --fail-on critical "$L:debian" >/dev/null
[ $? -eq 1 ] || bad "--fail-on critical should exit 1 on the NVD critical"
scan --fail-on high "$L:ubuntu" >/dev/null
[ $? -eq 0 ] || bad "--fail-on high should exit 0 on Ubuntu's mediums"

[ $fail -eq 0 ] && echo "ok: severities from the vendor, NVD and the advisory"
exit $fail
