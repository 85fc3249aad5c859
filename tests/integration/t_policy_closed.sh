#!/bin/bash
# The pull policy fails closed: under --deny-severity an image is served
# only when its scan completed.  A scan that failed for good (a manifest of
# 1025 layers), an index with such a platform, a report cut short by a
# budget, a report made without a vulnerability DB, and one of an OS no
# advisory source covers are refused (403
# DENIED naming why and the report), unless the operator allows them with
# --policy-on-scan-error allow / --policy-without-db allow.  HEAD is judged
# exactly like GET: same status and headers, no body.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"

# expect_denied WHY REPO DIGEST: the last reply is 403 DENIED, its message
# names WHY and the report of DIGEST in REPO.
expect_denied() {
	local msg

	expect 403 DENIED
	msg=$(jq -r '.errors[0].message' "$B")
	case $msg in
	*"$1"*"; report: GET /v2/$2/_customs/scan/$3") ;;
	*) fail "denial message: $msg (want '$1' and the report of $3)" ;;
	esac
}

# head_like_get PATH: a HEAD of PATH has the status and headers of its GET
# (but Date), and no body: a GET /v2/ after it on the same connection is
# answered as such.
head_like_get() {
	local hs next

	req GET "$1"
	hs=$STATUS
	grep -Eiv '^(date|x-request-id):' "$H" | tr -d '\r' | sort >"$TMP/get.h"
	next=$(curl -sS -I -o /dev/null -D "$H" --max-time 120 "$URL$1" \
		--next -sS -o "$TMP/next.body" \
		-w '%{http_code} %{num_connects}' --max-time 10 "$URL/v2/") ||
		fail "HEAD $1 then GET /v2/ on one connection failed"
	STATUS=$(awk 'NR == 1 { print $2 }' "$H")
	grep -Eiv '^(date|x-request-id):' "$H" | tr -d '\r' | sort >"$TMP/head.h"
	[ "$STATUS" = "$hs" ] || fail "HEAD $1: $STATUS, GET: $hs"
	diff -u "$TMP/get.h" "$TMP/head.h" >&2 ||
		fail "HEAD $1: headers differ from GET's"
	[ "$next" = "200 0" ] && [ "$(cat "$TMP/next.body")" = "{}" ] ||
		fail "after HEAD $1: '$next' $(head -c 100 "$TMP/next.body")"
}

# push_many_layers REPO REF: debian with its layer listed 1025 times, over
# the scanner's limit of layers: the scan fails for good.  Prints the
# digest.
push_many_layers() {
	local m dg dir=$TMP/many

	mkdir -p "$dir"
	m=$(sp_manifest_file debian)
	for dg in $(jq -r '.config.digest, .layers[].digest' "$m"); do
		push_blob "$1" "$L/blobs/sha256/${dg#sha256:}" >/dev/null
	done
	jq -c '.layers = [range(1025) as $i | .layers[0]]' "$m" \
		>"$dir/manifest.json"
	push_manifest "$1" "$2" "$dir/manifest.json" "$OCI_MANIFEST"
	sha256 "$dir/manifest.json"
}

# push_big_config REPO REF: debian with a config over the scanner's 4 MiB
# limit for JSON (padded history): the scan fails for good.  Prints the
# digest.
push_big_config() {
	local m dg cfg dir=$TMP/bigcfg

	mkdir -p "$dir"
	m=$(sp_manifest_file debian)
	dg=$(jq -r '.config.digest' "$m")
	jq -c '.history = [range(50000) | {created_by: ("x" * 100)}]' \
		"$L/blobs/sha256/${dg#sha256:}" >"$dir/config.json"
	cfg=$(push_blob "$1" "$dir/config.json")
	for dg in $(jq -r '.layers[].digest' "$m"); do
		push_blob "$1" "$L/blobs/sha256/${dg#sha256:}" >/dev/null
	done
	jq -c --arg d "$cfg" --argjson s "$(stat -c %s "$dir/config.json")" \
		'.config.digest = $d | .config.size = $s' "$m" >"$dir/manifest.json"
	push_manifest "$1" "$2" "$dir/manifest.json" "$OCI_MANIFEST"
	sha256 "$dir/manifest.json"
}

