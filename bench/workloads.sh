# workloads.sh: sourced by bench/run.  Each w_* function measures one
# workload on the running servers and records samples with `rec`.

ACCEPT="Accept: $OCI_MANIFEST"

host_of() {
	echo "${URL[$1]#http://}"
}

# w_scan_settle WHO REPO TAG: after a push to customs, waits (untimed) for
# its scan so that the scan does not run into the next measurement.
w_scan_settle() {
	local dg

	[ "$1" = customs ] || return 0
	dg=$(image_manifest "$3")
	curl -s -o /dev/null --max-time 330 \
		"${URL[customs]}/v2/$2/_customs/scan/$dg?wait=300" || true
}

# w_skopeo REP TAG: push to a fresh repository of each server, then pull.
w_skopeo() {
	local rep=$1 tag=$2 who repo=bench/$2-r$1 t real user sys bytes

	bytes=$(image_bytes "$tag")
	for who in $(order "$rep"); do
		if ! t=$(timed timeout 600 skopeo copy -q --dest-tls-verify=false \
			"oci:$IMG:$tag" "docker://$(host_of "$who")/$repo:latest"); then
			failed "skopeo push $tag to $who"
			continue
		fi
		read -r real user sys <<<"$t"
		rec "skopeo_push_$tag" "$who" "$real"
		rec "skopeo_push_${tag}_mbs" "$who" "$(mbs "$bytes" "$real")"
		rec "skopeo_push_${tag}_cpu" "$who" "$(add "$user" "$sys")"
		w_scan_settle "$who" "$repo" "$tag"
	done
	for who in $(order "$rep"); do
		rm -rf "$W/pull"
		if ! t=$(timed timeout 600 skopeo copy -q --src-tls-verify=false \
			"docker://$(host_of "$who")/$repo:latest" "oci:$W/pull:$tag"); then
			failed "skopeo pull $tag from $who"
			continue
		fi
		read -r real user sys <<<"$t"
		rec "skopeo_pull_$tag" "$who" "$real"
		rec "skopeo_pull_${tag}_mbs" "$who" "$(mbs "$bytes" "$real")"
		rec "skopeo_pull_${tag}_cpu" "$who" "$(add "$user" "$sys")"
	done
	rm -rf "$W/pull"
}

# upload_url WHO REPO [QUERY]: POST a new upload; prints its absolute URL.
upload_url() {
	local loc

	loc=$(curl -sS -f -X POST -D - -o /dev/null --max-time 30 \
		"${URL[$1]}/v2/$2/blobs/uploads/${3:-}" |
		awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
	[ -n "$loc" ] || return 1
	case $loc in
	http*) echo "$loc" ;;
	*) echo "${URL[$1]}$loc" ;;
	esac
}

# with_query URL K=V: appends a query parameter.
with_query() {
	case $1 in
	*\?*) echo "$1&$2" ;;
	*) echo "$1?$2" ;;
	esac
}

# put_mono WHO REPO FILE DIGEST: POST, then one PUT with the whole body.
put_mono() {
	local u

	u=$(upload_url "$1" "$2") || return 1
	curl -sS -f -X PUT -T "$3" -H 'Expect:' \
		-H 'Content-Type: application/octet-stream' -o /dev/null \
		--max-time 600 "$(with_query "$u" "digest=$4")"
}

# put_chunked WHO REPO DIGEST: POST, a PATCH per file of $W/chunks (with
# Content-Range, following each Location), then the closing PUT.
put_chunked() {
	local u off=0 f size

	u=$(upload_url "$1" "$2") || return 1
	for f in "$W"/chunks/c.*; do
		size=$(stat -c %s "$f")
		u=$(curl -sS -f -X PATCH -T "$f" -H 'Expect:' \
			-H 'Content-Type: application/octet-stream' \
			-H "Content-Range: $off-$((off + size - 1))" \
			-D - -o /dev/null --max-time 600 "$u" |
			awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
		[ -n "$u" ] || return 1
		case $u in http*) ;; *) u=${URL[$1]}$u ;; esac
		off=$((off + size))
	done
	curl -sS -f -X PUT -H 'Content-Length: 0' -o /dev/null --max-time 60 \
		"$(with_query "$u" "digest=$3")"
}

