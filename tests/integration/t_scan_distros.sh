#!/bin/bash
# t_scan_distros.sh: images of rpm distributions whose package database is
# BerkeleyDB (RHEL/CentOS 7-8, SLES 12, Fedora < 33) or NDB (SLES 15),
# built here from the real databases in tests/data/rpmdb, scanned with
# `customs scan` against a DB imported from real distribution OSV records
# (tests/data/osv-distros).  Checks the packages found (count, epochs),
# the findings an AlmaLinux 8 image gets from AlmaLinux's records, and
# that the same packages on RHEL or Rocky get none of them; and apk images
# of Wolfi and Chainguard OS matched against their own records, not
# Alpine's.  RHEL images get Red Hat's main stream only: the real records
# here are for extended-support streams (rhel_eus:8.8, 9.2) and match no
# image that does not say it is on one.  OSes no advisory source covers
# (Amazon Linux 2023 from its real rpmdb.sqlite, Amazon Linux 2, CentOS,
# Fedora) get their inventory and a note saying so, and --fail-on cannot
# judge them (exit 4).
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
# ubi8-minimal's own content manifest (the main stream's content sets).
mkdir -p "$T/s/ubi8-icm/root/buildinfo/content_manifests"
cp "$FX/content-manifests/ubi8-minimal-container-8.5-218.json" \
	"$T/s/ubi8-icm/root/buildinfo/content_manifests/"
stage ubi8-icm $UBI8 $BDB 'ID="rhel"
VERSION_ID="8.5"
PRETTY_NAME="Red Hat Enterprise Linux 8.5 (Ootpa)"'
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

# rpm_stage NAME OS-RELEASE [EPOCH:]NAME-VERSION-RELEASE...: an image whose
# rpmdb.sqlite holds one header blob (NAME, VERSION, RELEASE, ARCH and
# EPOCH if given) per package, for advisories that name no package of the
# real databases.
rpm_stage() {
	local name=$1 d=$T/s/$1
	mkdir -p "$d/etc" "$d/var/lib/rpm"
	printf '%s\n' "$2" >"$d/etc/os-release"
	shift 2
	python3 "$ROOT/tests/integration/mkrpmdb.py" \
		"$d/var/lib/rpm/rpmdb.sqlite" "$@"
	oci_image "$L" "$name" "$d" >/dev/null
}
rpm_stage rocky-9 'ID="rocky"
VERSION_ID="9.1"' bcel-6.4.1-9.el9 curl-7.76.1-19.el9
# icm NAME FILE [JSON]: NAME's content manifest FILE under
# root/buildinfo/content_manifests, a copy of tests/data/content-manifests/
# FILE or JSON; before NAME's stage.
icm() {
	local d=$T/s/$1/root/buildinfo/content_manifests
	mkdir -p "$d"
	if [ -n "${3-}" ]; then
		printf '%s\n' "$3" >"$d/$2"
	else
		cp "$FX/content-manifests/$2" "$d/$2"
	fi
}
# RLSA-2024:3671: a module stream's release ("module+el9.4.0+20787+...");
# rubygem-pg is at its fix.  RLSA-2023:3220 on Rocky 8's firefox.
rpm_stage rocky-9-ruby 'ID="rocky"
VERSION_ID="9.4"' ruby-3.3.0-1.module+el9.4.0+20600+0f1e1a2b \
	rubygem-pg-1.5.4-1.module+el9.4.0+20787+4c237fd3
rpm_stage rocky-8-firefox 'ID="rocky"
VERSION_ID="8.7"' firefox-102.10.0-1.el8_7
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
# RHSA-2024:8709 (podman < 2:4.4.1-21.el9_2) is for the 9.2 EUS stream
# only; RHBA-2024:6202 (linux-firmware) for 8.8 EUS.  The same podman on
# AlmaLinux 9.2 is outside Red Hat's records whatever the stream.
rpm_stage rhel-9.2 'ID="rhel"
VERSION_ID="9.2"
PRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"' 2:podman-4.4.1-14.el9_2
rpm_stage rhel-8.8-firmware 'ID="rhel"
VERSION_ID="8.8"' linux-firmware-20230404-117.git2e92a49f.el8_8
rpm_stage alma-9.2 'ID="almalinux"
VERSION_ID="9.2"' 2:podman-4.4.1-14.el9_2
# The same packages on images whose content manifests say they are on the
# extended-support streams: Red Hat's guidance quotes these content sets
# (__9_DOT_2) for openshift4/ose-console-rhel9; the 8.8 ones take the
# minor release from VERSION_ID.  On the 8.6 EUS stream, 8.8's records do
# not apply.
icm rhel-9.2-eus openshift-enterprise-console-container-v4.16.0.json \
	'{"metadata":{"icm_version":1},"content_sets":["rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2","rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2"],"image_contents":[]}'
