#!/bin/bash
# t_scan_distros.sh: images of rpm distributions whose package database is
# BerkeleyDB (RHEL/CentOS 7-8, SLES 12, Fedora < 33) or NDB (SLES 15),
# built here from the real databases in tests/data/rpmdb, scanned with
# `customs scan` against a DB imported from real distribution OSV records
# (tests/data/osv-distros).  Checks the packages found (count, epochs),
# the findings an AlmaLinux 8 image gets from AlmaLinux's records, and
# that the same packages on RHEL or Rocky get none of them; and apk images
# of Wolfi and Chainguard OS matched against their own records, not
# Alpine's.
# Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
. "$(dirname "$0")/lib.sh"
set +e # the checks below read exit statuses
need tar xz python3
FX=$ROOT/tests/data
. "$FX/images/mklayout.sh"
T=$TMP/w
mkdir -p "$T"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

O=$FX/osv-distros
"$CUSTOMS" db import --db "$T/vuln.db" "$O/AlmaLinux" "$O/RedHat" \
	"$O/RockyLinux" "$O/SUSE" "$O/Chainguard-Wolfi" "$O/Mageia" \
	>"$T/import.log" 2>&1 || { cat "$T/import.log"; bad "db import"; }

# stage NAME DB FILE OS-RELEASE: a one-layer image NAME holding FILE (the
# decompressed DB) and etc/os-release.
L=$T/layout
stage() {
	local d=$T/s/$1
	mkdir -p "$d/etc" "$d/$(dirname "$3")"
	xz -dc "$FX/rpmdb/$2" >"$d/$3" || bad "$1: xz"
	printf '%s\n' "$4" >"$d/etc/os-release"
	oci_image "$L" "$1" "$d" >/dev/null
}
BDB=var/lib/rpm/Packages
UBI8=bdb/rhel-8.0-ubi8-minimal.Packages.xz
stage almalinux-8 $UBI8 $BDB 'ID="almalinux"
VERSION_ID="8.9"
PRETTY_NAME="AlmaLinux 8.9 (Midnight Oncilla)"'
stage rhel-8.0 $UBI8 $BDB 'ID="rhel"
VERSION_ID="8.0"
PRETTY_NAME="Red Hat Enterprise Linux 8.0 (Ootpa)"'
stage rocky-8 $UBI8 $BDB 'ID="rocky"
VERSION_ID="8.9"
PRETTY_NAME="Rocky Linux 8.9 (Green Obsidian)"'
stage sles-12-sp4 bdb/sles-12-sp4.Packages.xz $BDB 'ID="sles"
VERSION_ID="12.4"
PRETTY_NAME="SUSE Linux Enterprise Server 12 SP4"'
stage sles-15.3 ndb/sle15-bci-minimal-15.3-2023.Packages.db.xz \
	var/lib/rpm/Packages.db 'ID="sles"
VERSION_ID="15.3"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP3"'
stage fedora-26 bdb/fedora-modular-26.Packages.xz $BDB \
	"$(cat "$FX/rpmdb/bdb/fedora-modular-26.os-release")"
stage centos-8 bdb/centos-8-dive.Packages.xz $BDB 'ID="centos"
VERSION_ID="8"'
stage ubi-7 bdb/ubi-7-tzdata.Packages.xz $BDB 'ID="rhel"
VERSION_ID="7.9"'
stage fedora-32 bdb/fedora-32-hello-epoch.Packages.xz $BDB 'ID=fedora
VERSION_ID=32'

# rpm_stage NAME OS-RELEASE NAME-VERSION-RELEASE...: an image whose
# rpmdb.sqlite holds one header blob (NAME, VERSION, RELEASE, ARCH) per
# package, for advisories that name no package of the real databases.
rpm_stage() {
	local name=$1 d=$T/s/$1
	mkdir -p "$d/etc" "$d/var/lib/rpm"
	printf '%s\n' "$2" >"$d/etc/os-release"
	shift 2
	python3 - "$d/var/lib/rpm/rpmdb.sqlite" "$@" <<'EOT'
import sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT,"
           " blob BLOB NOT NULL)")
for nvr in sys.argv[2:]:
    n, v, r = nvr.rsplit("-", 2)
    ent, data = b"", b""
    for tag, val in ((1000, n), (1001, v), (1002, r), (1022, "x86_64")):
        ent += struct.pack(">IIII", tag, 6, len(data), 1)
        data += val.encode() + b"\0"
    db.execute("INSERT INTO Packages (blob) VALUES (?)",
               (struct.pack(">II", 4, len(data)) + ent + data,))
db.commit()
EOT
	oci_image "$L" "$name" "$d" >/dev/null
}
rpm_stage rocky-9 'ID="rocky"
VERSION_ID="9.1"' bcel-6.4.1-9.el9 curl-7.76.1-19.el9
rpm_stage alma-9 'ID="almalinux"
VERSION_ID="9.1"' bcel-6.4.1-9.el9
rpm_stage mageia-9 'ID=mageia
VERSION_ID=9' microcode-0.20240910-1.mga9.nonfree
rpm_stage sles-12 'ID="sles"
VERSION_ID="12"
PRETTY_NAME="SUSE Linux Enterprise Server 12"' libqt4-4.8.6-6.1
rpm_stage sles-12-sp2 'ID="sles"
VERSION_ID="12.2"
PRETTY_NAME="SUSE Linux Enterprise Server 12 SP2"' libqt4-4.8.6-6.1