# w_curl_push REP KIND: KIND mono or chunked; the big layer into a fresh
# repository of freshly started servers, so that the blob is new to both.
w_curl_push() {
	local rep=$1 kind=$2 who t0 c0 c1 s dg

	dg=$(image_layer big 0)
	for who in $(order "$rep"); do
		c0=$(cpu_ticks "$who")
		t0=$(now)
		if [ "$kind" = mono ]; then
			put_mono "$who" "bench/mono-r$rep" "$W/big.layer" "$dg" \
				>>"$LOG" 2>&1 || { failed "curl mono PUT to $who"; continue; }
		else
			put_chunked "$who" "bench/chunked-r$rep" "$dg" \
				>>"$LOG" 2>&1 || { failed "curl chunked PATCH to $who"; continue; }
		fi
		s=$(elapsed "$t0")
		c1=$(cpu_ticks "$who")
		rec "curl_push_$kind" "$who" "$(mbs "$BIG_BYTES" "$s")"
		rec "curl_push_${kind}_srvcpu" "$who" "$(ticks_s "$c0" "$c1")"
		rec "curl_push_${kind}_cpugib" "$who" "$(awk -v t="$(ticks_s "$c0" "$c1")" \
			-v b="$BIG_BYTES" 'BEGIN { printf "%.3f", t * 1073741824 / b }')"
	done
}

# get_blob URL: prints "bytes seconds" of a GET to /dev/null.
get_blob() {
	curl -sS -f -o /dev/null --max-time 600 \
		-w '%{size_download} %{time_total}\n' "$1"
}

# w_curl_pull REP: the big layer (pushed by w_curl_push chunked) from
# each server, and from nginx serving the same file with sendfile.
w_curl_pull() {
	local rep=$1 who out b s c0 c1 dg u

	dg=$(image_layer big 0)
	for who in $(order "$rep") nginx; do
		[ "$who" != nginx ] || [ -n "${NGINX_URL:-}" ] || continue
		if [ "$who" = nginx ]; then
			u=$NGINX_URL/big.layer
		else
			u=${URL[$who]}/v2/bench/chunked-r$rep/blobs/$dg
			c0=$(cpu_ticks "$who")
		fi
		if ! out=$(get_blob "$u" 2>>"$LOG"); then
			failed "curl GET of the big blob from $who"
			continue
		fi
		read -r b s <<<"$out"
		[ "$b" -eq "$BIG_BYTES" ] ||
			{ failed "GET from $who: $b bytes, not $BIG_BYTES"; continue; }
		if [ "$who" = nginx ]; then
			rec nginx_sendfile machine "$(mbs "$b" "$s")"
		else
			c1=$(cpu_ticks "$who")
			rec curl_pull "$who" "$(mbs "$b" "$s")"
			rec curl_pull_srvcpu "$who" "$(ticks_s "$c0" "$c1")"
		fi
	done
}

# w_http REP NAME METHOD PATH: wrk (hload for HEAD, which wrk cannot do):
# 32 connections, 2 threads, WRK_SECS seconds.
w_http() {
	local rep=$1 name=$2 method=$3 path=$4 who out rps p50 p99

	for who in $(order "$rep"); do
		echo "+ load $method ${URL[$who]}$path" >>"$LOG"
		if [ "$method" = HEAD ]; then
			out=$(timeout $((WRK_SECS + 30)) "$HLOAD" -t 2 -c 32 \
				-d "$WRK_SECS" -m HEAD -H "$ACCEPT" \
				"${URL[$who]}$path" 2>>"$LOG") ||
				{ failed "hload HEAD $path on $who"; continue; }
			echo "$out" >>"$LOG"
			[ "$(awk '$1 == "errors" { print $2 }' <<<"$out")" = 0 ] ||
				{ failed "hload HEAD $path on $who: errors"; continue; }
			rps=$(awk '$1 == "rps" { print $2 }' <<<"$out")
			p50=$(awk '$1 == "p50_ms" { print $2 }' <<<"$out")
			p99=$(awk '$1 == "p99_ms" { print $2 }' <<<"$out")
		else
			out=$(timeout $((WRK_SECS + 30)) wrk -t 2 -c 32 \
				-d "${WRK_SECS}s" --latency -H "$ACCEPT" \
				"${URL[$who]}$path" 2>>"$LOG") ||
				{ failed "wrk $path on $who"; continue; }
			echo "$out" >>"$LOG"
			if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
				failed "wrk $path on $who: errors"
				continue
			fi
			rps=$(awk '$1 == "Requests/sec:" { print $2 }' <<<"$out")
			p50=$(wrk_ms "$out" 50%)
			p99=$(wrk_ms "$out" 99%)
		fi
		rec "${name}_rps" "$who" "$rps"
		rec "${name}_p50" "$who" "$p50"
		rec "${name}_p99" "$who" "$p99"
	done
}