rpm_stage rhel-9.2-eus 'ID="rhel"
VERSION_ID="9.2"
PRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"' 2:podman-4.4.1-14.el9_2
icm rhel-8.8-firmware-eus rhel-els-container-8.8-1.json \
	'{"content_sets":["rhel-8-for-x86_64-baseos-eus-rpms","rhel-8-for-x86_64-appstream-eus-rpms"]}'
rpm_stage rhel-8.8-firmware-eus 'ID="rhel"
VERSION_ID="8.8"' linux-firmware-20230404-117.git2e92a49f.el8_8
icm rhel-8.6-firmware-eus rhel-els-container-8.6-1.json \
	'{"content_sets":["rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_6"]}'
rpm_stage rhel-8.6-firmware-eus 'ID="rhel"
VERSION_ID="8.6"' linux-firmware-20230404-117.git2e92a49f.el8_8
# CentOS Stream is upstream of RHEL: not matched against Red Hat's records.
rpm_stage centos-stream-9 'NAME="CentOS Stream"
ID="centos"
VERSION_ID="9"
PRETTY_NAME="CentOS Stream 9"' bash-5.1.8-9.el9
stage rhel-8.8 bdb/rhel-8.8-libuuid.Packages.xz $BDB 'ID="rhel"
VERSION_ID="8.8"
PRETTY_NAME="Red Hat Enterprise Linux 8.8 (Ootpa)"'
# Amazon Linux: 2023 from its real rpmdb.sqlite (os-release as the image
# ships it); 2 (whose BerkeleyDB is not among the fixtures) with two of its
# packages.  No OSV feed covers either (ALAS is RSS/HTML only).
d=$T/s/amazonlinux-2023
mkdir -p "$d/etc" "$d/var/lib/rpm"
xz -dc "$FX/rpmdb/sqlite/amazonlinux-2023.rpmdb.sqlite.xz" \
	>"$d/var/lib/rpm/rpmdb.sqlite" || bad "amazonlinux-2023: xz"
printf '%s\n' 'NAME="Amazon Linux"' 'VERSION="2023"' 'ID="amzn"' \
	'ID_LIKE="fedora"' 'VERSION_ID="2023"' 'PLATFORM_ID="platform:al2023"' \
	'PRETTY_NAME="Amazon Linux 2023"' >"$d/etc/os-release"
oci_image "$L" amazonlinux-2023 "$d" >/dev/null
rpm_stage amazonlinux-2 'NAME="Amazon Linux"
VERSION="2"
ID="amzn"
ID_LIKE="centos rhel fedora"
VERSION_ID="2"
PRETTY_NAME="Amazon Linux 2"' system-release-2-15.amzn2 \
	1:openssl-libs-1.0.2k-24.amzn2.0.4

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

