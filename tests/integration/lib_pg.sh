# lib_pg.sh: sourced by lib.sh.  PostgreSQL databases for the tests that
# keep metadata there (--meta): on the server a whole run shares (its
# libpq conninfo in CUSTOMS_PG; tests/with-dist starts one) or, without
# one, on a throw-away server of the test's own under $TMP (tests/pgtemp),
# started on first use.  lib_cleanup drops every database made here and
# stops the test's own server.
#
#   pg_db    sets PG_CI: the conninfo of a new, empty database

PG_BASE=
PG_OWN=
PG_DBS=()

# pg_server: PG_BASE, the conninfo of the server (its database "customs").
pg_server() {
	[ -z "$PG_BASE" ] || return 0
	need psql
	if [ -n "${CUSTOMS_PG:-}" ]; then
		PG_BASE=$CUSTOMS_PG
		return 0
	fi
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
		skip "PostgreSQL is not installed"
	PG_OWN=$TMP/pgsrv
	mkdir -p "$PG_OWN"
	PG_BASE=$("$ROOT/tests/pgtemp" start "$PG_OWN" 2>"$TMP/pgtemp.err") ||
		fail "cannot start PostgreSQL: $(tail -n 3 "$TMP/pgtemp.err")"
}

pg_db() {
	local db

	pg_server
	db=$(echo "${T}_$$_${#PG_DBS[@]}" | tr -c 'a-z0-9_\n' _)
	psql "$PG_BASE" -XAtqc "CREATE DATABASE $db" >/dev/null ||
		fail "CREATE DATABASE $db"
	PG_DBS+=("$db")
	PG_CI=$(sed -E "s/dbname=[^ ]*/dbname=$db/" <<<"$PG_BASE")
}

# pg_release: never fails (it runs in the exit trap).
pg_release() {
	local db

	if [ -n "$PG_OWN" ]; then
		"$ROOT/tests/pgtemp" stop "$PG_OWN" || true
		return 0
	fi
	for db in ${PG_DBS[@]+"${PG_DBS[@]}"}; do
		psql "$PG_BASE" -XAtqc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
			>/dev/null 2>&1 || true
	done
}
