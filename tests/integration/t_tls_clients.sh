#!/bin/bash
# backend: none (TLS handshakes of real clients; the store is not the subject)
# The README's TLS section, as written: a CA made with openssl in a
# temporary directory, a server certificate with a subjectAltName, customs
# serving it, then each client given ca.crt the way the README says: curl
# --cacert, skopeo --dest-cert-dir/--src-cert-dir, podman --cert-dir,
# docker's certs.d/HOST:PORT/ca.crt (a dockerd of the test's own in a
# mount namespace where a private directory is /etc/docker), containerd's
# hosts.toml (a containerd of the test's own, ctr --hosts-dir).  Each
# client first refuses the server without the CA, so the file is what made
# it trust the server.  HOST is the machine's own non-loopback address:
# dockerd does not check certificates on 127.0.0.0/8 (without one, the
# docker step is skipped, saying so).  t_readme checks that these commands
# are the README's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
. "$(dirname "$0")/clients_lib.sh"
need openssl skopeo

tls_exit() {
	local rc=$?

	set +e
	dkd_stop
	(exit "$rc")
	px_exit
}
trap tls_exit EXIT

SKIPPED=
HOST=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
SAN=IP:$HOST
if [ -z "$HOST" ]; then
	HOST=127.0.0.1
	SAN=IP:$HOST
	SKIPPED="$SKIPPED docker (no address but loopback, where dockerd checks no certificate)"
fi
PORT=$(free_port)
C=$TMP/tls
mkdir -p "$C"
cd "$C"

# Only run in the background (&): exec, so that $! is the server.
customs() { exec "$CUSTOMS" "$@" --port-file "$C/port" --threads 2 --scan-workers 1 --db-update-interval 0; }
skopeo() { command skopeo --policy "$TMP/policy.json" --registries-conf /dev/null "$@"; }

# --- The README's certificate and server. --------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/CN=customs CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.crt 2>>"$TMP/openssl.log"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$HOST" -keyout server.key -out server.csr 2>>"$TMP/openssl.log"
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$SAN" >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile server.ext -out server.crt 2>>"$TMP/openssl.log"
openssl x509 -in server.crt -noout -ext subjectAltName | grep -q "IP Address:$HOST" ||
	fail "the certificate lacks its subjectAltName"
customs serve --listen "$HOST:$PORT" --tls-cert server.crt --tls-key server.key >>"$TMP/server.log" 2>&1 &
PID=$!
timeout 10 sh -c 'until [ -s "$1" ]; do sleep 0.05; done' sh "$C/port" ||
	fail "customs did not start: $(tail -n 3 "$TMP/server.log")"
[ "$(cat "$C/port")" = "$PORT" ] || fail "customs is not on $PORT"

# --- curl ----------------------------------------------------------------
if command curl -sS -o /dev/null "https://$HOST:$PORT/v2/" 2>"$TMP/curl.err"; then
	fail "curl trusted the server without the CA"
fi
grep -qi 'certificate' "$TMP/curl.err" || fail "curl without the CA: $(cat "$TMP/curl.err")"
curl --cacert ca.crt "https://$HOST:$PORT/v2/" >"$TMP/v2" 2>"$TMP/curl.err" ||
	fail "curl --cacert: $(cat "$TMP/curl.err")"

# --- skopeo --------------------------------------------------------------
oci_layout "$C/layout" latest >/dev/null
if skopeo copy oci:layout:latest "docker://$HOST:$PORT/team/app:0" >"$TMP/sk.log" 2>&1; then
	fail "skopeo pushed without the CA"
fi
grep -q 'x509' "$TMP/sk.log" || fail "skopeo without the CA: $(tail -n 2 "$TMP/sk.log")"
mkdir -p certs && cp ca.crt certs/ca.crt
skopeo copy --dest-cert-dir certs oci:layout:latest "docker://$HOST:$PORT/team/app:1.0" >"$TMP/sk.log" 2>&1 ||
	fail "skopeo copy --dest-cert-dir: $(tail -n 3 "$TMP/sk.log")"
skopeo copy --src-cert-dir certs "docker://$HOST:$PORT/team/app:1.0" oci:copy:latest >"$TMP/sk.log" 2>&1 ||
	fail "skopeo copy --src-cert-dir: $(tail -n 3 "$TMP/sk.log")"
[ "$(jq -r '.manifests[0].digest' copy/index.json)" = "$(jq -r '.manifests[0].digest' layout/index.json)" ] ||
	fail "skopeo pulled another manifest"
echo "curl, skopeo: refused without the CA, pushed and pulled with it"

