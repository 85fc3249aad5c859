#!/bin/bash
# GET /v2/_catalog?n= pages only through the names the caller may pull:
# walking the Link headers with several page sizes, signed in and
# anonymous, never shows a forbidden name in a body or a Link, every page
# with a Link is full, and the pages put together are the caller's whole
# catalog.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"

add_user alice alice-pw
add_user root root-pw
cat >"$TMP/access.json" <<'EOF'
{"rules": [
  {"users": ["alice"], "repositories": ["*/team"], "actions": ["pull"]},
  {"users": ["anonymous"], "repositories": ["*/open"], "actions": ["pull"]},
  {"users": ["root"], "repositories": ["*"], "actions": ["pull", "push"]}
 ]}
EOF
start_server --auth basic --access "$TMP/access.json"

# Names the callers may pull sit between ones they may not, and runs of
# hidden names fill whole batches (more than a page of the largest n, and
# more than storage's batch of 100) between them.
names=()
for i in $(seq -f %02g 0 7); do
	names+=("p$i/open" "p$i/secret" "p$i/team")
done
for i in $(seq -w 0 100); do names+=("q$i/secret"); done
names+=("r0/open" "r0/team")
for i in 0 1 2; do names+=("s$i/secret"); done

as root root-pw
W=$TMP/w
mkdir -p "$W"
m=$(make_image "$W" one)
for n in "${names[@]}"; do
	push_blob "$n" "$W/config-one.json" >/dev/null
	push_blob "$n" "$W/layer-one.tar.gz" >/dev/null
	push_manifest "$n" v1 "$m" "$OCI_MANIFEST"
done

# walk N: the names of every page of n=N, one a line; checks each page.
walk() {
	local n=$1 path="/v2/_catalog?n=$1" link last count pages=0

	while :; do
		req GET "$path"
		expect 200
		jq -r '.repositories[]' "$B" >>"$TMP/walk"
		count=$(jq '.repositories | length' "$B")
		[ "$count" -le "$n" ] || fail "n=$n: page of $count"
		link=$(hdr Link)
		[ -n "$link" ] || break
		[ "$count" -eq "$n" ] ||
			fail "n=$n: a page of $count links on: $link"
		last=$(printf '%s' "$link" | sed -nE 's/.*[?&]last=([^&>]*).*/\1/p')
		echo "$last" >>"$TMP/links"
		path=$(printf '%s' "$link" | sed -nE 's/^<([^>]*)>.*/\1/p')
		pages=$((pages + 1))
		[ "$pages" -lt 200 ] || fail "n=$n: no end of pages"
	done
}

# check WHO PATTERN N...: pages of each size N give WHO exactly the names
# matching PATTERN (a grep -E), in order, in bodies and Links alike.
check() {
	local who=$1 pat=$2 n

	shift 2
	printf '%s\n' "${names[@]}" | grep -E "$pat" | LC_ALL=C sort >"$TMP/want"
	req GET /v2/_catalog
	expect 200
	jq -r '.repositories[]' "$B" >"$TMP/all"
	diff -u "$TMP/want" "$TMP/all" >&2 || fail "$who: whole catalog"
	for n in "$@"; do
		: >"$TMP/walk"
		: >"$TMP/links"
		walk "$n"
		diff -u "$TMP/want" "$TMP/walk" >&2 ||
			fail "$who: pages of $n differ from the catalog"
		if grep -vE "$pat" "$TMP/links" >&2; then
			fail "$who: a Link names a repository it may not pull"
		fi
	done
	echo "ok: $who pages through $(wc -l <"$TMP/want") names"
}

as alice alice-pw
# ("anonymous" in a rule is everyone, signed in or not.)
check alice '/(team|open)$' 1 2 3 7 200
as_anon
check anonymous '/open$' 1 2 3 7 200
as root root-pw
check root '.' 7 200
# A page that starts among hidden names goes on to the next visible one.
as_anon
req GET '/v2/_catalog?n=1&last=p07/secret'
expect 200
[ "$(jq -c .repositories "$B")" = '["r0/open"]' ] ||
	fail "after hidden names: $(cat "$B")"
[ -z "$(hdr Link)" ] || fail "a Link after the last open name: $(hdr Link)"
