#!/usr/bin/env bash
# PgBouncer in transaction pooling mode in front of the local PostgreSQL, for the tests that run through it:
# Debian's `pgbouncer`, on a loopback port, as an unprivileged user, in a temporary directory, stopped by its
# process id.
#
#   scripts/pgbouncer.sh start [PORT]   starts it on 127.0.0.1:PORT (default 6432); prints its directory
#   scripts/pgbouncer.sh stop DIR       stops the one started in DIR and removes DIR
#
# The pool is small (4 server connections per database and user), so concurrent clients share server sessions as
# they do in production: a session-level lock or setting would leak from one client to another.
set -euo pipefail

upstream_host=${PGBOUNCER_UPSTREAM_HOST:-127.0.0.1}
upstream_port=${PGBOUNCER_UPSTREAM_PORT:-5432}

case "${1:-}" in
start)
  port=${2:-6432}
  command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/migrate-pgbouncer.XXXXXX")
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=$upstream_host port=$upstream_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
INI
  printf '"postgres" ""\n' > "$dir/users.txt"
  # PgBouncer refuses to run as root.
  if [ "$(id -u)" = 0 ]; then
    chown -R nobody "$dir"
    runuser -u nobody -- pgbouncer -d "$dir/pgbouncer.ini"
  else
    pgbouncer -d "$dir/pgbouncer.ini"
  fi
  # Up when its own process (not another on the port) runs and the port answers.
  for _ in $(seq 1 100); do
    if [ -s "$dir/pgbouncer.pid" ] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null \
      && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$dir"
      exit 0
    fi
    sleep 0.1
  done
  echo "pgbouncer did not start on 127.0.0.1:$port; its log:" >&2
  cat "$dir/pgbouncer.log" >&2 || true
  rm -rf "$dir"
  exit 1
  ;;
stop)
  dir=${2:?usage: scripts/pgbouncer.sh stop DIR}
  if [ -f "$dir/pgbouncer.pid" ]; then
    pid=$(cat "$dir/pgbouncer.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: scripts/pgbouncer.sh start [PORT] | stop DIR" >&2
  exit 2
  ;;
esac