# check IMAGE PACKAGES FINDINGS [NOTE]: the counts, and no note but NOTE
# (the one an OS no advisory source covers gets).  The table at the end
# lists every image: name, OS, packages, findings.
check() {
	local j=$T/$1.json n v
	"$CUSTOMS" scan --db "$T/vuln.db" "$L:$1" >"$j" ||
		{ bad "$1: scan exit $?"; return; }
	n=$(jq '.packages | length' "$j")
	v=$(jq '.vulnerabilities | length' "$j")
	[ "$n" = "$2" ] || bad "$1: $n packages, want $2"
	[ "$v" = "$3" ] || bad "$1: $v findings, want $3"
	jq -e --arg n "${4-}" '.notes == (if $n == "" then [] else [$n] end)' \
		"$j" >/dev/null || bad "$1: notes $(jq -c .notes "$j")"
	printf '%s\t%s\t%s\t%s\n' "$1" \
		"$(jq -r '.os | "\(.id) \(.version_id)"' "$j")" "$n" "$v" \
		>>"$T/table"
}
nosrc() { echo "no advisory source covers $1: its $2 rpm package$3 not matched"; }
other="matched against another distribution's advisories"
rebuild() { echo "$other: the $2 rpm package$3 of $1 $4 matched against Red Hat's for release ${1##* }, as a rebuild's versions track those of the distribution it rebuilds"; }
check almalinux-8 99 8
check rhel-8.0 99 0
check rocky-8 99 0
check sles-12-sp4 106 0
check sles-15.3 36 0
check fedora-26 113 0 "$(nosrc "fedora-modular 26" 113 's were')"
check centos-8 1 0 "$(rebuild "centos 8" 1 '' was)"
check ubi-7 1 0
check fedora-32 1 0 "$(nosrc "fedora 32" 1 ' was')"
check wolfi 3 2
check chainguard 3 1
check alpine 3 0 "no advisory source covers alpine 3.20.3: the vulnerability DB holds no Alpine advisories, so its 3 apk packages were not matched"
check rocky-9 2 1
check rocky-9-ruby 2 1
check rocky-8-firefox 1 1
check alma-9 1 0
check mageia-9 1 1
check sles-12 1 1
check sles-12-sp2 1 0
check rhel-9.2 1 0
check rhel-8.8-firmware 1 0
check alma-9.2 1 0
check rhel-8.8 1 0
check ubi8-icm 99 0
check rhel-9.2-eus 1 1
check rhel-8.8-firmware-eus 1 1
check rhel-8.6-firmware-eus 1 0
check centos-stream-9 1 0 "$(nosrc "centos 9" 1 ' was')"
check amazonlinux-2023 102 0 "$(nosrc "amzn 2023" 102 's were')"
check amazonlinux-2 2 0 "$(nosrc "amzn 2" 2 's were')"

# The extended-support images: Red Hat's EUS records, with their fixes;
# the content sets are in the report (os.content_sets).
jq -e '.vulnerabilities[0] | .id == "RHSA-2024:8709" and
	.package.name == "podman" and .fixed == "2:4.4.1-21.el9_2"' \
	"$T/rhel-9.2-eus.json" >/dev/null ||
	bad "rhel-9.2-eus: $(jq -c '.vulnerabilities' "$T/rhel-9.2-eus.json")"
jq -e '.os.content_sets == ["rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2",
	"rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2"]' "$T/rhel-9.2-eus.json" \
	>/dev/null || bad "rhel-9.2-eus: os $(jq -c .os "$T/rhel-9.2-eus.json")"
jq -e '.vulnerabilities[0].id == "RHBA-2024:6202"' \
	"$T/rhel-8.8-firmware-eus.json" >/dev/null || bad "rhel-8.8-firmware-eus"
jq -e '.os.content_sets | length == 2' "$T/ubi8-icm.json" >/dev/null ||
	bad "ubi8-icm: os $(jq -c .os "$T/ubi8-icm.json")"
jq -e '.os | has("content_sets") | not' "$T/rhel-9.2.json" >/dev/null ||
	bad "rhel-9.2: content sets without a manifest"

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
for x in rocky-9:RLSA-2023:0005 mageia-9:MGASA-2025-0124 sles-12:SUSE-SU-403 \
	rocky-9-ruby:RLSA-2024:3671 rocky-8-firefox:RLSA-2023:3220; do
	jq -e --arg id "${x#*:}" '.vulnerabilities[0].id == $id' \
		"$T/${x%%:*}.json" >/dev/null || bad "${x%%:*}: not ${x#*:}"
done
# The vendor's severity: CGA-224q carries a CVSS 3.1 vector (9.1).
jq -e '.vulnerabilities[] | select(.id == "CGA-224q-ccj5-2p53") |
	.severity == "critical" and .severity_source == "advisory"' "$T/wolfi.json" >/dev/null ||
	bad "CGA-224q severity: $(jq -c '.vulnerabilities[] | [.id, .severity, .severity_source]' "$T/wolfi.json")"

