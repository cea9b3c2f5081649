#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on loopback ports, for the tests that run against one: Debian's
# `mariadb-server` and `galera-4`, as an unprivileged user, in a temporary directory, stopped by process id.
#
#   scripts/galera.sh start [BASE_PORT]   nodes on 127.0.0.1:BASE_PORT, +1, +2 (default 13306); prints the directory
#   scripts/galera.sh stop DIR            stops the nodes started in DIR and removes DIR
#
# Node 1 bootstraps the cluster; nodes 2 and 3 join it by state transfer (rsync). Each node's root user has no
# password, over TCP. The nodes' URLs, for MIGRATE_TEST_GALERA_NODES, are printed on stderr.
set -euo pipefail

provider=/usr/lib/galera/libgalera_smm.so

start_node() { # dir n port
  local dir=$1 n=$2 port=$3
  local run=(/usr/sbin/mariadbd --defaults-file="$dir/node$n.cnf")
  [ "$n" = 1 ] && run+=(--wsrep-new-cluster)
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "${run[@]}" >/dev/null 2>&1 &
  else
    "${run[@]}" >/dev/null 2>&1 &
  fi
  # Ready when its own process (not another on the port) runs and says the node is ready.
  for _ in $(seq 1 300); do
    if [ -s "$dir/node$n.pid" ] && kill -0 "$(cat "$dir/node$n.pid")" 2>/dev/null \
      && mariadb -uroot -h127.0.0.1 -P"$port" -N -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'wsrep_ready'" 2>/dev/null | grep -q ON; then
      return 0
    fi
    sleep 0.2
  done
  echo "node $n did not become ready; its log:" >&2
  tail -40 "$dir/node$n.err" >&2 || true
  return 1
}

stop_dir() { # dir
  local dir=$1 n pid
  for n in 3 2 1; do
    if [ -f "$dir/node$n.pid" ]; then
      pid=$(cat "$dir/node$n.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

case "${1:-}" in
start)
  base=${2:-13306}
  [ -r "$provider" ] || { echo "galera-4 is not installed ($provider)" >&2; exit 1; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/migrate-galera.XXXXXX")
  # A node that does not come up: the others are stopped, nothing is left behind.
  trap 'stop_dir "$dir"' ERR
  chmod 755 "$dir"
  user=$(id -un); [ "$(id -u)" = 0 ] && user=nobody
  members="127.0.0.1:$((base + 1261)),127.0.0.1:$((base + 1271)),127.0.0.1:$((base + 1281))"
  for n in 1 2 3; do
    port=$((base + n - 1)) gcomm=$((base + 1251 + 10 * n)) ist=$((base + 1252 + 10 * n)) sst=$((base + 1253 + 10 * n))
    cat > "$dir/node$n.cnf" <<CNF
[mysqld]
datadir=$dir/node$n
socket=$dir/node$n.sock
pid-file=$dir/node$n.pid
log-error=$dir/node$n.err
port=$port
bind-address=127.0.0.1
skip-name-resolve
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=32M
innodb_log_file_size=16M
innodb_flush_log_at_trx_commit=2
wsrep_on=ON
wsrep_provider=$provider
wsrep_cluster_name=migrate_test
wsrep_cluster_address=gcomm://$members
wsrep_node_address=127.0.0.1:$gcomm
wsrep_node_incoming_address=127.0.0.1:$port
wsrep_sst_receive_address=127.0.0.1:$sst
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$ist;gcache.size=32M"
wsrep_sst_method=rsync
CNF
    mkdir -p "$dir/node$n"
  done
  chown -R "$user" "$dir"
  # Node 1's data, with a root that logs in over TCP without a password; the others receive it by state transfer.
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- mariadb-install-db --defaults-file="$dir/node1.cnf" --auth-root-authentication-method=normal >/dev/null
  else
    mariadb-install-db --defaults-file="$dir/node1.cnf" --auth-root-authentication-method=normal >/dev/null
  fi
  start_node "$dir" 1 "$base"
  mariadb -uroot -h127.0.0.1 -P"$base" -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"
  start_node "$dir" 2 $((base + 1))
  start_node "$dir" 3 $((base + 2))
  echo "nodes: mysql://root@127.0.0.1:$base/test,mysql://root@127.0.0.1:$((base + 1))/test,mysql://root@127.0.0.1:$((base + 2))/test" >&2
  echo "$dir"
  ;;
stop)
  stop_dir "${2:?usage: scripts/galera.sh stop DIR}"
  ;;
*)
  echo "usage: scripts/galera.sh start [BASE_PORT] | stop DIR" >&2
  exit 2
  ;;
esac
