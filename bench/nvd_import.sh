#!/usr/bin/env bash
# bench/nvd_import.sh [--records N] [--keep DIR]: import time and peak RSS
# of `customs db import nvd=FILE` for a full-size NVD CVE 2.0 year feed.
#
# The feed is synthetic, made from the test fixture's 91 real records
# (tests/data/feeds/nvd/records): each copy gets a new CVE id, a later
# lastModified, and the configurations (CPE matches) and references a real
# record has but the trimmed fixture records lack, so that N records
# (default 20000) weigh what a real year does (~330 MB uncompressed, Jackson
# layout like NVD's own files).  Both the gzip'd file (as NVD publishes it)
# and the plain one are imported, each with /usr/bin/time -v; the figures
# go to standard output.  Needs python3, gzip and GNU time.
#
# Environment: BUILD (default build), CUSTOMS (the binary), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
CUSTOMS=${CUSTOMS:-$root/$BUILD/customs}
N=20000
KEEP=

while [ $# -gt 0 ]; do
	case $1 in
	--records) N=${2:?--records needs a number}; shift ;;
	--keep) KEEP=${2:?--keep needs a directory}; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	*) echo "bench/nvd_import.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "bad --records $N" >&2; exit 2; }
[ -x "$CUSTOMS" ] || { echo "no $CUSTOMS (make all)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time missing (apt-get install time)" >&2; exit 2; }

T=${KEEP:-$(mktemp -d)}
mkdir -p "$T"
[ -n "$KEEP" ] || trap 'rm -rf "$T"' EXIT

if [ ! -s "$T/feed.json" ]; then
	python3 - "$N" "$root/tests/data/feeds/nvd/records" >"$T/feed.json" <<'EOF'
import glob, json, sys

n, src = int(sys.argv[1]), sys.argv[2]
recs = [json.load(open(p)) for p in sorted(glob.glob(src + "/*.json"))]

def cpe(i, k):
    return {"vulnerable": True,
            "criteria": "cpe:2.3:a:vendor%d:product%d:*:*:*:*:*:*:*:*" % (i, k),
            "versionStartIncluding": "1.%d.0" % k,
            "versionEndExcluding": "1.%d.%d" % (k, i % 97),
            "matchCriteriaId": "%08X-0000-4000-8000-%012X" % (i, k)}

out = sys.stdout
out.write('{\n  "resultsPerPage" : %d,\n  "startIndex" : 0,\n'
          '  "totalResults" : %d,\n  "format" : "NVD_CVE",\n'
          '  "version" : "2.0",\n  "timestamp" : "2026-12-01T00:00:00.000",\n'
          '  "vulnerabilities" : [ ' % (n, n))
for i in range(n):
    r = dict(recs[i % len(recs)])
    r["id"] = "CVE-2026-%d" % (100000 + i)
    r["lastModified"] = "2026-11-%02dT12:00:00.000" % (1 + i % 28)
    r["configurations"] = [{"nodes": [{"operator": "OR", "negate": False,
        "cpeMatch": [cpe(i, k) for k in range(40)]}]}]
    r["references"] = [{"url": "https://example.org/advisories/%d/%d" % (i, k),
                        "source": "cve@mitre.org",
                        "tags": ["Third Party Advisory"]} for k in range(15)]
    text = json.dumps({"cve": r}, indent=2, ensure_ascii=False,
                      separators=(",", " : "))
    out.write(("" if i == 0 else ", ") + text)
out.write(" ]\n}\n")
EOF
fi
[ -s "$T/feed.json.gz" ] || gzip -1 -c "$T/feed.json" >"$T/feed.json.gz"

size_mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "feed: $N records, $(size_mb "$T/feed.json") MiB plain, $(size_mb "$T/feed.json.gz") MiB gzip'd"
for f in feed.json.gz feed.json; do
	rm -f "$T/nvd.db"
	/usr/bin/time -v "$CUSTOMS" db import --db "$T/nvd.db" "nvd=$T/$f" \
		>"$T/import.log" 2>"$T/time.log" ||
		{ cat "$T/import.log" "$T/time.log" >&2; exit 1; }
	rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$T/time.log")
	wall=$(awk -F': ' '/Elapsed \(wall/ { print $2 }' "$T/time.log")
	cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 }
		END { printf "%.1f", u + s }' "$T/time.log")
	printf '%-13s wall %s, cpu %s s, peak RSS %.1f MiB, DB %s MiB\n' \
		"$f" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
		"$(size_mb "$T/nvd.db")"
done
