#!/bin/bash
# Crash safety: 100 pushes of small random images while the server is
# killed with SIGKILL at random moments and restarted.  Afterwards every
# blob and manifest push that got its 201 is pullable byte for byte, fsck
# finds no damage, and no temporary file is left.
#
#   CRASH_PUSHES=N     pushes (default 100; 50 on the dist backend, where
#                      a push takes about twice as long)
#   CRASH_SEED=N       seed of the kill schedule (default: random, printed)
. "$(dirname "$0")/lib.sh"
need tar gzip cmp

PUSHES=${CRASH_PUSHES:-100}
[ "$BACKEND" = fs ] || PUSHES=${CRASH_PUSHES:-50}
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
REPO=crash/app
ACKED=$TMP/acked	  # "blob DIGEST FILE" / "manifest TAG DIGEST FILE"
DONE=$TMP/pusher.done
echo "kill schedule seed $SEED"

start_server
FIXED=127.0.0.1:$PORT

# One push: both blobs, then the manifest; any failure (the server died
# under it) starts the push again, as a client would.  Every 201 is noted.
push_one() {
	local i=$1 dir=$TMP/img m try dg f st

	m=$(make_image "$dir" "p$i")
	for try in $(seq 1 40); do
		st=ok
		for f in "$dir/config-p$i.json" "$dir/layer-p$i.tar.gz"; do
			dg=$(sha256 "$f")
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
				-X POST --data-binary "@$f" \
				-H 'Content-Type: application/octet-stream' \
				"$URL/v2/$REPO/blobs/uploads/?digest=$dg") || code=000
			if [ "$code" != 201 ]; then
				st=failed
				break
			fi
			echo "blob $dg $f" >>"$ACKED"
		done
		if [ "$st" = ok ]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
				-X PUT --data-binary "@$m" \
				-H "Content-Type: $OCI_MANIFEST" \
				"$URL/v2/$REPO/manifests/p$i") || code=000
			if [ "$code" = 201 ]; then
				echo "manifest p$i $(sha256 "$m") $m" >>"$ACKED"
				return 0
			fi
		fi
		echo "push $i: attempt $try interrupted ($code)" >>"$TMP/pusher.log"
		sleep 0.1
	done
	echo "push $i: gave up" >>"$TMP/pusher.log"
	return 1
}

(
	for i in $(seq 1 "$PUSHES"); do
		push_one "$i" || exit 1
	done
	: >"$DONE"
) &
pusher=$!

# The killer: SIGKILL at a random moment (0 to 0.7 s after the restart;
# 0 to 1.9 s on the dist backend, whose requests take a few round trips
# more: with the shorter window few pushes would ever get through).
kills=0
window=7
[ "$BACKEND" = fs ] || window=19
deadline=$(($(date +%s) + 240))
while kill -0 "$pusher" 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "pushes did not finish in time"
	w=$((RANDOM % window))
	sleep "$((w / 10)).$((w % 10))$((RANDOM % 10))"
	kill -0 "$pusher" 2>/dev/null || break
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	kills=$((kills + 1))
	start_server --listen "$FIXED"
done
wait "$pusher" || true
[ -e "$DONE" ] || fail "the pusher gave up: $(tail -n 3 "$TMP/pusher.log")"
# One last crash with nothing in flight, then the restart that must
# recover whatever the crashes left.
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
kills=$((kills + 1))
start_server --listen "$FIXED"

blobs=0 manifests=0 lost=0
while read -r kind a b c; do
	if [ "$kind" = blob ]; then
		req GET "/v2/$REPO/blobs/$a"
		if [ "$STATUS" != 200 ] || ! cmp -s "$B" "$b"; then
			echo "LOST blob $a ($STATUS)" >&2
			lost=$((lost + 1))
		fi
		blobs=$((blobs + 1))
	else
		for ref in "$a" "$b"; do
			req GET "/v2/$REPO/manifests/$ref" -H "Accept: $OCI_MANIFEST"
			if [ "$STATUS" != 200 ] || ! cmp -s "$B" "$c"; then
				echo "LOST manifest $ref ($STATUS)" >&2
				lost=$((lost + 1))
			fi
		done
		manifests=$((manifests + 1))
	fi
done <"$ACKED"
interrupted=$(grep -c interrupted "$TMP/pusher.log" 2>/dev/null || true)
echo "crash: $manifests pushes acknowledged ($blobs blob 201s), ${interrupted:-0} interrupted and retried, $kills SIGKILLs, lost $lost"
[ "$lost" = 0 ] || fail "$lost acknowledged pushes lost"
[ "$manifests" = "$PUSHES" ] || fail "only $manifests of $PUSHES pushes acknowledged"
[ "$kills" -ge 10 ] || fail "only $kills kills: the test proved little"

stop_server
customs_run fsck --data "$DATA" >"$TMP/fsck.out" 2>&1 ||
	fail "fsck after the crashes: $(cat "$TMP/fsck.out")"
tail -n 1 "$TMP/fsck.out"
left=$(find "$DATA" -name 'tmp-*' | wc -l)
[ "$left" = 0 ] || fail "temporary files left: $(find "$DATA" -name 'tmp-*')"
exit 0
