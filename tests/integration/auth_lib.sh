# auth_lib.sh: sourced after lib.sh by the t_auth*.sh and t_tls*.sh tests.
#
#   add_user NAME PASSWORD    customs user add, into $DATA/htpasswd
#   as NAME PASSWORD | as_bearer TOKEN | as_anon | as_cert CERT KEY
#                             the credentials every later curl of lib.sh
#                             (req, push_image...) sends: a .curlrc in
#                             $CURL_HOME, so the helpers need no change;
#                             $CURLRC_BASE (e.g. a cacert line) goes first
#   get_token [curl args] -- SCOPE...
#                             a token from our endpoint (GET with the curl
#                             args, e.g. -u alice:pw); prints it
#   jwt ALG KEY HEADER CLAIMS a compact JWS made with openssl: ES256 and
#                             RS256 with a PEM private key, HS256 with the
#                             bytes of a file as the secret, or none
#   claims SUB AUD ISS TTL ACCESS
#                             a claim set; TTL seconds from now (negative:
#                             expired), ACCESS the JSON access array
#   jwt_part TOKEN N          part N of a JWS decoded (1 header, 2 claims)
#   challenge                 the last reply's WWW-Authenticate
#   store_files               blobs and upload data in the store (nothing
#                             stored: the count does not change)

need openssl
export CURL_HOME=$TMP/curl
mkdir -p "$CURL_HOME"
: >"$CURL_HOME/.curlrc"
CURLRC_BASE=

add_user() {
	mkdir -p "$DATA"
	printf '%s' "$2" | "$CUSTOMS" user add "$1" --data "$DATA" \
		>/dev/null 2>&1 || fail "customs user add $1"
}

as() {
	printf '%suser = "%s:%s"\n' "$CURLRC_BASE" "$1" "$2" >"$CURL_HOME/.curlrc"
}

as_bearer() {
	printf '%sheader = "Authorization: Bearer %s"\n' "$CURLRC_BASE" "$1" \
		>"$CURL_HOME/.curlrc"
}

as_anon() {
	printf '%s' "$CURLRC_BASE" >"$CURL_HOME/.curlrc"
}

as_cert() {
	printf '%scert = "%s"\nkey = "%s"\n' "$CURLRC_BASE" "$1" "$2" \
		>"$CURL_HOME/.curlrc"
}

get_token() {
	local args=() scopes=() s

	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	for s in "$@"; do
		scopes+=(--data-urlencode "scope=$s")
	done
	curl -q -sS -G -o "$TMP/token.json" -w '%{http_code}' \
		--data-urlencode service=customs ${scopes[@]+"${scopes[@]}"} \
		${args[@]+"${args[@]}"} "$URL/v2/_customs/token" >"$TMP/token.status" ||
		fail "token request failed"
	[ "$(cat "$TMP/token.status")" = 200 ] ||
		fail "token request: $(cat "$TMP/token.status") $(cat "$TMP/token.json")"
	jq -er .token "$TMP/token.json" || fail "no token in $(cat "$TMP/token.json")"
}

b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '=\n'
}

# jwt_part TOKEN N: part N (1 header, 2 claims) of a JWS, decoded.
jwt_part() {
	local p

	p=$(printf '%s' "$1" | cut -d. -f"$2" | tr -- '-_' '+/')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d
}

# A DER ECDSA signature (stdin) as JWS wants it: r and s, 32 bytes each.
es_raw() {
	openssl asn1parse -inform DER | awk -F: '/INTEGER/ {
		v = $NF
		while (length(v) < 64) v = "0" v
		printf "%s", substr(v, length(v) - 63) }' | unhex
}

# unhex: hex digits on stdin as bytes.
unhex() {
	local h

	h=$(cat)
	printf "$(printf '%s' "$h" | sed 's/../\\x&/g')"
}

jwt() {
	local alg=$1 key=$2 input sig=

	input="$(printf '%s' "$3" | b64url).$(printf '%s' "$4" | b64url)"
	case $alg in
	ES256)
		sig=$(printf '%s' "$input" |
			openssl dgst -sha256 -sign "$key" | es_raw | b64url)
		;;
	RS256)
		sig=$(printf '%s' "$input" |
			openssl dgst -sha256 -sign "$key" | b64url)
		;;
	HS256)
		sig=$(printf '%s' "$input" | openssl dgst -sha256 -mac HMAC \
			-macopt "hexkey:$(od -An -tx1 -v "$key" | tr -d ' \n')" -binary |
			b64url)
		;;
	none) ;;
	*) fail "jwt: unknown alg $alg" ;;
	esac
	printf '%s.%s' "$input" "$sig"
}

claims() {
	local now

	now=$(date +%s)
	jq -nc --arg sub "$1" --arg aud "$2" --arg iss "$3" \
		--argjson exp $((now + $4)) --argjson now "$now" \
		--argjson access "$5" \
		'{iss: $iss, sub: $sub, aud: $aud, exp: $exp, nbf: ($now - 1),
		  iat: $now, jti: "t\($now)", access: $access}'
}

challenge() {
	hdr WWW-Authenticate
}

store_files() {
	{ store_blobs; store_uploads; } | wc -l
}