# --- A scan that failed for good.
start_server --deny-severity critical --policy-wait 30
big=$(push_big_config fc/bigcfg v1)
req GET /v2/fc/bigcfg/manifests/v1
expect_denied "scan failed: blob of" fc/bigcfg "$big"
head_like_get /v2/fc/bigcfg/manifests/v1
[ "$STATUS" = 403 ] || fail "HEAD of an image whose config is too big: $STATUS"
many=$(push_many_layers fc/many v1)
deb=$(sp_push debian fc/debian v1)
# Held until the scan ends, then refused with its reason.
req GET /v2/fc/many/manifests/v1
expect_denied "scan failed: manifest has 1025 layers (limit 1024)" fc/many \
	"$many"
req GET "/v2/fc/many/manifests/$many"
expect_denied "scan failed:" fc/many "$many"
head_like_get /v2/fc/many/manifests/v1
[ "$STATUS" = 403 ] || fail "HEAD of a failed scan: $STATUS"
head_like_get "/v2/fc/many/manifests/$many"
# A complete, clean scan is served, and HEAD says so too.
req GET /v2/fc/debian/manifests/v1
expect 200
head_like_get /v2/fc/debian/manifests/v1
[ "$STATUS" = 200 ] || fail "HEAD of a served image: $STATUS"
[ "$(hdr Docker-Content-Digest)" = "$deb" ] || fail "HEAD digest"