# The vendor's rating: AlmaLinux's and Rocky's summaries open with it
# ("Important: zlib security update"), ahead of the record's CVSS.
jq -e '.vulnerabilities[] | select(.id == "ALSA-2022:1642") |
	.severity == "high" and .severity_source == "almalinux"' \
	"$T/almalinux-8.json" >/dev/null ||
	bad "ALSA-2022:1642 severity: $(jq -c '[.vulnerabilities[] | [.id, .severity, .severity_source]]' "$T/almalinux-8.json")"
jq -e '.vulnerabilities[] | select(.id == "ALSA-2023:7877") |
	.severity == "low" and .severity_source == "almalinux"' \
	"$T/almalinux-8.json" >/dev/null || bad "ALSA-2023:7877 severity"
jq -e '.vulnerabilities[0] | .severity == "high" and .severity_source == "rocky"' \
	"$T/rocky-9.json" >/dev/null || bad "RLSA-2023:0005 severity"
# The epoch reaches the purl (rpm_stage's header).
jq -e '.packages[0].version == "2:4.4.1-14.el9_2"' "$T/rhel-9.2.json" \
	>/dev/null || bad "rhel-9.2: $(jq -c '.packages[0]' "$T/rhel-9.2.json")"

# No data for the OS is not "clean": --fail-on cannot judge (exit 4) and
# says why; a covered OS without findings passes (exit 0).
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:amazonlinux-2" \
	>/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 4 ] || bad "amazonlinux-2 --fail-on: exit $rc, want 4"
grep -q "cannot judge --fail-on critical: no advisory source covers amzn 2" \
	"$T/err" || bad "amazonlinux-2 --fail-on: $(cat "$T/err")"
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:rhel-8.8" >/dev/null
rc=$?
[ $rc -eq 0 ] || bad "rhel-8.8 --fail-on: exit $rc, want 0"
# Findings still fail first (exit 1) when the OS is covered.
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on low "$L:almalinux-8" >/dev/null
rc=$?
[ $rc -eq 1 ] || bad "almalinux-8 --fail-on low: exit $rc, want 1"

# An OS whose records the DB lacks is not clean either: Rocky Linux 9
# against a DB of AlmaLinux's records only, Alpine against this one.
"$CUSTOMS" db import --db "$T/alma.db" "$O/AlmaLinux" >"$T/import2.log" 2>&1 ||
	{ cat "$T/import2.log"; bad "db import (AlmaLinux only)"; }
"$CUSTOMS" scan --db "$T/alma.db" "$L:rocky-9" >"$T/rocky-9-alma.json" ||
	bad "rocky-9 against AlmaLinux's records: scan exit $?"
jq -e '.vulnerabilities == [] and .notes == ["no advisory source covers rocky 9.1: the vulnerability DB holds no Rocky Linux advisories, so its 2 rpm packages were not matched"]' \
	"$T/rocky-9-alma.json" >/dev/null ||
	bad "rocky-9 against AlmaLinux's records: $(jq -c .notes "$T/rocky-9-alma.json")"
"$CUSTOMS" scan --db "$T/alma.db" --fail-on critical "$L:rocky-9" \
	>/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 4 ] || bad "rocky-9 --fail-on against AlmaLinux's records: exit $rc, want 4"
grep -q "holds no Rocky Linux advisories" "$T/err" ||
	bad "rocky-9 --fail-on: $(cat "$T/err")"
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:alpine" >/dev/null 2>&1
rc=$?
[ $rc -eq 4 ] || bad "alpine --fail-on without Alpine records: exit $rc, want 4"
# CentOS Linux against Red Hat's records: judged (exit 0); CentOS Stream
# not (exit 4).
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:centos-8" >/dev/null
rc=$?
[ $rc -eq 0 ] || bad "centos-8 --fail-on: exit $rc, want 0"
"$CUSTOMS" scan --db "$T/vuln.db" --fail-on critical "$L:centos-stream-9" \
	>/dev/null 2>&1
rc=$?
[ $rc -eq 4 ] || bad "centos-stream-9 --fail-on: exit $rc, want 4"

echo "image	os	packages	findings"
cat "$T/table"
exit $fail
