# shellcheck shell=bash
# Starts the real services the integration tests need, on loopback, installing them from the
# package registries when they are missing. Source it, then call the start_* functions; each exports
# the variable the tests read. `stop_services` (also run on exit by scripts/test) stops them.
#
#   source scripts/services.sh
#   start_postgres   # exports DATABASE_URL      (Debian package postgresql)
#   start_mariadb    # exports MYSQL_URL         (Debian package mariadb-server)
#   start_moto       # exports AWS_ENDPOINT_URL  (PyPI package moto[server], in a virtualenv)
#   install_browser  # exports CHROMIUM          (Debian chromium; npm playwright-core for xray-local's e2e)

XRAY_SERVICES_DIR=${XRAY_SERVICES_DIR:-$(pwd)/target/services}
mkdir -p "$XRAY_SERVICES_DIR"
_xray_pids=()
# Server pid files (the server runs under runuser as root, so `$!` is not the server itself) and
# data directories to remove on stop.
_xray_pidfiles=()
_xray_dirs=()

_xray_log() { echo "services: $*" >&2; }

_xray_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_xray_apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  _xray_log "installing $* from Debian packages"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$XRAY_SERVICES_DIR/apt.log" 2>&1 || {
    $sudo apt-get update -q >>"$XRAY_SERVICES_DIR/apt.log" 2>&1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$XRAY_SERVICES_DIR/apt.log" 2>&1
  }
}

# Runs a command as the service user when we are root (PostgreSQL and MariaDB refuse to run as root).
_xray_as() {
  local user=$1; shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

_xray_wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 150); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  _xray_log "$what did not start on port $port"
  return 1
}

start_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ]; then
    _xray_apt_install postgresql || return 1
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local user=postgres
  [ "$(id -u)" -ne 0 ] && user=$(id -un)
  local port data
  port=$(_xray_free_port)
  data=$(mktemp -d /tmp/xray-pg.XXXXXX)
  _xray_dirs+=("$data" "$data.pw")
  chown "$user" "$data" 2>/dev/null || true
  echo "xray-test-password" >"$data.pw"
  chown "$user" "$data.pw" 2>/dev/null || true
  _xray_as "$user" "$bindir/initdb" -D "$data/db" -U xray --pwfile="$data.pw" -A scram-sha-256 >"$XRAY_SERVICES_DIR/pg-init.log" 2>&1 || {
    _xray_log "initdb failed, see $XRAY_SERVICES_DIR/pg-init.log"; return 1; }
  _xray_as "$user" "$bindir/pg_ctl" -D "$data/db" -l "$data/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c max_connections=200 -c fsync=off" start \
    >"$XRAY_SERVICES_DIR/pg-start.log" 2>&1 || { _xray_log "PostgreSQL failed to start, see $data/log"; return 1; }
  PGPASSWORD=xray-test-password "$bindir/psql" -h 127.0.0.1 -p "$port" -U xray -d postgres -q -c "CREATE DATABASE xray_test" >/dev/null || return 1
  export XRAY_PG_STOP="$bindir/pg_ctl -D $data/db -m fast stop"
  export XRAY_PG_USER=$user
  export DATABASE_URL="postgres://xray:xray-test-password@127.0.0.1:$port/xray_test"
  _xray_log "PostgreSQL on 127.0.0.1:$port (DATABASE_URL exported)"
}

