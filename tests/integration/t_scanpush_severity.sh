#!/bin/bash
# serve --severity-source: the registry rates findings as `customs scan`
# does, and the report, its referrer's counts and --deny-severity follow.
# One advisory of Debian's zlib carries Debian's urgency "low" and names
# CVE-2023-45853, which NVD rates 9.8 critical: by default Debian's rating
# wins and a pull under --deny-severity critical is served; with
# --severity-source nvd the finding is critical and the pull refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$TMP/osv"
cat >"$TMP/osv/TEST-ZLIB-3.json" <<'EOF'
{"id": "TEST-ZLIB-3", "modified": "2025-01-01T00:00:00Z",
 "aliases": ["CVE-2023-45853"],
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
   "ecosystem_specific": {"urgency": "low"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}
EOF
"$CUSTOMS" db import --db "$TMP/vuln.db" "$TMP/osv" \
	"nvd=$SP_DATA/feeds/nvd/nvdcve-2.0-fixture.json.gz" \
	>"$TMP/import.log" 2>&1 || fail "db import: $(cat "$TMP/import.log")"

# check SOURCE SEVERITY PULL_STATUS [serve flags]: a fresh registry.
check() {
	local src=$1 sev=$2 pull=$3 dg
	shift 3
	fresh_store
	mkdir -p "$DATA"
	start_server --vuln-db "$TMP/vuln.db" --deny-severity critical \
		--policy-wait 30 "$@"
	dg=$(sp_push debian sev/debian v1)
	sp_report sev/debian "$dg"
	jq -e --arg src "$src" --arg sev "$sev" '.vulnerabilities[] |
		select(.id == "TEST-ZLIB-3") | .severity == $sev and
		.severity_source == $src and
		any(.cvss[]; .source == "nvd" and .score == 9.8)' "$B" \
		>/dev/null || fail "$*: report: $(jq -c '.vulnerabilities[] |
			select(.id == "TEST-ZLIB-3") | [.severity,
			.severity_source]' "$B")"
	req GET "/v2/sev/debian/referrers/$dg$SP_RT"
	jq -e --arg sev "$sev" \
		'.manifests[0].annotations["dev.customs.scan." + $sev] == "1"' \
		"$B" >/dev/null || fail "$*: referrer counts: $(cat "$B")"
	req GET /v2/sev/debian/manifests/v1
	expect "$pull"
	stop_server
}

check debian low 200
check nvd critical 403 --severity-source nvd
echo "ok: serve rates by the vendor, or by NVD with --severity-source nvd"