# loadmix_manifest WHO: pushes a one-config image to bench/loadmix:latest.
loadmix_manifest() {
	local cfg=$W/loadmix.cfg man=$W/loadmix.man cdg

	echo '{}' >"$cfg"
	cdg=sha256:$(sha256sum <"$cfg" | cut -d' ' -f1)
	put_mono "$1" bench/loadmix "$cfg" "$cdg" || return 1
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":3},"layers":[]}' \
		"$OCI_MANIFEST" "$cdg" >"$man"
	curl -sS -f -X PUT -T "$man" -H "Content-Type: $OCI_MANIFEST" \
		-H 'Expect:' -o /dev/null --max-time 30 \
		"${URL[$1]}/v2/bench/loadmix/manifests/latest"
}

# w_loadmix REP: how long light requests wait while the server takes
# pushes.  LOAD_PUSHERS clients push the 64 MiB blob $W/load.blob (POST
# and one PUT, each client to its own repository, again and again) while
# 50 connections GET /v2/ and a manifest, each 20 times a second for
# LOAD_SECS seconds (hload -r: a request's latency counts from when it
# was due, so a stalled server cannot hide its stall).  Records the light
# requests' p50, p99 and maximum, and the pushes' MB/s.
w_loadmix() {
	local rep=$1 mpath=/v2/bench/loadmix/manifests/latest who i end t0 s
	local out pids n

	for who in $(order "$rep"); do
		loadmix_manifest "$who" >>"$LOG" 2>&1 ||
			{ failed "loadmix: manifest push to $who"; continue; }
		settle
		echo "+ loadmix ${URL[$who]}" >>"$LOG"
		: >"$W/loadmix.done"
		t0=$(now)
		end=$(($(date +%s) + LOAD_SECS + 1))
		pids=()
		for i in $(seq 1 "$LOAD_PUSHERS"); do
			while [ "$(date +%s)" -lt "$end" ]; do
				put_mono "$who" "bench/load$i" "$W/load.blob" \
					"$LOAD_DIGEST" >>"$LOG" 2>&1 ||
					{ echo fail >>"$W/loadmix.done"; break; }
				echo ok >>"$W/loadmix.done"
			done &
			pids+=($!)
		done
		sleep 1
		out=$(timeout $((LOAD_SECS + 30)) "$HLOAD" -t 1 -c 50 -r 20 \
			-d "$LOAD_SECS" -H "$ACCEPT" "${URL[$who]}/v2/" \
			"${URL[$who]}$mpath" 2>>"$LOG") || out=
		wait "${pids[@]}"
		s=$(elapsed "$t0")
		echo "$out" >>"$LOG"
		grep -q fail "$W/loadmix.done" &&
			{ failed "loadmix: a push to $who failed"; continue; }
		[ -n "$out" ] && [ "$(awk '$1 == "errors" { print $2 }' <<<"$out")" = 0 ] ||
			{ failed "loadmix: hload against $who"; continue; }
		n=$(grep -c ok "$W/loadmix.done")
		rec loadmix_p50 "$who" "$(awk '$1 == "p50_ms" { print $2 }' <<<"$out")"
		rec loadmix_p99 "$who" "$(awk '$1 == "p99_ms" { print $2 }' <<<"$out")"
		rec loadmix_max "$who" "$(awk '$1 == "max_ms" { print $2 }' <<<"$out")"
		rec loadmix_push_mbs "$who" "$(mbs $((n << 26)) "$s")"
	done
}

