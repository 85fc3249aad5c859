#!/bin/bash
# --auth basic with access rules: the Basic challenge, 401 for nobody or a
# bad password, 403 for a signed-in user the rules refuse (nothing stored,
# a refused PATCH leaves the upload untouched), the catalog filtered, mounts
# that need pull on their source, the scan endpoints, the DB import for
# admins, failed logins rate-limited (429 + Retry-After), no secret in the
# log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"

add_user alice alice-pw
add_user bob bob-pw
add_user carol carol-pw
add_user root root-pw
cat >"$TMP/access.json" <<'EOF'
{"groups": {"devs": ["alice"]},
 "rules": [
  {"users": ["group:devs"], "repositories": ["team/*", "public/*"],
   "actions": ["pull", "push", "delete"]},
  {"users": ["bob"], "repositories": ["team/*"], "actions": ["pull"]},
  {"users": ["carol"], "repositories": ["carol/*"], "actions": ["pull", "push"]},
  {"users": ["anonymous"], "repositories": ["public/*"], "actions": ["pull"]},
  {"users": ["root"], "repositories": ["*"],
   "actions": ["pull", "push", "delete", "admin"]}
 ]}
EOF
# Auth flags without --auth are refused at start, not ignored.
timeout 10 "$CUSTOMS" serve --listen 127.0.0.1:0 --data "$DATA" \
	--access "$TMP/access.json" >"$TMP/start.err" 2>&1 &&
	fail "--access without --auth started"
grep -q -- '--access needs --auth' "$TMP/start.err" ||
	fail "start error: $(cat "$TMP/start.err")"
start_server --auth basic --access "$TMP/access.json"

# Nobody, a wrong password, an unknown user: 401 with the Basic challenge.
req GET /v2/
expect 401 UNAUTHORIZED
[ "$(challenge)" = 'Basic realm="customs"' ] || fail "challenge: $(challenge)"
as alice wrong-pw
req GET /v2/
expect 401 UNAUTHORIZED
as alice alice-pw
req GET /v2/
expect 200
# No token endpoint outside token mode.
req GET /v2/_customs/token
expect 404

# alice pushes; bob pulls.
W=$TMP/w
mkdir -p "$W"
mdg=$(push_image team/app v1 "$W" app)
pdg=$(push_image public/img v1 "$W" pub)
ldg=$(jq -r '.layers[0].digest' "$W/manifest-app.json")
as bob bob-pw
req GET /v2/team/app/manifests/v1
expect 200
req GET "/v2/team/app/blobs/$ldg"
expect 200
req GET /v2/team/app/tags/list
expect 200

# Refused pushes store nothing: bob (403), anonymous (401).
before=$(store_files)
head -c 65536 /dev/urandom >"$W/blob"
bdg=$(sha256 "$W/blob")
req POST "/v2/team/app/blobs/uploads/?digest=$bdg" --data-binary "@$W/blob"
expect 403 DENIED
[ -z "$(challenge)" ] || fail "a 403 needs no challenge: $(challenge)"
req PUT /v2/team/app/manifests/v2 --data-binary "@$W/manifest-app.json" \
	-H "Content-Type: $OCI_MANIFEST"
expect 403 DENIED
req DELETE "/v2/team/app/manifests/$mdg"
expect 403 DENIED
as_anon
req POST "/v2/team/app/blobs/uploads/?digest=$bdg" --data-binary "@$W/blob"
expect 401 UNAUTHORIZED
req POST /v2/public/img/blobs/uploads/
expect 401 UNAUTHORIZED
[ "$(store_files)" = "$before" ] || fail "a refused push stored something"
as root root-pw
req HEAD "/v2/team/app/blobs/$bdg"
expect 404
req GET /v2/team/app/manifests/v2
expect 404 MANIFEST_UNKNOWN
req GET /v2/team/app/manifests/v1
expect 200

# A PATCH into alice's session by bob is refused before its body is read.
as alice alice-pw
req POST /v2/team/app/blobs/uploads/
expect 202
loc=$(upload_location)
as bob bob-pw
head -c 1048576 /dev/urandom >"$W/chunk"
req PATCH "$loc" --data-binary "@$W/chunk" \
	-H 'Content-Type: application/octet-stream'
