#!/bin/bash
# backend: none (usage errors of every subcommand, before any store is opened)
# Every subcommand reports a usage error the same way: one line,
# "customs CMD: WHAT; see customs CMD --help", exit 2 (a bad flag, a
# missing operand, a missing --config file); and every flag that takes a
# duration or a size says so in --help.
. "$(dirname "$0")/lib.sh"

CMDS="serve scan db gc fsck user backup restore"

# usage_error WANT_GREP CMD ARGS...: exit 2 and one line naming CMD.
usage_error() {
	local want=$1 cmd=$2 rc=0

	shift 2
	"$CUSTOMS" "$cmd" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "customs $cmd $*: exit $rc: $(cat "$TMP/err")"
	[ ! -s "$TMP/out" ] || fail "customs $cmd $*: wrote to stdout: $(cat "$TMP/out")"
	[ "$(wc -l <"$TMP/err")" -eq 1 ] ||
		fail "customs $cmd $*: not one line: $(cat "$TMP/err")"
	grep -q "^customs $cmd: .*; see customs $cmd --help$" "$TMP/err" ||
		fail "customs $cmd $*: shape: $(cat "$TMP/err")"
	grep -q -- "$want" "$TMP/err" ||
		fail "customs $cmd $*: does not say '$want': $(cat "$TMP/err")"
}

for c in $CMDS; do
	usage_error "unknown option '--bogus'" "$c" --bogus
	usage_error "cannot open /nonexistent: No such file or directory" \
		"$c" --config /nonexistent
done
usage_error "unknown option '--bogus'" db import --bogus
usage_error "unknown option '--bogus'" user add --bogus

# A missing operand says what is missing.  (serve, gc and fsck take none.)
usage_error "IMAGE" scan
usage_error "import, update or status" db
usage_error "PATH" db import
usage_error "add or del" user
usage_error "NAME" user add
usage_error "NAME" user del
usage_error "DEST" backup
usage_error "BACKUP" restore

# A bad config file names the file and the line.
printf '{"data":\n' >"$TMP/bad.json"
usage_error "$TMP/bad.json:2:" gc --config "$TMP/bad.json"

# Units: a flag named for a time or a size takes DURATION, SECONDS or
# SIZE, and a help with those explains them.
for c in $CMDS; do
	"$CUSTOMS" "$c" --help >"$TMP/help" || fail "customs $c --help failed"
	grep -E '^  --' "$TMP/help" | while read -r flag arg _; do
		case $flag in
		*timeout | *ttl | *interval | *-age | *wait | *wait-max | \
			*deadline | *grace | *bytes | *size | *-blob | *quota | \
			*upload | *-rate)
			case $arg in
			SIZE | DURATION | SECONDS) ;;
			*) fail "customs $c $flag takes '$arg', not a unit" ;;
			esac
			;;
		esac
	done
	if grep -qE '^  --[a-z-]+ +DURATION ' "$TMP/help"; then
		grep -q '^DURATION is seconds' "$TMP/help" ||
			fail "customs $c --help does not explain DURATION"
	fi
	if grep -qE '^  --[a-z-]+ +SIZE ' "$TMP/help"; then
		grep -q '^SIZE is bytes' "$TMP/help" ||
			fail "customs $c --help does not explain SIZE"
	fi
done
# Defaults of durations carry their unit where seconds would puzzle.
"$CUSTOMS" serve --help | grep -q -- '--header-timeout DURATION .*(default 30s)' ||
	fail "--header-timeout's default has no unit"
