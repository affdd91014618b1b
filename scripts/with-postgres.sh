#!/usr/bin/env bash
# with-postgres.sh CMD ARGS… — run CMD with a throwaway PostgreSQL 15 server.
#
# Starts a private cluster (initdb) as the `postgres` OS user in a temporary
# directory, listening only on 127.0.0.1 on a free port with trust auth and
# fsync off, creates database ora2gcs_test, exports
#   ORA2GCS_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:PORT/ora2gcs_test?sslmode=disable
# runs CMD, then always stops the server and removes the directory. The exit
# code is CMD's. Without the server binaries it warns loudly and runs CMD
# without the variable (database integration tests then skip or fail).
#
# Environment: PG_BIN overrides the binary directory (default: the newest
# /usr/lib/postgresql/*/bin, else initdb/pg_ctl on PATH).
set -u

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

warn_missing() {
	{
		echo "################################################################################"
		echo "## WARNING: PostgreSQL server binaries not found ($1)."
		echo "## Database integration tests will FAIL/skip: ORA2GCS_TEST_POSTGRES_DSN is unset."
		echo "## Install them: apt-get install postgresql-15"
		echo "################################################################################"
	} >&2
}

find_bin() {
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return
	fi
	local d
	for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
	fi
}

BIN=$(find_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
	warn_missing "no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH"
	"$@"
	exit $?
fi

# as_pg runs a command as the postgres OS user when we are root.
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		warn_missing "running as root but there is no 'postgres' OS user"
		"$@"
		exit $?
	fi
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ora2gcs-pg.XXXXXX") || exit 1
DATA="$TMP/data"
LOG="$TMP/server.log"
STARTED=0

cleanup() {
	if [ "$STARTED" -eq 1 ]; then
		as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$TMP"
fi
chmod 700 "$TMP"

if ! as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1 &&
	! as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1; then
	echo "with-postgres: initdb failed:" >&2
	cat "$TMP/initdb.log" >&2
	exit 1
fi

# trust only for 127.0.0.1 and the private unix socket.
cat >"$DATA/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA

started=0
for attempt in 1 2 3 4 5; do
	PORT=$(free_port) || { echo "with-postgres: no free port" >&2; exit 1; }
	if as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
		start >/dev/null 2>&1; then
		started=1
		STARTED=1
		break
	fi
	echo "with-postgres: start on port $PORT failed (attempt $attempt)" >&2
done
if [ "$started" -ne 1 ]; then
	echo "with-postgres: server did not start:" >&2
	cat "$LOG" >&2 2>/dev/null
	exit 1
fi

if ! as_pg "$BIN/psql" -h "$TMP" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt \
	-c "CREATE DATABASE ora2gcs_test" </dev/null >/dev/null 2>"$TMP/createdb.log"; then
	echo "with-postgres: create database failed:" >&2
	cat "$TMP/createdb.log" >&2
	exit 1
fi

export ORA2GCS_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$PORT/ora2gcs_test?sslmode=disable"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT ($BIN)" >&2
"$@"
rc=$?
exit $rc
