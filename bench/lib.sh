# lib.sh: sourced by bench/run.  Servers on loopback, timing, results.
#
#   srv_start NAME            NAME is customs or reference: a fresh instance
#                             with empty storage; sets URL[NAME], PID[NAME]
#   srv_stop NAME             records its peak RSS (VmHWM) as rss_peak (or
#                             $PEAK_METRIC), then SIGTERM
#   rss_kib NAME FIELD        VmRSS or VmHWM of the running instance, KiB
#   kib_mib KIB               KiB to MiB, one decimal
#   cpu_ticks NAME            utime + stime of the instance, clock ticks
#   timed CMD...              runs CMD (output to the log); prints
#                             "real user sys" in seconds, fails as CMD does
#   rec METRIC WHO VALUE      appends a sample to the results
#   now                       wall clock, seconds with microseconds

declare -A PID=() URL=() DATA=()
SEQ=0

now() {
	echo "$EPOCHREALTIME"
}

# elapsed T0 [T1]: seconds between two `now` readings.
elapsed() {
	awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.6f", b - a }'
}

say() {
	printf '%s bench: %s\n' "$(date +%T)" "$*" >&2
}

# Logs a failed measurement; the run goes on and exits 1 at the end.
failed() {
	FAILS=$((FAILS + 1))
	say "FAILED: $*"
	echo "FAILED: $*" >>"$LOG"
}

rec() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"
}

timed() {
	local TIMEFORMAT='%3R %3U %3S' t rc=0

	echo "+ $*" >>"$LOG"
	t=$( { time "$@" >>"$LOG" 2>&1; } 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || { echo "exit $rc: $*" >>"$LOG"; return "$rc"; }
	echo "$t"
}

# A TCP port on 127.0.0.1 that nobody answers on.
free_port() {
	local p i

	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_http URL PID: until URL answers (any status), or the process dies.
wait_http() {
	local i

	for i in $(seq 1 200); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -s -o /dev/null --max-time 2 "$1" && return 0
		sleep 0.05
	done
	return 1
}

start_customs() {
	local d=$1 pf=$1.port i

	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$pf" --data "$d" \
		--vuln-db "${CUSTOMS_DB:-$d/vulndb.db}" \
		>>"$W/log/customs.log" 2>&1 &
	PID[customs]=$!
	for i in $(seq 1 200); do
		[ -s "$pf" ] && break
		kill -0 "${PID[customs]}" 2>/dev/null || return 1
		sleep 0.05
	done
	[ -s "$pf" ] || return 1
	URL[customs]=http://127.0.0.1:$(cat "$pf")
}

# Debian's /etc/docker/registry/config.yml, less its htpasswd auth (customs
# runs without auth too), on loopback with fresh storage.
start_reference() {
	local d=$1 port

	port=$(free_port) || return 1
	mkdir -p "$d"
	cat >"$d.yml" <<YAML
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $d
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
	docker-registry serve "$d.yml" >>"$W/log/reference.log" 2>&1 &
	PID[reference]=$!
	URL[reference]=http://127.0.0.1:$port
}

srv_start() {
	local who=$1 try

	srv_stop "$who"
	SEQ=$((SEQ + 1))
	for try in 1 2 3; do
		DATA[$who]=$W/srv/$who.$SEQ.$try
		mkdir -p "${DATA[$who]}"
		if "start_$who" "${DATA[$who]}" &&
			wait_http "${URL[$who]}/v2/" "${PID[$who]}"; then
			echo "start $who ${PID[$who]} ${URL[$who]}" >>"$LOG"
			return 0
		fi
		srv_kill "$who"
	done
	say "$who did not start (log: $W/log/$who.log)"
	return 1
}

srv_kill() {
	local p=${PID[$1]:-}

	PID[$1]=
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

srv_stop() {
	local who=$1 hwm

	[ -n "${PID[$who]:-}" ] || return 0
	hwm=$(rss_kib "$who" VmHWM) &&
		rec "${PEAK_METRIC:-rss_peak}" "$who" "$(kib_mib "$hwm")"
	srv_kill "$who"
	rm -rf "${DATA[$who]}" "${DATA[$who]}".*
}

rss_kib() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { exit !found }' \
		"/proc/${PID[$1]}/status" 2>/dev/null
}

kib_mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

cpu_ticks() {
	# Fields after the ")" that ends comm: utime is the 12th, stime 13th.
	sed 's/.*) //' "/proc/${PID[$1]}/stat" | awk '{ print $12 + $13 }'
}

# ticks_s T0 T1: clock ticks to seconds.
ticks_s() {
	awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN { printf "%.3f", (b - a) / hz }'
}

# order REP: the servers in the order this repetition runs them.
order() {
	if [ $(($1 % 2)) -eq 1 ]; then
		echo customs reference
	else
		echo reference customs
	fi
}
