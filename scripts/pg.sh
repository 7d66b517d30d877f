#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   bash scripts/pg.sh start DIR   # init (if needed) and start a cluster in DIR;
#                                  # prints its DSN, one line, on stdout
#   bash scripts/pg.sh stop DIR    # stop it and remove DIR
#
# export BRAZEN_TEST_POSTGRES_DSN=$(bash scripts/pg.sh start /tmp/brazen-pg)
#
# The cluster listens on 127.0.0.1 only, on a free port, with its unix
# socket in DIR, trust authentication for the user postgres, and
# max_connections=300 (the tests run many packages, each with its pools, at
# once). fsync stays on: benchmarks run against it measure durable writes.
# The server log is DIR/log. The server binaries come from
# /usr/lib/postgresql/<highest version>/bin, pg_config --bindir or PATH; run
# as root without them, the script installs Debian's postgresql package.
# As root, the cluster runs as the user postgres (PostgreSQL refuses root).
# Everything but the DSN goes to stderr.
set -euo pipefail

usage() {
  echo "usage: bash scripts/pg.sh start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
marker=.brazen-pg # written in DIR by start; stop removes only a DIR that has it

say() { echo "pg.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }

# bindir prints the directory of initdb and pg_ctl, or fails.
bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    echo "$d"
    return 0
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

# as_pg runs a command as the user postgres when we are root, else as us.
as_pg() {
  if ! is_root; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  fi
}

# free_port prints a TCP port nothing listens on at 127.0.0.1 now. Another
# process may take it before PostgreSQL does; start retries on failure.
free_port() {
  local p
  if command -v python3 >/dev/null 2>&1 &&
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null) &&
    [ -n "$p" ]; then
    echo "$p"
    return 0
  fi
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    # A refused connection means nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

dsn() { echo "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable"; }

running() { [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

start() {
  if ! bin=$(bindir); then
    is_root || die "no PostgreSQL server binaries (initdb, pg_ctl) found; install PostgreSQL or run as root to install Debian's postgresql package"
    say "installing PostgreSQL (Debian package postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends postgresql >&2
    bin=$(bindir) || die "postgresql is installed but initdb and pg_ctl were not found"
  fi

  if is_root && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
  fi

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/$marker" ] && [ -n "$(ls -A "$dir")" ]; then
    die "$dir is not empty and was not made by pg.sh; give a new or empty directory"
  fi
  touch "$dir/$marker"
  if is_root; then
    chown -R postgres:postgres "$dir"
  fi
  as_pg test -w "$dir" ||
    die "the user postgres cannot write $dir (is a parent directory closed to it?); use a directory under /tmp"

  if running; then
    say "already running in $dir"
    dsn "$(cat "$dir/port")"
    return 0
  fi

  if [ ! -f "$dir/data/PG_VERSION" ]; then
    # --no-sync: a throwaway cluster need not survive a crash during initdb;
    # the server itself runs with fsync on.
    (cd "$dir" && as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale --no-sync >&2) ||
      die "initdb failed"
    echo "include_if_exists = 'brazen.conf'" >>"$dir/data/postgresql.conf"
  fi

  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port) || die "no free TCP port found"
    # Owned by postgres through the directory's owner; rewritten every start.
    as_pg tee "$dir/data/brazen.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = on
EOF
    if (cd "$dir" && as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >&2); then
      echo "$port" >"$dir/port"
      dsn "$port" >"$dir/dsn"
      dsn "$port"
      return 0
    fi
    say "start on port $port failed (attempt $attempt); the end of $dir/log:"
    tail -n 5 "$dir/log" >&2 || true
  done
  die "PostgreSQL did not start; see $dir/log"
}

stop() {
  if [ ! -e "$dir" ]; then
    return 0
  fi
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/$marker" ]; then
    [ -z "$(ls -A "$dir")" ] || die "$dir was not made by pg.sh start; not removing it"
    rmdir "$dir"
    return 0
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    if bin=$(bindir); then
      if ! (cd "$dir" && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2); then
        say "pg_ctl stop failed; sending the server SIGQUIT (immediate shutdown)"
        kill -QUIT "$(head -n1 "$dir/data/postmaster.pid")" 2>/dev/null || true
      fi
    else
      say "pg_ctl not found; cannot stop the server in $dir"
    fi
  fi
  rm -rf -- "$dir"
}

case $cmd in
start) start ;;
stop) stop ;;
*) usage ;;
esac