start_mariadb() {
  if ! command -v mariadbd >/dev/null 2>&1 && ! [ -x /usr/sbin/mariadbd ]; then
    _xray_apt_install mariadb-server || return 1
  fi
  local user=mysql
  [ "$(id -u)" -ne 0 ] && user=$(id -un)
  local port data
  port=$(_xray_free_port)
  data=$(mktemp -d /tmp/xray-mysql.XXXXXX)
  _xray_dirs+=("$data")
  chown "$user" "$data" 2>/dev/null || true
  _xray_as "$user" mariadb-install-db --no-defaults --datadir="$data/db" --auth-root-authentication-method=normal \
    >"$XRAY_SERVICES_DIR/mysql-init.log" 2>&1 || { _xray_log "mariadb-install-db failed"; return 1; }
  _xray_as "$user" /usr/sbin/mariadbd --no-defaults --datadir="$data/db" --port="$port" --bind-address=127.0.0.1 \
    --socket="$data/sock" --pid-file="$data/pid" --skip-log-bin >"$data/log" 2>&1 &
  _xray_pids+=($!)
  _xray_pidfiles+=("$data/pid")
  _xray_wait_port "$port" MariaDB || return 1
  # mariadb-install-db creates an anonymous ''@localhost user, which wins over 'xray'@'%' for
  # clients on 127.0.0.1 (it resolves to localhost); so xray gets a localhost account too.
  mariadb --no-defaults -h 127.0.0.1 -P "$port" -u root -e \
    "CREATE DATABASE xray_test; CREATE USER 'xray'@'%' IDENTIFIED BY 'xray-test-password'; GRANT ALL ON xray_test.* TO 'xray'@'%';
     CREATE USER 'xray'@'localhost' IDENTIFIED BY 'xray-test-password'; GRANT ALL ON xray_test.* TO 'xray'@'localhost';" \
    || return 1
  export MYSQL_URL="mysql://xray:xray-test-password@127.0.0.1:$port/xray_test"
  _xray_log "MariaDB on 127.0.0.1:$port (MYSQL_URL exported)"
}

start_moto() {
  local venv="$XRAY_SERVICES_DIR/venv"
  if ! [ -x "$venv/bin/moto_server" ]; then
    _xray_log "installing moto[server] from PyPI into $venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q 'moto[server]==5.*' >"$XRAY_SERVICES_DIR/pip.log" 2>&1 || {
      _xray_log "pip install failed, see $XRAY_SERVICES_DIR/pip.log"; return 1; }
  fi
  local port
  port=$(_xray_free_port)
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$XRAY_SERVICES_DIR/moto.log" 2>&1 &
  _xray_pids+=($!)
  _xray_wait_port "$port" moto || return 1
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  _xray_log "moto on 127.0.0.1:$port (AWS_ENDPOINT_URL exported)"
}

# The xray-local console's browser test: Debian's chromium, and playwright-core from the
# committed package-lock.json (playwright-core downloads no browser).
install_browser() {
  if ! [ -x /usr/bin/chromium ]; then
    _xray_apt_install chromium || return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    _xray_apt_install nodejs npm || return 1
  fi
  local dir=xray-local/tests/browser
  if ! [ -d "$dir/node_modules/playwright-core" ]; then
    _xray_log "installing playwright-core into $dir (npm ci)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund >"$XRAY_SERVICES_DIR/npm.log" 2>&1 || {
      _xray_log "npm ci failed, see $XRAY_SERVICES_DIR/npm.log"; return 1; }
  fi
  export CHROMIUM=/usr/bin/chromium
  _xray_log "chromium and playwright-core ready (CHROMIUM exported)"
}

stop_services() {
  local f pid
  for f in "${_xray_pidfiles[@]}"; do
    pid=$(cat "$f" 2>/dev/null) && kill "$pid" 2>/dev/null || true
  done
  for pid in "${_xray_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${XRAY_PG_STOP:-}" ]; then
    _xray_as "$XRAY_PG_USER" $XRAY_PG_STOP >/dev/null 2>&1 || true
    unset XRAY_PG_STOP
  fi
  # Give the servers a moment to exit before their data directories go.
  for f in "${_xray_pidfiles[@]}"; do
    for _ in $(seq 1 50); do [ -e "$f" ] || break; sleep 0.1; done
  done
  for f in "${_xray_dirs[@]}"; do rm -rf "$f"; done
  _xray_pids=()
  _xray_pidfiles=()
  _xray_dirs=()
}
