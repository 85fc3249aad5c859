#!/bin/bash
# customs scan --vex: an OpenVEX document (the OpenVEX project's reference
# document, tests/data/openvex/go-vex-v0.2.0.json, adapted to the Alpine
# 3.10 fixture image's findings) suppresses what it says is fixed or not
# affected, for the packages it names (a purl without qualifiers matches
# the report's qualified ones), out of the counts; under_investigation is
# kept and marked.  A malformed document stops the scan.
# backend: none (`customs scan` on files: no server, no store)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scanpush_lib.sh"

sp_layout
sp_db "$TMP/vulndb.db" alpine-secdb
"$CUSTOMS" scan --db "$TMP/vulndb.db" "$L:alpine310" >"$TMP/plain.json" ||
	fail "plain scan exit $?"
jq '.statements |= [
	(.[0] | .vulnerability.name = "CVE-2020-1967" |
		.products = [{"@id": "pkg:apk/alpine/libcrypto1.1@1.1.1d-r2"}]),
	(.[3] | .vulnerability.name = "CVE-2021-28831" |
		.products = [{"@id": "pkg:apk/alpine/busybox"}]),
	(.[0] | .vulnerability.name = "CVE-2021-30139" |
		.status = "under_investigation" |
		.products = [{"@id": "pkg:apk/alpine/apk-tools"}])]' \
	"$SP_DATA/openvex/go-vex-v0.2.0.json" >"$TMP/vex.json" ||
	fail "cannot adapt the VEX document"
"$CUSTOMS" scan --db "$TMP/vulndb.db" --vex "$TMP/vex.json" "$L:alpine310" \
	>"$TMP/vex-report.json" || fail "scan --vex exit $?"

jq -e --slurpfile p "$TMP/plain.json" --arg doc "$TMP/vex.json" '
	def n(s): [.vulnerabilities[] | select(.id == s)] | length;
	($p[0] | n("CVE-2020-1967")) >= 2 and
	([.suppressed[] | [.id, .package.name, .vex.status]] | sort) ==
		[["CVE-2020-1967", "libcrypto1.1", "fixed"],
		 ["CVE-2021-28831", "busybox", "not_affected"]] and
	([.suppressed[] | select(.id == "CVE-2021-28831") |
		.vex.justification] == ["vulnerable_code_not_present"]) and
	all(.suppressed[]; .vex.document == $doc) and
	n("CVE-2020-1967") == ($p[0] | n("CVE-2020-1967")) - 1 and
	(.vulnerabilities | length) == ($p[0].vulnerabilities | length) - 2 and
	([.counts[]] | add) == (.vulnerabilities | length) and
	([.vulnerabilities[] | select(.id == "CVE-2021-30139") |
		.vex.status] == ["under_investigation"]) and
	.vex == [$doc]' "$TMP/vex-report.json" >/dev/null ||
	fail "VEX not applied as stated: $(jq -c '{suppressed: [.suppressed[]? | [.id, .package.name]], counts, vex}' "$TMP/vex-report.json")"

# A not_affected statement without justification is refused, with why.
jq '.statements[1] |= del(.justification, .impact_statement)' \
	"$TMP/vex.json" >"$TMP/bad.json"
"$CUSTOMS" scan --db "$TMP/vulndb.db" --vex "$TMP/bad.json" "$L:alpine310" \
	>/dev/null 2>"$TMP/err" && fail "a malformed VEX document was accepted"
grep -q "bad.json: statement 1: not_affected without justification" \
	"$TMP/err" || fail "error: $(cat "$TMP/err")"