# wrk_ms OUTPUT PCT: a latency percentile of wrk --latency, in ms.
wrk_ms() {
	awk -v p="$2" '$1 == p {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		f = u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : 60000
		printf "%.3f", v * f }' <<<"$1"
}

# --- machine limits ---------------------------------------------------------

w_sha256() {
	local k

	k=$(openssl speed -evp sha256 -bytes 16384 -seconds "$SPEED_SECS" \
		2>/dev/null | awk 'tolower($1) == "sha256" { print $2 }')
	[ -n "$k" ] || { failed "openssl speed"; return 0; }
	# "1234.56k": thousands of bytes per second.
	rec sha256 machine "$(awk -v k="${k%k}" 'BEGIN { printf "%.1f", k / 1000 }')"
	rec sha256_gib machine "$(awk -v k="${k%k}" \
		'BEGIN { printf "%.3f", 1073741.824 / k }')"
}

# w_pushfloor: CPU per GiB of bench/pushfloor.c taking the big layer as
# one PUT: the kernel's receive and page-cache write, sha256 and the fsync
# that any server pays, without a server around them; then again writing
# with O_DIRECT (no page cache), the least a receiver that keeps the data
# can spend.
w_pushfloor() {
	pushfloor push_floor_gib
	pushfloor push_floor_direct_gib -d
}

# pushfloor METRIC [-d]: one PUT of the big layer to a fresh pushfloor.
pushfloor() {
	local metric=$1 d=$W/srv/pushfloor pid c0 c1 i
	shift

	mkdir -p "$d"
	rm -f "$d.port"
	"$PUSHFLOOR" "$@" "$d" "$d.port" 2>>"$LOG" &
	pid=$!
	for i in $(seq 1 100); do
		[ -s "$d.port" ] && break
		sleep 0.05
	done
	settle
	c0=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
	if curl -sS -f -X PUT -T "$W/big.layer" -H 'Expect:' -o /dev/null \
		--max-time 600 "http://127.0.0.1:$(cat "$d.port")/v2/floor" \
		>>"$LOG" 2>&1; then
		c1=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
		rec "$metric" machine "$(awk -v t="$(ticks_s "$c0" "$c1")" \
			-v b="$BIG_BYTES" 'BEGIN { printf "%.3f", t * 1073741824 / b }')"
	else
		failed "curl PUT to pushfloor $*"
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$d" "$d.port"
}

w_gunzip() {
	local t real

	t=$(timed sh -c 'gzip -dc "$1" >/dev/null' sh "$W/debian.tar.gz") ||
		{ failed "gzip -dc"; return 0; }
	read -r real _ <<<"$t"
	rec gunzip machine "$real"
	rec gunzip_mbs machine "$(mbs "$DEBIAN_TAR_BYTES" "$real")"
}

# nginx_start: Debian's nginx serving $W/www on loopback with sendfile (as
# its packaged nginx.conf has it); sets NGINX_URL.
nginx_start() {
	local port p=$W/nginx

	command -v nginx >/dev/null || { say "no nginx: no sendfile baseline"; return 0; }
	port=$(free_port) || return 0
	mkdir -p "$p/tmp" "$W/www"
	ln -f "$W/big.layer" "$W/www/big.layer"
	cat >"$p/nginx.conf" <<CONF
user root;
worker_processes auto;
pid $p/nginx.pid;
error_log $W/log/nginx.log;
events { worker_connections 768; }
http {
	sendfile on;
	tcp_nopush on;
	default_type application/octet-stream;
	access_log $W/log/nginx.access.log;
	client_body_temp_path $p/tmp/body;
	proxy_temp_path $p/tmp/proxy;
	fastcgi_temp_path $p/tmp/fastcgi;
	uwsgi_temp_path $p/tmp/uwsgi;
	scgi_temp_path $p/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		root $W/www;
	}
}
CONF
	nginx -p "$p" -c "$p/nginx.conf" -e "$W/log/nginx.log" \
		-g 'daemon off;' >>"$W/log/nginx.log" 2>&1 &
	NGINX_PID=$!
	if wait_http "http://127.0.0.1:$port/" "$NGINX_PID"; then
		NGINX_URL=http://127.0.0.1:$port
	else
		say "nginx did not start (log: $W/log/nginx.log)"
		nginx_stop
	fi
}