# --- podman --------------------------------------------------------------
podman() {
	command podman --root "$TMP/pm" --runroot "$TMP/pmrun" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend none "$@"
}
pm_ok=$(pm_why podman)
if [ -z "$pm_ok" ]; then
	id=$(podman pull -q oci:layout:latest | tail -n 1) && podman tag "$id" myimage ||
		fail "podman: no myimage"
	if podman push myimage "$HOST:$PORT/team/app:0" >"$TMP/pm.log" 2>&1; then
		fail "podman pushed without the CA"
	fi
	grep -q 'x509' "$TMP/pm.log" || fail "podman without the CA: $(tail -n 2 "$TMP/pm.log")"
	podman push --cert-dir certs myimage "$HOST:$PORT/team/app:2.0" >"$TMP/pm.log" 2>&1 ||
		fail "podman push --cert-dir: $(tail -n 3 "$TMP/pm.log")"
	podman rmi -f myimage >/dev/null
	podman pull --cert-dir certs "$HOST:$PORT/team/app:2.0" >"$TMP/pm.log" 2>&1 ||
		fail "podman pull --cert-dir: $(tail -n 3 "$TMP/pm.log")"
	echo "podman: refused without --cert-dir, pushed and pulled with it"
else
	SKIPPED="$SKIPPED podman ($pm_ok)"
fi

# --- docker: certs.d in a private /etc/docker ------------------------------
if [[ $SKIPPED != *docker* ]]; then
	mkdir -p "$TMP/etc-docker"
	if ! dkd_start "$TMP/dk" "$TMP/etc-docker" >"$TMP/dk.why" 2>&1; then
		SKIPPED="$SKIPPED docker ($(cat "$TMP/dk.why"))"
	elif ! layers_ok docker docker >"$TMP/dk.why"; then
		SKIPPED="$SKIPPED docker ($(sed 's/^SKIP docker: //' "$TMP/dk.why"))"
	fi
fi
if [[ $SKIPPED != *docker* ]]; then
	dkd_image myimage || fail "docker: no myimage"
	docker tag myimage "$HOST:$PORT/team/app:0"
	if docker push "$HOST:$PORT/team/app:0" >"$TMP/dk.log" 2>&1; then
		fail "docker pushed without the CA"
	fi
	grep -q 'x509\|certificate' "$TMP/dk.log" ||
		fail "docker without the CA: $(tail -n 2 "$TMP/dk.log")"
	DOCKER_CERTS=$TMP/etc-docker/certs.d/$HOST:$PORT
	mkdir -p "$DOCKER_CERTS" && cp ca.crt "$DOCKER_CERTS/ca.crt"
	docker tag myimage "$HOST:$PORT/team/app:3.0"
	docker push "$HOST:$PORT/team/app:3.0" >"$TMP/dk.log" 2>&1 ||
		fail "docker push with certs.d: $(tail -n 3 "$TMP/dk.log")"
	skopeo inspect --cert-dir certs --raw "docker://$HOST:$PORT/team/app:3.0" >/dev/null ||
		fail "docker's push is not there"
	[ ! -f /etc/docker/certs.d/"$HOST:$PORT"/ca.crt ] ||
		fail "the machine's /etc/docker was changed"
	dkd_stop
	echo "docker: refused without certs.d/$HOST:$PORT/ca.crt, pushed with it"
fi

# --- containerd: hosts.toml ------------------------------------------------
ctr() { command ctr -a "$CTD/c.sock" "$@"; }
export CONTAINERD_SNAPSHOTTER=native
if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	SKIPPED="$SKIPPED ctr (not installed: Debian package containerd)"
elif ! ctd_start; then
	SKIPPED="$SKIPPED ctr (containerd cannot start here: $(tail -n 1 "$CTD/log"))"
else
	HOSTS_DIR=$TMP/containerd-certs.d
	if ctr images pull "$HOST:$PORT/team/app:1.0" >"$TMP/ctr.log" 2>&1; then
		fail "ctr pulled without the CA"
	fi
	grep -q 'x509\|certificate' "$TMP/ctr.log" ||
		fail "ctr without the CA: $(tail -n 2 "$TMP/ctr.log")"
	mkdir -p "$HOSTS_DIR/$HOST:$PORT" && cp ca.crt "$HOSTS_DIR/$HOST:$PORT/ca.crt"
	printf 'server = "https://%s"\n[host."https://%s"]\n  capabilities = ["pull", "resolve", "push"]\n  ca = "%s"\n' "$HOST:$PORT" "$HOST:$PORT" "$HOSTS_DIR/$HOST:$PORT/ca.crt" >"$HOSTS_DIR/$HOST:$PORT/hosts.toml"
	ctr images pull --hosts-dir "$HOSTS_DIR" "$HOST:$PORT/team/app:1.0" >"$TMP/ctr.log" 2>&1 ||
		fail "ctr pull --hosts-dir: $(tail -n 3 "$TMP/ctr.log")"
	ctr images ls -q | grep -qx "$HOST:$PORT/team/app:1.0" || fail "ctr: no image"
	echo "ctr: refused without hosts.toml, pulled with it"
fi

cd "$ROOT"
stop_server
[ -z "$SKIPPED" ] || echo "skipped:$SKIPPED"
echo "ok: the TLS section's clients trust its CA, and refuse the server without it"
