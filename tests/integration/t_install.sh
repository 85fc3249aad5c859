#!/bin/bash
# backend: none (make install and the man pages)
# make install with DESTDIR and PREFIX: the file list, the man pages
# (render without warnings, name every flag of every command's --help),
# the systemd unit (systemd-analyze verify) and the example config (a
# server starts with it).
. "$(dirname "$0")/lib.sh"
need make groff man

# install_to DIR [make vars...]: -o keeps make from rebuilding the binary
# of $BUILD (an ASan build stays one).
install_to() {
	local dest=$1

	shift
	make -s -C "$ROOT" -o "$BUILD/customs" BUILD="$BUILD" \
		DESTDIR="$dest" "$@" install >"$TMP/install.log" 2>&1 ||
		fail "make install: $(tail -n 5 "$TMP/install.log")"
}

D=$TMP/root
install_to "$D"
(cd "$D" && find . -type f | sort) >"$TMP/files"
cat >"$TMP/want" <<'LIST'
./etc/customs/customs.json
./usr/local/bin/customs
./usr/local/lib/systemd/system/customs.service
./usr/local/lib/sysusers.d/customs.conf
./usr/local/share/man/man1/customs.1
./usr/local/share/man/man5/customs-config.5
LIST
diff -u "$TMP/want" "$TMP/files" || fail "make install's file list differs"
"$D/usr/local/bin/customs" --version | grep -q '^customs [0-9]' ||
	fail "installed customs --version: $("$D/usr/local/bin/customs" --version)"
grep -qx 'ExecStart=/usr/local/bin/customs serve --config /etc/customs/customs.json --data /var/lib/customs' \
	"$D/usr/local/lib/systemd/system/customs.service" ||
	fail "the unit's ExecStart does not name the installed paths"

# PREFIX moves the program, not /etc; a changed config survives.
echo '{"listen": "127.0.0.1:5001"}' >"$D/etc/customs/customs.json"
install_to "$D" PREFIX=/opt/customs
[ -x "$D/opt/customs/bin/customs" ] || fail "PREFIX=/opt/customs: no binary"
grep -q 'ExecStart=/opt/customs/bin/customs ' \
	"$D/opt/customs/lib/systemd/system/customs.service" ||
	fail "PREFIX=/opt/customs: the unit names another binary"
grep -q 5001 "$D/etc/customs/customs.json" ||
	fail "make install overwrote an edited /etc/customs/customs.json"

# The man pages render without a warning, under groff -ww and man.
M1=$D/usr/local/share/man/man1/customs.1
M5=$D/usr/local/share/man/man5/customs-config.5
for m in "$M1" "$M5"; do
	groff -ww -man -z "$m" 2>"$TMP/groff.err"
	[ ! -s "$TMP/groff.err" ] || fail "groff -ww $m: $(cat "$TMP/groff.err")"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" >"$TMP/page" \
		2>"$TMP/man.err" || fail "man -l $m failed: $(cat "$TMP/man.err")"
	[ ! -s "$TMP/man.err" ] || fail "man -l $m: $(cat "$TMP/man.err")"
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$m" || fail "mandoc -T lint $m"
	fi
done

# Every flag of every command is in customs(1); serve's are config keys
# in customs-config(5).  The pages are generated from --help, so this
# checks the generator.
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$M1" 2>/dev/null | col -b >"$TMP/man1.txt"
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$M5" 2>/dev/null | col -b >"$TMP/man5.txt"
n=0
for cmd in serve scan db gc fsck user; do
	"$CUSTOMS" "$cmd" --help | awk '/^  --/ { print $1 }' >"$TMP/flags"
	[ -s "$TMP/flags" ] || fail "customs $cmd --help lists no flags"
	while read -r f; do
		grep -qF -- "$f" "$TMP/man1.txt" ||
			fail "customs(1) lacks $f of customs $cmd"
		if [ "$cmd" = serve ] && [ "$f" != --help ] && [ "$f" != --config ]; then
			grep -qE "^ +${f#--} .*\(flag $f\)" "$TMP/man5.txt" ||
				fail "customs-config(5) lacks the key ${f#--}"
		fi
		n=$((n + 1))
	done <"$TMP/flags"
done
[ "$n" -gt 80 ] || fail "only $n flags found in the --help output"
grep -q '^SIGNALS' "$TMP/man1.txt" || fail "customs(1) has no SIGNALS"

# The example config as installed: a server starts with it.
install_to "$TMP/fresh"
start_server --config "$TMP/fresh/etc/customs/customs.json"
req GET /v2/
expect 200
stop_server
# The unit's own command line parses (flags and config, --help stops it
# before it binds).
"$CUSTOMS" serve --config "$TMP/fresh/etc/customs/customs.json" \
	--data "$TMP/unitdata" --help >/dev/null ||
	fail "the unit's ExecStart flags are refused"

# systemd-analyze verify: the unit's syntax, its man pages (MANPATH) and
# that ExecStart's binary exists (so it names the built one here).
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TMP/unit"
	sed "s|^ExecStart=/usr/local/bin/customs|ExecStart=$D/usr/local/bin/customs|" \
		"$D/usr/local/lib/systemd/system/customs.service" \
		>"$TMP/unit/customs.service"
	MANPATH=$D/usr/local/share/man systemd-analyze verify \
		"$TMP/unit/customs.service" >"$TMP/verify.log" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$TMP/verify.log")"
	[ ! -s "$TMP/verify.log" ] ||
		fail "systemd-analyze verify warns: $(cat "$TMP/verify.log")"
	for k in 'User=customs' 'StateDirectory=customs' \
		'ConfigurationDirectory=customs' 'ProtectSystem=strict' \
		'NoNewPrivileges=yes' 'PrivateTmp=yes' 'LimitNOFILE=65536' \
		'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
		'ExecReload=/bin/kill -HUP $MAINPID'; do
		grep -qxF "$k" "$TMP/unit/customs.service" ||
			fail "the unit lacks $k"
	done
else
	echo "systemd-analyze is not installed: the unit is not verified"
fi
echo "ok: make install, $n flags in the man pages"