nginx_stop() {
	[ -n "${NGINX_PID:-}" ] || return 0
	kill -TERM "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=
	NGINX_URL=
}

# --- scanning ---------------------------------------------------------------

# make_feeds: two OSV feeds over the Debian image's source packages,
# BENCH_ADVISORIES records each.  In feed A every package is fixed below
# the installed version; in B above it, so switching the DB between them
# changes the findings of every stored report.
make_feeds() {
	local eco

	eco="Debian:$(tar -xzOf "$W/debian.tar.gz" ./etc/os-release \
		./usr/lib/os-release 2>/dev/null |
		awk -F= '$1 == "VERSION_ID" { gsub(/"/, "", $2); print $2; exit }')"
	[ "$eco" != "Debian:" ] || eco=Debian:12
	awk 'BEGIN { RS = ""; FS = "\n" }
	{
		pkg = ver = src = sver = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Package: /) pkg = substr($i, 10)
			else if ($i ~ /^Version: /) ver = substr($i, 10)
			else if ($i ~ /^Source: /) src = substr($i, 9)
		}
		if (match(src, / \(.*\)$/)) {
			sver = substr(src, RSTART + 2, RLENGTH - 3)
			src = substr(src, 1, RSTART - 1)
		}
		if (src == "") src = pkg
		if (sver == "") sver = ver
		if (src != "" && sver != "") print src, sver
	}' "$W/debian.status" | sort -u -k1,1 >"$W/sources.txt"
	feed_write "$W/feedA" "$eco" A
	feed_write "$W/feedB" "$eco" B
	(cd "$W/feedA" && zip -qr "$W/feedA.zip" .) &&
		(cd "$W/feedB" && zip -qr "$W/feedB.zip" .)
}

# feed_write DIR ECOSYSTEM A|B
feed_write() {
	mkdir -p "$1/Debian"
	awk -v dir="$1/Debian" -v eco="$2" -v kind="$3" -v n="$BENCH_ADVISORIES" '
	{
		src = $1; fixed = kind == "A" ? "0.0.1~bench" : $2 "+bench1"
		for (k = 1; k <= n; k++) {
			id = sprintf("BENCH-%s-%d", src, k)
			f = dir "/" id ".json"
			printf "{\"schema_version\":\"1.6.0\",\"id\":\"%s\",", id >f
			printf "\"modified\":\"2025-01-0%dT00:00:00Z\",", k % 9 + 1 >f
			printf "\"summary\":\"bench advisory %d for %s\",", k, src >f
			printf "\"severity\":[{\"type\":\"CVSS_V3\",\"score\":" >f
			printf "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]," >f
			printf "\"affected\":[{\"package\":{\"ecosystem\":\"%s\",", eco >f
			printf "\"name\":\"%s\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",", src >f
			printf "\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"%s\"}]}]}]}\n", fixed >f
			close(f)
		}
	}' "$W/sources.txt"
}

# variant_push REPO N: the Debian image again with its own config (a
# label), so its manifest is new: uploads the config, mounts the layers
# from bench/scan-base, then PUTs the manifest.  Sets VARIANT_DIGEST to the
# manifest's digest and VARIANT_PUT_AT to when its PUT began (so: not in a
# subshell).
variant_push() {
	local repo=$1 n=$2 base cfg cdg man mdg dg u

	base=$(blob_path "$(image_manifest debian)")
	cfg=$W/variant.cfg
	jq -c --arg n "$n" '.config.Labels["dev.customs.bench"] = $n' \
		"$(blob_path "$(image_layer debian config)")" >"$cfg"
	cdg=sha256:$(sha256sum <"$cfg" | cut -d' ' -f1)
	for dg in $(jq -r '.layers[].digest' "$base"); do
		curl -sS -f -o /dev/null -X POST --max-time 30 \
			"${URL[customs]}/v2/$repo/blobs/uploads/?mount=$dg&from=bench/scan-base" ||
			return 1
	done
	u=$(upload_url customs "$repo") || return 1
	curl -sS -f -X PUT -T "$cfg" -H 'Expect:' -o /dev/null --max-time 30 \
		-H 'Content-Type: application/octet-stream' \
		"$(with_query "$u" "digest=$cdg")" || return 1
	man=$W/variant.man
	jq -c --arg dg "$cdg" --argjson sz "$(stat -c %s "$cfg")" \
		'.config.digest = $dg | .config.size = $sz' "$base" >"$man"
	mdg=sha256:$(sha256sum <"$man" | cut -d' ' -f1)
	VARIANT_DIGEST=$mdg
	VARIANT_PUT_AT=$(now)
	curl -sS -f -X PUT -T "$man" -H "Content-Type: $OCI_MANIFEST" \
		-H 'Expect:' -o /dev/null --max-time 30 \
		"${URL[customs]}/v2/$repo/manifests/v$n"
}