# apk images: Wolfi and Chainguard OS get their own ecosystems; the same
# packages on Alpine match neither.  nri-memcached-compat is a subpackage
# (origin nri-memcached); haproxy-3.0 is named by Wolfi entries only.
apk_stage() {
	local d=$T/s/$1
	mkdir -p "$d/etc" "$d/lib/apk/db"
	printf '%s\n' "$2" >"$d/etc/os-release"
	cat >"$d/lib/apk/db/installed" <<'EOT'
P:nri-memcached-compat
V:2.5.7-r0
A:x86_64
o:nri-memcached

P:haproxy-3.0
V:3.0.9-r1
A:x86_64
o:haproxy-3.0

P:syncthing
V:2.0.14-r1
A:x86_64
o:syncthing

EOT
	oci_image "$L" "$1" "$d" >/dev/null
}
apk_stage wolfi 'ID=wolfi
NAME="Wolfi"
PRETTY_NAME="Wolfi"
VERSION_ID=20230201'
apk_stage chainguard 'ID=chainguard
NAME="Chainguard"
PRETTY_NAME="Chainguard"
VERSION_ID=20230214'
apk_stage alpine 'ID=alpine
VERSION_ID=3.20.3'

# image packages findings: the counts, and no "not analysed" note.
check() {
	local j=$T/$1.json n v
	"$CUSTOMS" scan --db "$T/vuln.db" "$L:$1" >"$j" ||
		{ bad "$1: scan exit $?"; return; }
	n=$(jq '.packages | length' "$j")
	v=$(jq '.vulnerabilities | length' "$j")
	[ "$n" = "$2" ] || bad "$1: $n packages, want $2"
	[ "$v" = "$3" ] || bad "$1: $v findings, want $3"
	jq -e '.notes | length == 0' "$j" >/dev/null ||
		bad "$1: notes $(jq -c .notes "$j")"
	echo "image $1: $n packages, $v findings"
}
check almalinux-8 99 8
check rhel-8.0 99 0
check rocky-8 99 0
check sles-12-sp4 106 0
check sles-15.3 36 0
check fedora-26 113 0
check centos-8 1 0
check ubi-7 1 0
check fedora-32 1 0
check wolfi 3 2
check chainguard 3 1
check alpine 3 0
check rocky-9 2 1
check alma-9 1 0
check mageia-9 1 1
check sles-12 1 1
check sles-12-sp2 1 0

# AlmaLinux 8: exactly the (advisory, package) pairs librpm's comparison
# says are affected (the fixture's answer key), with rpm purls.
jq -r '.vulnerabilities[] | "\(.id)\t\(.package.name)"' \
	"$T/almalinux-8.json" | sort >"$T/got"
awk -F'\t' 'NR > 1 && $7 == "yes" { print $1 "\t" $3 }' \
	"$O/AlmaLinux-vs-rhel-8.0-ubi8-minimal.tsv" | sort >"$T/want"
cmp -s "$T/got" "$T/want" || bad "almalinux-8 findings: $(diff "$T/want" "$T/got")"
jq -e '.vulnerabilities[] | select(.package.name == "openssl-libs") |
	.package.version == "1:1.1.1-8.el8" and
	(.package.purl | startswith("pkg:rpm/almalinux/openssl-libs@1.1.1-8.el8?epoch=1"))' \
	"$T/almalinux-8.json" >/dev/null || bad "openssl-libs finding"
# An epoch read from BerkeleyDB reaches the version.
jq -e '.packages[0].name == "hello" and (.packages[0].version | startswith("1:"))' \
	"$T/fedora-32.json" >/dev/null || bad "fedora-32: epoch lost"

# Wolfi: CGA-2c2h (nri-memcached-compat < 2.5.7-r1) and CGA-224q
# (haproxy-3.0 < 3.0.10-r0); syncthing is at its fix.  Chainguard: only
# CGA-2c2h, whose Chainguard entries name nri-memcached-compat too.
w=$(jq -r '[.vulnerabilities[] | "\(.id):\(.package.name)"] | sort | join(" ")' \
	"$T/wolfi.json")
[ "$w" = "CGA-224q-ccj5-2p53:haproxy-3.0 CGA-2c2h-8fj5-55vx:nri-memcached-compat" ] ||
	bad "wolfi findings: $w"
c=$(jq -r '[.vulnerabilities[] | "\(.id):\(.package.name)"] | sort | join(" ")' \
	"$T/chainguard.json")
[ "$c" = "CGA-2c2h-8fj5-55vx:nri-memcached-compat" ] ||
	bad "chainguard findings: $c"
jq -e '.packages[0].ecosystem == "Wolfi" and
	(.packages[0].purl | startswith("pkg:apk/wolfi/"))' "$T/wolfi.json" \
	>/dev/null || bad "wolfi: ecosystem or purl $(jq -c '.packages[0]' "$T/wolfi.json")"
for x in rocky-9:RLSA-2023:0005 mageia-9:MGASA-2025-0124 sles-12:SUSE-SU-403; do
	jq -e --arg id "${x#*:}" '.vulnerabilities[0].id == $id' \
		"$T/${x%%:*}.json" >/dev/null || bad "${x%%:*}: not ${x#*:}"
done
# The vendor's severity: CGA-224q carries a CVSS 3.1 vector (9.1).
jq -e '.vulnerabilities[] | select(.id == "CGA-224q-ccj5-2p53") |
	.severity == "critical" and .severity_source == "advisory"' "$T/wolfi.json" >/dev/null ||
	bad "CGA-224q severity: $(jq -c '.vulnerabilities[] | [.id, .severity, .severity_source]' "$T/wolfi.json")"

exit $fail
