# ui_lib.sh: sourced (after lib.sh, auth_lib.sh and scanpush_lib.sh) by
# tests/integration/t_ui*.sh.
#
#   ui_setup   users alice (pull on team/*) and root (everything), a
#              server with --auth basic and the fixture DB, and as root:
#              team/app:v1 (alpine 3.10), team/app:v2 (debian), other/secret:v1
#              (npm), their reports in $TMP/alp.json and $TMP/deb.json;
#              $alp, $deb, $npm are their digests
#   ui_index TAG
#              pushes to team/app an index of v1 (linux/amd64) and v2
#              (linux/arm64) as TAG and waits for its report; $idx is its
#              digest
#   ui_settle  waits for the scan queue to be idle

ui_setup() {
	sp_layout
	sp_db "$TMP/vulndb.db"
	mkdir -p "$DATA"
	cp "$TMP/vulndb.db" "$DATA/vulndb.db"
	add_user alice alice-pw
	add_user root root-pw
	cat >"$TMP/access.json" <<'JSON'
{"rules": [
  {"users": ["alice"], "repositories": ["team/*"], "actions": ["pull"]},
  {"users": ["root"], "repositories": ["*"], "actions": ["pull", "push", "admin"]}
 ]}
JSON
	start_server --scan-workers 2 --auth basic --access "$TMP/access.json"

	as root root-pw
	alp=$(sp_push alpine310 team/app v1)
	deb=$(sp_push debian team/app v2)
	npm=$(sp_push npm other/secret v1)
	sp_report team/app v1
	cp "$B" "$TMP/alp.json"
	sp_report team/app v2
	cp "$B" "$TMP/deb.json"
	sp_report other/secret v1
	sp_same_findings "$TMP/deb.json" debian-bookworm-minbase
	sp_same_findings "$TMP/alp.json" alpine-3.10.4
	ui_settle
}

# ui_settle: waits until no scan job is queued or running (a report is
# there before its job is done: the SBOM referrers follow it).
ui_settle() {
	req GET /v2/_customs/db
	sp_wait_idle "$(jq -r .version "$B")"
}

ui_index() {
	jq -n --arg it "$OCI_INDEX" --arg mt "$OCI_MANIFEST" \
		--arg a "$alp" --argjson an "$(stat -c %s "$(sp_manifest_file alpine310)")" \
		--arg d "$deb" --argjson dn "$(stat -c %s "$(sp_manifest_file debian)")" '
		def child($dg; $n; $arch): {mediaType: $mt, digest: $dg, size: $n,
			platform: {architecture: $arch, os: "linux"}};
		{schemaVersion: 2, mediaType: $it,
		 manifests: [child($a; $an; "amd64"), child($d; $dn; "arm64")]}' \
		>"$TMP/index.json"
	push_manifest team/app "$1" "$TMP/index.json" "$OCI_INDEX"
	idx=$(sha256 "$TMP/index.json")
	sp_report team/app "$1"
	ui_settle
}