# scan_idle: until customs has no scan queued or running; one poller
# over a kept-alive connection, as it runs beside the work it waits for,
# on few cores.
scan_idle() {
	python3 "$here/scan_idle.py" "${URL[customs]}" 300
}

# inv_setup: a one-layer image of the Debian image's dpkg status and
# os-release alone, its layer pushed to bench/inv-base.  It lists the
# Debian image's packages, so it re-matches as that image does, but its
# first scan takes milliseconds: the re-match rate gets hundreds of
# reports without minutes of scanning first.
inv_setup() {
	local d=$W/inv/root

	mkdir -p "$d/var/lib/dpkg" "$d/etc"
	cp "$W/debian.status" "$d/var/lib/dpkg/status"
	tar -xzOf "$W/debian.tar.gz" ./etc/os-release ./usr/lib/os-release \
		>"$d/etc/os-release" 2>/dev/null || true
	tar_dir "$d" | gzip -n >"$W/inv/layer.tar.gz"
	INV_LAYER=sha256:$(sha256sum <"$W/inv/layer.tar.gz" | cut -d' ' -f1)
	INV_DIFF=sha256:$(gzip -dc "$W/inv/layer.tar.gz" | sha256sum | cut -d' ' -f1)
	INV_SIZE=$(stat -c %s "$W/inv/layer.tar.gz")
	put_mono customs bench/inv-base "$W/inv/layer.tar.gz" "$INV_LAYER"
}

# inv_push N: the inventory image with a config of its own, as
# bench/rematch:invN.
inv_push() {
	local n=$1 cfg=$W/inv/cfg.$1 man=$W/inv/man.$1 cdg

	printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"dev.customs.bench":"inv%s"}},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
		"$n" "$INV_DIFF" >"$cfg"
	cdg=sha256:$(sha256sum <"$cfg" | cut -d' ' -f1)
	curl -sS -f -o /dev/null -X POST --max-time 30 \
		"${URL[customs]}/v2/bench/rematch/blobs/uploads/?mount=$INV_LAYER&from=bench/inv-base" ||
		return 1
	put_mono customs bench/rematch "$cfg" "$cdg" || return 1
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%s},"layers":[{"mediaType":"%s","digest":"%s","size":%s}]}' \
		"$OCI_MANIFEST" "$OCI_CONFIG" "$cdg" "$(stat -c %s "$cfg")" \
		"$LAYER_GZ" "$INV_LAYER" "$INV_SIZE" >"$man"
	curl -sS -f -X PUT -T "$man" -H "Content-Type: $OCI_MANIFEST" \
		-H 'Expect:' -o /dev/null --max-time 30 \
		"${URL[customs]}/v2/bench/rematch/manifests/inv$n"
}