expect 403 DENIED
as alice alice-pw
req GET "$loc"
expect 204
expect_hdr Range 0-0

# Anonymous pulls what the rules give "anonymous", nothing else.
as_anon
req GET /v2/public/img/manifests/v1
expect 200
req GET /v2/team/app/manifests/v1
expect 401 UNAUTHORIZED
req HEAD /v2/team/app/manifests/v1
expect 401

# The catalog lists what the caller may pull.
catalog() {
	req GET /v2/_catalog
	expect 200
	jq -c .repositories "$B"
}
as root root-pw
[ "$(catalog)" = '["public/img","team/app"]' ] || fail "root's catalog: $(cat "$B")"
as bob bob-pw
[ "$(catalog)" = '["public/img","team/app"]' ] || fail "bob's catalog: $(cat "$B")"
# ("anonymous" in a rule is everyone, signed in or not.)
as carol carol-pw
[ "$(catalog)" = '["public/img"]' ] || fail "carol's catalog: $(cat "$B")"
as_anon
[ "$(catalog)" = '["public/img"]' ] || fail "anonymous catalog: $(cat "$B")"
# Pages hold only what the caller may pull: no Link to a page of hidden
# names (t_catalog_auth pages through many).
as carol carol-pw
req GET '/v2/_catalog?n=1'
expect 200
[ "$(jq -c .repositories "$B")" = '["public/img"]' ] || fail "page 1: $(cat "$B")"
[ -z "$(hdr Link)" ] || fail "page 1 links to hidden names: $(hdr Link)"
req GET '/v2/_catalog?n=1&last=public/img'
expect 200
[ "$(jq -c .repositories "$B")" = '[]' ] || fail "page 2: $(cat "$B")"

# Mounts: from a repository the caller may pull, 201; from one it may not,
# or without `from`, an ordinary upload session (202) and nothing linked.
as alice alice-pw
req POST "/v2/public/img/blobs/uploads/?mount=$ldg&from=team/app"
expect 201
as carol carol-pw
req POST "/v2/carol/x/blobs/uploads/?mount=$ldg&from=team/app"
expect 202
req POST "/v2/carol/x/blobs/uploads/?mount=$ldg"
expect 202
req HEAD "/v2/carol/x/blobs/$ldg"
expect 404

# Scan reports need pull on the repository; the DB import needs admin.
as bob bob-pw
req GET "/v2/team/app/_customs/scan/$mdg"
case $STATUS in 200 | 202) ;; *) fail "bob's scan report: $STATUS $(cat "$B")" ;; esac
as carol carol-pw
req GET "/v2/team/app/_customs/scan/$mdg"
expect 403 DENIED
as_anon
req GET "/v2/team/app/_customs/scan/$mdg"
expect 401 UNAUTHORIZED
as alice alice-pw
req POST /v2/_customs/db --data-binary '{}'
expect 403 DENIED
as root root-pw
req POST /v2/_customs/db --data-binary 'not a feed'
case $STATUS in 401 | 403) fail "root may import: $STATUS $(cat "$B")" ;; esac

# Deleting needs delete.
as alice alice-pw
req DELETE "/v2/team/app/manifests/$mdg"
expect 202

# Failed logins from one address are limited: then even a good password
# waits (429 with Retry-After) and no password is checked.
n=0
while [ $n -lt 10 ]; do
	as mallory "guess-$n"
	req GET /v2/
	[ "$STATUS" = 429 ] && break
	expect 401 UNAUTHORIZED
	n=$((n + 1))
done
[ "$STATUS" = 429 ] || fail "no 429 after $n failed logins"
expect 429 TOOMANYREQUESTS
ra=$(hdr Retry-After)
[ "$ra" -gt 0 ] 2>/dev/null || fail "Retry-After: '$ra'"
as alice alice-pw
req GET /v2/
expect 429 TOOMANYREQUESTS

stop_server
# No password, no credentials header in the log.
for s in alice-pw bob-pw carol-pw root-pw guess- Authorization 'Basic '; do
	! grep -q -- "$s" "$TMP/server.log" || fail "the log holds '$s'"
done
echo "basic auth: $n failed logins before 429"