# An index whose platform failed: its scan is incomplete.
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[
 {"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}' \
	"$OCI_INDEX" "$OCI_MANIFEST" "$many" \
	"$(stat -c %s "$TMP/many/manifest.json")" >"$TMP/index.json"
push_manifest fc/many multi "$TMP/index.json" "$OCI_INDEX"
idx=$(sha256 "$TMP/index.json")
req GET /v2/fc/many/manifests/multi
expect_denied "scan incomplete: platform linux/amd64 not scanned: manifest has 1025 layers" \
	fc/many "$idx"
req GET "/v2/fc/many/_customs/scan/$idx"
expect 200
jq -e '.status == "incomplete" and (.failed | length) == 1' "$B" \
	>/dev/null || fail "index report: $(head -c 300 "$B")"
stop_server

# The operator may serve them anyway.
start_server --deny-severity critical --policy-on-scan-error allow
req GET /v2/fc/many/manifests/v1
expect 200
[ "$(hdr Docker-Content-Digest)" = "$many" ] || fail "many digest"
rid=$(hdr X-Request-Id)
req HEAD /v2/fc/many/manifests/v1
expect 200
req GET /v2/fc/many/manifests/multi
expect 200
grep -q "scan of $many failed .*served" "$TMP/server.log" ||
	fail "serving a failed scan was not logged"
# The line names its request once, as every line of a request does.
grep -q " warn policy: scan of $many failed .*served (--policy-on-scan-error allow) request_id=$rid\$" \
	"$TMP/server.log" ||
	fail "the line does not end with its request id: $(grep "scan of $many" "$TMP/server.log" | head -1)"
stop_server

# --- Without a vulnerability DB: a warning at start, then refusals that
# say there is no vulnerability data.  A store of its own, so that no scan
# left from above delays this one.
DATA=$TMP/data-nodb
start_server --deny-severity critical --vuln-db "$TMP/none.db"
grep -q "deny-severity without a vulnerability DB" "$TMP/server.log" ||
	fail "no warning at start without a DB"
nodb=$(sp_push alpine310 nodb/alpine v1)
req GET /v2/nodb/alpine/manifests/v1
expect_denied "no vulnerability data" nodb/alpine "$nodb"
head_like_get /v2/nodb/alpine/manifests/v1
[ "$STATUS" = 403 ] || fail "HEAD without data: $STATUS"
stop_server
start_server --deny-severity critical --vuln-db "$TMP/none.db" \
	--policy-without-db allow
req GET /v2/nodb/alpine/manifests/v1
expect 200
stop_server
# --policy-on-scan-error allow is not a licence to skip the DB.
start_server --deny-severity critical --vuln-db "$TMP/none.db" \
	--policy-on-scan-error allow
req GET /v2/nodb/alpine/manifests/v1
expect_denied "no vulnerability data" nodb/alpine "$nodb"
stop_server

# --- An OS no advisory source covers (Amazon Linux 2023, its real
# rpmdb.sqlite): zero findings there is no verdict.  Refused as without
# vulnerability data, naming the OS; --policy-without-db allow serves it.
d=$TMP/stage/amzn
mkdir -p "$d/etc" "$d/var/lib/rpm"
xz -dc "$ROOT/tests/data/rpmdb/sqlite/amazonlinux-2023.rpmdb.sqlite.xz" \
	>"$d/var/lib/rpm/rpmdb.sqlite" || fail "xz"
printf '%s\n' 'ID="amzn"' 'VERSION_ID="2023"' >"$d/etc/os-release"
oci_image "$L" amzn "$d" >/dev/null
DATA=$TMP/data-nosrc
mkdir -p "$DATA"
sp_db "$DATA/vulndb.db"
start_server --deny-severity critical --policy-wait 60
amzn=$(sp_push amzn nosrc/amzn v1)
req GET /v2/nosrc/amzn/manifests/v1
expect_denied "no vulnerability data: no advisory source covers amzn 2023" \
	nosrc/amzn "$amzn"
stop_server
start_server --deny-severity critical --policy-without-db allow
req GET /v2/nosrc/amzn/manifests/v1
expect 200
stop_server

# --- A report cut short by a budget (--scan-max-file-bytes): the dpkg
# status of the Debian image (75 KiB) is over a 1 KiB budget.
incomplete_by_budget() {
	local d

	DATA=$TMP/data-cut
	mkdir -p "$DATA"
	sp_db "$DATA/vulndb.db"
	start_server --deny-severity critical --scan-max-file-bytes 1024
	d=$(sp_push debian cut/debian v1)
	sp_report cut/debian v1
	jq -e '.status == "incomplete" and
		any(.budgets[]; .budget == "file_bytes")' "$B" >/dev/null ||
		fail "1 KiB file budget: $(jq -c '{status, budgets}' "$B")"
	req GET /v2/cut/debian/manifests/v1
	expect_denied "scan incomplete: budget" cut/debian "$d"
	head_like_get /v2/cut/debian/manifests/v1
	[ "$STATUS" = 403 ] || fail "HEAD of an incomplete scan: $STATUS"
	stop_server
	start_server --deny-severity critical --scan-max-file-bytes 1024 \
		--policy-on-scan-error allow
	req GET /v2/cut/debian/manifests/v1
	expect 200
	stop_server
	# The budget raised again: a new image on the same layers reads them
	# again rather than reusing their indexes cut at 1 KiB.
	start_server --deny-severity critical
	jq -c '.annotations = {"rebuilt": "yes"}' "$(sp_manifest_file debian)" \
		>"$TMP/debian-v2.json"
	push_manifest cut/debian v2 "$TMP/debian-v2.json" "$OCI_MANIFEST"
	sp_report cut/debian v2
	jq -e '.status == "complete" and (.budgets | length) == 0' "$B" \
		>/dev/null || fail "indexes cut by a lower budget were reused: $(jq -c '{status, budgets}' "$B")"
	stop_server
}
incomplete_by_budget

# --- Pending after --policy-wait: refused, or served when allowed (last:
# these scans take a while).
# Layers are not indexed as they arrive here (--scan-layers=false): the
# scan after the PUT is the slow part, whatever the machine's speed.
start_server --deny-severity critical --policy-wait 1 --scan-layers=false
slow=$(sp_slow fc/slow v1 400)
req GET /v2/fc/slow/manifests/v1
expect_denied "still being scanned after 1 s" fc/slow "$slow"
stop_server
start_server --deny-severity critical --policy-wait 0 \
	--policy-on-scan-error allow --scan-layers=false
slow2=$(sp_slow fc/slow v2 400)
req GET /v2/fc/slow/manifests/v2
expect 200
[ "$(hdr Docker-Content-Digest)" = "$slow2" ] || fail "slow digest"
stop_server