# w_scan_setup: customs with DB A, the Debian image, SCAN_IMAGES variants
# of it and REMATCH_IMAGES of the inventory image (four pushes at a time).
w_scan_setup() {
	local i p pids=() rc=0

	skopeo copy -q --dest-tls-verify=false "oci:$IMG:debian" \
		"docker://$(host_of customs)/bench/scan-base:latest" >>"$LOG" 2>&1 ||
		return 1
	for i in $(seq 1 "$SCAN_IMAGES"); do
		variant_push bench/rematch "$i" || return 1
	done
	inv_setup || return 1
	for i in $(seq 1 "$REMATCH_IMAGES"); do
		inv_push "$i" &
		pids+=($!)
		[ ${#pids[@]} -ge 4 ] || continue
		for p in "${pids[@]}"; do wait "$p" || rc=1; done
		pids=()
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || return 1
	scan_idle
}

# w_scan REP: the CLI scan against gzip -dc, push-to-report latency, and
# the re-match rate after switching the DB (B on odd repetitions, A on
# even), with nothing else running; then the DB switched back, and a push
# made during that second re-match: its report's latency, and the rate of
# a re-match that shares the machine with a push's scan.
w_scan() {
	local rep=$1 t real dg s code feed back

	w_gunzip
	if t=$(timed "$CUSTOMS" scan --db "$W/db-A.db" --format json \
		--output /dev/null "$IMG:debian"); then
		read -r real _ <<<"$t"
		rec scan_cli customs "$real"
	else
		failed "customs scan"
	fi

	if variant_push bench/latency "lat$rep"; then
		dg=$VARIANT_DIGEST
		code=$(curl -sS -o "$W/report.json" -w '%{http_code}' --max-time 330 \
			"${URL[customs]}/v2/bench/latency/_customs/scan/$dg?wait=300")
		s=$(elapsed "$VARIANT_PUT_AT")
		if [ "$code" = 200 ]; then
			rec scan_latency customs "$s"
		else
			failed "scan report of a pushed image: HTTP $code"
		fi
	else
		failed "push for the scan latency"
	fi

	feed=$W/feedB.zip back=$W/feedA.zip
	[ $((rep % 2)) -eq 1 ] || { feed=$W/feedA.zip back=$W/feedB.zip; }
	rematch "$feed" rematch rematch_cpu "" || return 0
	rematch "$back" rematch_push "" "rm$rep" || return 0
}

# rematch FEED RATE_ROW CPU_ROW PUSH: imports FEED and times the re-match
# it starts, to an idle queue, into the rows named (CPU_ROW may be "");
# with PUSH, a variant image pushed 0.2 s into the re-match as tag PUSH,
# its report's latency recorded.  Fails when the import does.
rematch() {
	local feed=$1 row=$2 cpurow=$3 push=$4 r0 r1 c1 j n code

	r0=$(now)
	if ! j=$(curl -sS -f -X POST -H 'Content-Type: application/zip' \
		-H 'Expect:' --data-binary "@$feed" --max-time 300 \
		"${URL[customs]}/v2/_customs/db"); then
		failed "POST /v2/_customs/db"
		return 1
	fi
	r1=$(now)
	c1=$(cpu_ticks customs)
	echo "db import: $j" >>"$LOG"
	[ -n "$cpurow" ] && rec db_import customs "$(elapsed "$r0" "$r1")"
	n=$(jq -r '.rematch // 0' <<<"$j")
	# Its report waits for a few re-matches, not for all of them.  (Its
	# scan is one more job in the time the rate is measured over.)
	if [ "$n" -gt 0 ] && [ -n "$push" ]; then
		sleep 0.2
		if variant_push bench/latency "$push" &&
			code=$(curl -sS -o /dev/null -w '%{http_code}' \
				--max-time 330 \
				"${URL[customs]}/v2/bench/latency/_customs/scan/$VARIANT_DIGEST?wait=300") &&
			[ "$code" = 200 ]; then
			rec scan_latency_rematch customs "$(elapsed "$VARIANT_PUT_AT")"
		else
			failed "scan report of a push during the re-match"
		fi
	fi
	if [ "$n" -gt 0 ] && scan_idle; then
		rec "$row" customs "$(awk -v n="$n" -v s="$(elapsed "$r1")" \
			'BEGIN { printf "%.1f", n / s }')"
		# The server's CPU per image: steadier than the rate on a
		# shared machine, whose disk the syncs wait for.
		[ -n "$cpurow" ] && rec "$cpurow" customs "$(awk -v n="$n" \
			-v s="$(ticks_s "$c1" "$(cpu_ticks customs)")" \
			'BEGIN { printf "%.3f", s * 1000 / n }')"
	else
		failed "re-match after the DB import: $j"
	fi
	return 0
}

# --- arithmetic ---------------------------------------------------------------

# mbs BYTES SECONDS: MB/s (10^6 bytes).
mbs() {
	awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'
}

add() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'
}
