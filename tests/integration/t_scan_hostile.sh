#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# t_scan_hostile.sh: the adversarial corpus of tests/data/hostile/gen
# through `customs scan`: inventory bombs (hard links, status.d hard links,
# 200k package.json files), gzip and zstd ratio bombs, a layer listed 1000
# times, hostile rpm databases (a VIEW over an endless CTE, WITHOUT ROWID, a
# trigger, a huge blob), costly lockfiles, a padded dpkg status, and an
# index with one bomb platform.  Each scan must end with the outcome the
# corpus README gives (complete, or incomplete naming the budget), within
# its deadline, and in modest memory.  Exit 0 pass, 1 fail, 77 skip.
# backend: none (`customs scan` on files: no server, no store)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CUSTOMS=$BUILD/customs
for tool in jq python3; do
	command -v $tool >/dev/null || { echo "skip: $tool missing"; exit 77; }
done
[ -x "$CUSTOMS" ] || { echo "skip: $CUSTOMS not built"; exit 77; }
[ -x /usr/bin/time ] || { echo "skip: /usr/bin/time missing (GNU time)"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

python3 "$ROOT/tests/data/hostile/gen" "$T/c" || { echo "FAIL: gen"; exit 1; }

# Every scan gets this deadline and must end by it, give or take writing
# the report (a bound, not a speed test); peak RSS in KiB must stay under MAXRSS (the sanitizers
# roughly double what a plain build uses).
DEADLINE=60
MAXRSS=200000
case $BUILD in *asan*) MAXRSS=600000 ;; esac

# hscan CASE [FLAGS...]: scans; sets $rc; out.json holds the report.
hscan() {
	local c=$1 secs rss
	shift
	/usr/bin/time -f '%e %M' -o time.txt "$CUSTOMS" scan \
		--scan-deadline $DEADLINE "$@" "c/$c" >out.json 2>err.txt
	rc=$?
	read -r secs rss < <(tail -1 time.txt)
	echo "$c $*: exit $rc, ${secs}s, ${rss} KiB"
	[ $rc -lt 128 ] || bad "$c: died with status $rc: $(tail -3 err.txt)"
	# The deadline is checked between blocks: allow writing the report.
	awk -v s="$secs" -v d=$DEADLINE 'BEGIN { exit !(s <= d + 5) }' ||
		bad "$c: took ${secs}s, past its ${DEADLINE}s deadline"
	[ "${rss:-0}" -lt "${HSCAN_MAXRSS:-$MAXRSS}" ] ||
		bad "$c: peak RSS ${rss} KiB"
}
# The scan is complete (exit 0).
complete() {
	[ $rc -eq 0 ] && jq -e '.status == "complete" and (has("budgets") | not)' \
		out.json >/dev/null || bad "$1: not complete (exit $rc): $(jq -c .budgets out.json)"
}
# The scan is incomplete (exit 3) and budget $2 was hit.
budget() {
	[ $rc -eq 3 ] || bad "$1: exit $rc, want 3"
	jq -e --arg b "$2" '.status == "incomplete" and
		any(.budgets[]; .budget == $b)' out.json >/dev/null ||
		bad "$1: budget $2 not reported: $(jq -c '[.status, .budgets]' out.json)"
}
count() { # ECOSYSTEM -> packages of it in the report
	jq --arg e "$1" '[.packages[] | select(.ecosystem == $e)] | length' out.json
}
note() { jq -e --arg s "$1" 'any(.notes[]; contains($s))' out.json >/dev/null; }

# 1. Hard-link inventory bombs: each package once.
hscan hardlink-lock
complete hardlink-lock
[ "$(count npm)" -eq 2000 ] || bad "hardlink-lock: $(count npm) npm packages, want 2000"
hscan statusd-hardlink
complete statusd-hardlink
[ "$(count Debian)" -eq 300 ] || bad "statusd-hardlink: $(count Debian) packages, want 300"

# 2. 200k distinct package.json files: the inventory budget.
hscan many-pkgjson
budget many-pkgjson packages
[ "$(count npm)" -le 20000 ] || bad "many-pkgjson: $(count npm) packages"
hscan many-pkgjson --max-layer-entries 1000
budget many-pkgjson layer_entries

# 3. Ratio bombs, and the byte budgets with the ratio off.
hscan gzip-bomb
budget gzip-bomb ratio
hscan gzip-bomb --max-ratio 0 --max-layer-bytes 256M
budget gzip-bomb layer_bytes
hscan gzip-bomb --max-ratio 0 --max-image-bytes 128M
budget gzip-bomb image_bytes
hscan zstd-bomb
budget zstd-bomb ratio
# 100 GiB of zeros cannot be read in 2 s: the deadline ends the scan.
DEADLINE=2 hscan zstd-bomb --max-ratio 0 --max-layer-bytes 0 --max-image-bytes 0
budget zstd-bomb deadline

# 4. One layer listed 1000 times is read once.
hscan repeated-layer
complete repeated-layer
note "listed 1000 times; read once" || bad "repeated-layer: no note"
[ "$(count Debian)" -eq 20 ] || bad "repeated-layer: $(count Debian) packages"

# 5. Image-supplied rpm databases.
hscan rpm-view
complete rpm-view
note "Packages is not a table" || bad "rpm-view: no note"
for c in rpm-without-rowid rpm-trigger; do
	hscan $c
	complete $c
	[ "$(count RPM)" -eq 1 ] || bad "$c: $(count RPM) rpm packages, want 1"
done
# The 80 MiB row compresses too well for the ratio budget: turn it off so
# that the database reaches sqlite, whose length limit stops the read.
HSCAN_MAXRSS=$((MAXRSS * 2)) hscan rpm-hugeblob --max-ratio 0
budget rpm-hugeblob file_bytes
[ "$(count RPM)" -eq 1 ] || bad "rpm-hugeblob: the row before the blob was lost"

# 6. Lockfiles too costly to parse, and a padded dpkg status.
hscan npm-deep
budget npm-deep file_bytes
hscan npm-huge
budget npm-huge file_bytes
hscan dpkg-padded
budget dpkg-padded file_bytes
jq -e 'any(.budgets[]; .budget == "file_bytes" and
	(.detail | startswith("var/lib/dpkg/status")))' out.json >/dev/null ||
	bad "dpkg-padded: the status file is not named"

# 7. An index is incomplete when one platform is; the table says so.
hscan index-bomb
[ $rc -eq 3 ] || bad "index-bomb: exit $rc, want 3"
jq -e '.status == "incomplete" and .manifests[0].status == "complete" and
	.manifests[1].status == "incomplete" and
	.manifests[1].budgets[0].budget == "ratio"' out.json >/dev/null ||
	bad "index-bomb: $(jq -c '[.status, [.manifests[].status]]' out.json)"
"$CUSTOMS" scan --format table c/index-bomb >table.txt 2>/dev/null
grep -q "Status:   INCOMPLETE" table.txt || bad "index-bomb: the table does not say incomplete"

# 8. Bad budget values are usage errors.
"$CUSTOMS" scan --max-ratio ten c/rpm-view >/dev/null 2>&1
[ $? -eq 2 ] || bad "--max-ratio ten accepted"

[ $fail -eq 0 ] && echo "ok: every hostile image ends with its outcome, in time and memory"
exit $fail
