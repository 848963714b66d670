#!/usr/bin/env bash
# Throwaway redis-server and PostgreSQL servers for the tests, on free ports
# of 127.0.0.1, each in its own temporary directory, removed when they stop.
#
#   scripts/services.sh CMD ARGS...   run CMD with the servers up, e.g.
#                                     scripts/services.sh go -C idempotency/pgstore test -bench .
#   . scripts/services.sh; services_start
#                                     from a script: start them and stop them
#                                     when the script exits (an EXIT trap)
#
# services_start exports PAYHOOK_TEST_REDIS_URL and PAYHOOK_TEST_POSTGRES_URL,
# and puts PostgreSQL's binaries (initdb, pg_ctl, postgres) first on PATH for
# the tests that start servers of their own. Missing servers are installed
# from Debian's packages (redis-server, postgresql) when run as root;
# otherwise it fails and says what to install. initdb and postgres refuse to
# run as root, so as root they run as the postgres user.

services_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$services_dir/lib.sh"

services_tmp=()
services_redis_pid=
services_pgdata=

# as_postgres CMD...: run CMD as the postgres user when root, else as is.
as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# free_port prints a port of 127.0.0.1 that nothing listens on now.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
}

services_start() {
	need redis-server redis-server
	need initdb postgresql postgresql-15 # Debian's default version, else 15
	export PATH="$(pg_bindir):$PATH"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || die "user postgres is missing: reinstall postgresql-15"
		command -v runuser >/dev/null || die "runuser is required to run PostgreSQL as the postgres user (package util-linux)"
	fi
	trap services_stop EXIT
	trap 'exit 130' INT TERM
	start_redis
	start_postgres
}

start_redis() {
	local dir port try
	dir=$(mktemp -d -t payhook-redis.XXXXXX)
	services_tmp+=("$dir")
	for try in 1 2 3 4 5; do
		port=$(free_port)
		redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
			--logfile "$dir/redis.log" &
		services_redis_pid=$!
		for _ in $(seq 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				export PAYHOOK_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
				say "redis-server on 127.0.0.1:$port"
				return 0
			fi
			kill -0 "$services_redis_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$services_redis_pid" 2>/dev/null || true
		wait "$services_redis_pid" 2>/dev/null || true
		services_redis_pid=
	done
	cat "$dir/redis.log" >&2
	die "redis-server did not start"
}

start_postgres() {
	local dir port try
	dir=$(mktemp -d -t payhook-postgres.XXXXXX)
	services_tmp+=("$dir")
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
	as_postgres initdb -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	for try in 1 2 3 4 5; do
		port=$(free_port)
		if as_postgres pg_ctl -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			start >/dev/null; then
			services_pgdata=$dir/data
			export PAYHOOK_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
			say "PostgreSQL $(as_postgres postgres --version | awk '{print $3}') on 127.0.0.1:$port"
			return 0
		fi
	done
	cat "$dir/postgres.log" >&2
	die "PostgreSQL did not start"
}

services_stop() {
	local status=$?
	if [ -n "$services_redis_pid" ]; then
		kill "$services_redis_pid" 2>/dev/null || true
		wait "$services_redis_pid" 2>/dev/null || true
		services_redis_pid=
	fi
	if [ -n "$services_pgdata" ]; then
		as_postgres pg_ctl -D "$services_pgdata" -m fast -w stop >/dev/null 2>&1 || true
		services_pgdata=
	fi
	local d
	for d in "${services_tmp[@]}"; do
		rm -rf "$d"
	done
	services_tmp=()
	return $status
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ $# -gt 0 ] || die "usage: scripts/services.sh CMD ARGS... (or source it and call services_start)"
	services_start
	"$@"
fi
