#!/usr/bin/env bash
# bench/tracker_import.sh [SIZE_MB] [DESC]: imports a synthetic Debian
# Security Tracker JSON of SIZE_MB (default 80, the real feed's size) with
# `customs db import debian-tracker=FILE` under /usr/bin/time -v and
# prints the wall time, the peak RSS (the import streams: it must stay
# under 64 MiB whatever the size), the rows stored and the DB's size.
# DESC: share of records with a description (gen_tracker.py --desc).
# Environment: BUILD, CUSTOMS, TMPDIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CUSTOMS=${CUSTOMS:-$root/$BUILD/customs}
size=${1:-80}
desc=${2:-1.0}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 "$here/gen_tracker.py" --size "$size" --desc "$desc" "$T/tracker.json"
/usr/bin/time -v "$CUSTOMS" db import --db "$T/vuln.db" \
	debian-tracker="$T/tracker.json" >"$T/out" 2>"$T/time"
rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$T/time")
wall=$(awk -F': ' '/Elapsed \(wall/ { print $2 }' "$T/time")
printf 'input      %s MB (descriptions in %s of records)\n' "$size" "$desc"
printf 'records    %s\n' "$(sed -n 's/^imported \([0-9]*\) records.*/\1/p' "$T/out")"
printf 'wall       %s\n' "$wall"
printf 'peak RSS   %s KiB (%s)\n' "$rss" \
	"$([ "$rss" -lt 65536 ] && echo 'under 64 MiB' || echo 'OVER 64 MiB')"
printf 'DB         %s bytes\n' "$(stat -c %s "$T/vuln.db")"
