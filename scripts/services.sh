#!/usr/bin/env bash
# Local backing services for tests and development, all on loopback:
#   PostgreSQL on 127.0.0.1:$PG_PORT (54329), Redis on 127.0.0.1:$REDIS_PORT (63799),
#   localstripe (fake Stripe API) on 127.0.0.1:$STRIPE_PORT (8420).
#
#   scripts/services.sh start [postgres|redis|localstripe ...]   start what is not already answering
#   scripts/services.sh stop                                      stop what `start` started (see state file)
#   scripts/services.sh status                                    say what answers
#   scripts/services.sh env                                       print export lines for the test settings
#
# A service that already answers on its port is reused and never stopped by us. Every service that
# `start` does start is written to the state file ($SERVICES_STATE_FILE, default var/services/started),
# and `stop` stops exactly those. PostgreSQL and Redis are installed with apt-get when missing.
# LOCALSTRIPE_STATE_FILE=path keeps localstripe's data in that file (default: in memory only).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES_DIR="$REPO/var/services"
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
STRIPE_PORT=${STRIPE_PORT:-8420}
STATE_FILE=${SERVICES_STATE_FILE:-$SERVICES_DIR/started}
VENV_PYTHON="$REPO/.venv/bin/python"
WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-60}
export DEBIAN_FRONTEND=noninteractive

# `|| true`: a closed stderr (a terminal gone, a pipe reader killed by the same Ctrl-C) must not stop a stop.
log() { echo "services: $*" >&2 2>/dev/null || true; }
die() {
    log "ERROR: $*"
    exit 1
}

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo -n"; fi

APT_UPDATED=""
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install $* yourself (Debian/Ubuntu package names)"
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update"
        $SUDO apt-get update -qq >&2 || die "apt-get update failed (need root or passwordless sudo)"
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    $SUDO apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >&2 </dev/null ||
        die "apt-get install $* failed"
}

tail_log() {
    if [ -f "$1" ]; then
        log "last lines of $1:"
        tail -n 30 "$1" >&2 || true
    fi
}

mark_started() {
    # $1 = service name, rest = details needed to stop it
    mkdir -p "$(dirname "$STATE_FILE")"
    echo "$*" >>"$STATE_FILE"
}

port_open() {
    # true when something accepts TCP connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------------------------------- PostgreSQL

PG_BIN=""
find_pg_bin() {
    local d p
    if p=$(command -v initdb 2>/dev/null) && command -v pg_ctl >/dev/null 2>&1; then
        d=$(dirname "$(readlink -f "$p")")
        if [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            PG_BIN=$d
            return 0
        fi
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            PG_BIN=$d
            return 0
        fi
    done
    return 1
}

ensure_pg_installed() {
    find_pg_bin && return 0
    apt_install postgresql
    find_pg_bin || die "PostgreSQL was installed but initdb/pg_ctl were not found under /usr/lib/postgresql/*/bin"
}

pg_tool() {
    # a client tool from the server's bin dir, else from PATH
    if [ -x "$PG_BIN/$1" ]; then echo "$PG_BIN/$1"; else command -v "$1"; fi
}

pg_ready() {
    "$(pg_tool pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

as_pg() {
    # Run a PostgreSQL server command as the owner of the data directory (root may not run it).
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_data_dir() {
    # var/services/pg inside the repo when the postgres user can reach it, else /tmp/databourse-pg-$port.
    mkdir -p "$SERVICES_DIR"
    if [ "$(id -u)" -ne 0 ]; then
        echo "$SERVICES_DIR/pg"
        return
    fi
    id postgres >/dev/null 2>&1 || die "no 'postgres' user: is the postgresql package installed?"
    chmod 755 "$REPO/var" "$SERVICES_DIR" 2>/dev/null || true
    if runuser -u postgres -- test -x "$SERVICES_DIR" 2>/dev/null; then
        echo "$SERVICES_DIR/pg"
    else
        echo "/tmp/databourse-pg-$PG_PORT"
    fi
}

start_postgres() {
    ensure_pg_installed
    if pg_ready; then
        log "PostgreSQL already answers on 127.0.0.1:$PG_PORT: reusing it"
        ensure_pg_database
        return 0
    fi
    port_open "$PG_PORT" && die "port $PG_PORT is taken by something that is not PostgreSQL"

    local data logfile server_major sockdir
    data=$(pg_data_dir)
    logfile="$(dirname "$data")/postgres-$PG_PORT.log"
    server_major=$("$PG_BIN/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
    if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$server_major" ]; then
        log "data dir $data is from PostgreSQL $(cat "$data/PG_VERSION"), server is $server_major: recreating it"
        rm -rf "$data"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        rm -rf "$data"
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
        chmod 700 "$data"
        log "initdb $data (PostgreSQL $server_major)"
        local locale=C.UTF-8
        locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' || locale=C
        as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale="$locale" >"$data.initdb.log" 2>&1 ||
            {
                tail_log "$data.initdb.log"
                die "initdb failed"
            }
        rm -f "$data.initdb.log"
        # A short unix socket path (the limit is ~107 bytes); TCP is what the app uses anyway.
        sockdir=$data
        [ ${#data} -gt 80 ] && sockdir=/tmp
        cat >>"$data/postgresql.conf" <<CONF

# --- databourse test/dev cluster (scripts/services.sh): loopback only, speed over durability
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
CONF
    fi
    : >"$logfile"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$logfile"
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (data $data)"
    # 9>&-: the server must not inherit our lock file descriptor (it would hold the lock while it runs)
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$logfile" -w -t "$WAIT_SECONDS" start >/dev/null 9>&-; then
        tail_log "$logfile"
        die "PostgreSQL did not start"
    fi
    mark_started postgres "$data"
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        pg_ready && break
        sleep 1
    done
    pg_ready || {
        tail_log "$logfile"
        die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT after ${WAIT_SECONDS}s"
    }
    ensure_pg_database
}

ensure_pg_database() {
    # Role `databourse` (superuser: the tests create their own database) and database `databourse`.
    local psql
    psql=$(pg_tool psql)
    if "$psql" -h 127.0.0.1 -p "$PG_PORT" -U databourse -d databourse -Atqc 'select 1' >/dev/null 2>&1; then
        return 0
    fi
    "$psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<'SQL' ||
SELECT 'CREATE ROLE databourse LOGIN SUPERUSER'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'databourse')\gexec
SELECT 'CREATE DATABASE databourse OWNER databourse'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'databourse')\gexec
SQL
        die "could not create role/database 'databourse' on 127.0.0.1:$PG_PORT (is the server there ours?)"
}

stop_postgres() {
    local data=$1
    find_pg_bin || die "pg_ctl not found: cannot stop PostgreSQL ($data)"
    log "stopping PostgreSQL (data $data)"
    as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null ||
        log "warning: pg_ctl stop failed for $data"
}

# ---------------------------------------------------------------------------------------------- Redis

redis_ready() {
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

start_redis() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        apt_install redis-server
    fi
    if redis_ready; then
        log "Redis already answers on 127.0.0.1:$REDIS_PORT: reusing it"
        return 0
    fi
    port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by something that is not Redis"
    mkdir -p "$SERVICES_DIR"
    local pidfile="$SERVICES_DIR/redis-$REDIS_PORT.pid" logfile="$SERVICES_DIR/redis-$REDIS_PORT.log"
    rm -f "$pidfile"
    : >"$logfile"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --save '' --appendonly no --daemonize yes \
        --dir "$SERVICES_DIR" --pidfile "$pidfile" --logfile "$logfile" >/dev/null 9>&- ||
        {
            tail_log "$logfile"
            die "redis-server failed to start"
        }
    mark_started redis "$pidfile"
    local i
    for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
        redis_ready && return 0
        sleep 0.25
    done
    tail_log "$logfile"
    die "Redis does not answer on 127.0.0.1:$REDIS_PORT after ${WAIT_SECONDS}s"
}

stop_redis() {
    local pidfile=$1 pid=""
    log "stopping Redis on 127.0.0.1:$REDIS_PORT"
    [ -f "$pidfile" ] && pid=$(cat "$pidfile")
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if [ -n "$pid" ]; then wait_gone "$pid" redis-server; fi
    rm -f "$pidfile"
}

# ---------------------------------------------------------------------------------------------- localstripe

stripe_ready() {
    # localstripe answers 401 without a key and 200 with any sk_test_ key.
    "$VENV_PYTHON" - "$STRIPE_PORT" <<'PY' >/dev/null 2>&1
import base64, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/customers?limit=1")
req.add_header("Authorization", "Basic " + base64.b64encode(b"sk_test_ping:").decode())
with urllib.request.urlopen(req, timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

start_localstripe() {
    [ -x "$VENV_PYTHON" ] || die "$VENV_PYTHON missing: run 'make install' first (localstripe comes from requirements.lock)"
    "$VENV_PYTHON" -c 'import localstripe' 2>/dev/null || die "localstripe is not installed in .venv: run 'make install'"
    if stripe_ready; then
        log "localstripe already answers on 127.0.0.1:$STRIPE_PORT: reusing it"
        return 0
    fi
    port_open "$STRIPE_PORT" && die "port $STRIPE_PORT is taken by something that is not localstripe"
    mkdir -p "$SERVICES_DIR"
    local pidfile="$SERVICES_DIR/localstripe-$STRIPE_PORT.pid" logfile="$SERVICES_DIR/localstripe-$STRIPE_PORT.log"
    local state_args=()
    [ -n "${LOCALSTRIPE_STATE_FILE:-}" ] && state_args=(--state-file "$LOCALSTRIPE_STATE_FILE")
    rm -f "$pidfile"
    log "starting localstripe on 127.0.0.1:$STRIPE_PORT${LOCALSTRIPE_STATE_FILE:+ (data kept in $LOCALSTRIPE_STATE_FILE)}"
    # setsid: its own session, so a Ctrl-C meant for the dev server reaches it only through our stop.
    setsid "$VENV_PYTHON" "$REPO/scripts/localstripe_server.py" --host 127.0.0.1 --port "$STRIPE_PORT" \
        --pidfile "$pidfile" "${state_args[@]}" >"$logfile" 2>&1 </dev/null 9>&- &
    local launcher=$!
    local i
    for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
        if stripe_ready; then
            [ -s "$pidfile" ] || echo "$launcher" >"$pidfile"
            mark_started localstripe "$pidfile"
            return 0
        fi
        if ! kill -0 "$launcher" 2>/dev/null; then
            tail_log "$logfile"
            die "localstripe exited during start-up"
        fi
        sleep 0.25
    done
    kill "$launcher" 2>/dev/null || true
    tail_log "$logfile"
    die "localstripe does not answer on 127.0.0.1:$STRIPE_PORT after ${WAIT_SECONDS}s"
}

stop_localstripe() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || {
        log "localstripe pidfile $pidfile is gone: nothing to stop"
        return 0
    }
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q localstripe_server; then
        log "stopping localstripe (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" localstripe
    fi
    rm -f "$pidfile"
}

wait_gone() {
    # wait up to 15 s for pid $1 to exit, then SIGKILL it
    local pid=$1 what=$2 i
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    log "warning: $what (pid $pid) did not exit on request: killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------- commands

with_lock() {
    mkdir -p "$SERVICES_DIR"
    exec 9>"$SERVICES_DIR/.lock"
    flock -w 300 9 || die "another scripts/services.sh holds $SERVICES_DIR/.lock"
}

cmd_start() {
    local wanted=("$@")
    [ ${#wanted[@]} -eq 0 ] && wanted=(postgres redis localstripe)
    with_lock
    local s
    for s in "${wanted[@]}"; do
        case $s in
        postgres | pg | postgresql) start_postgres ;;
        redis) start_redis ;;
        localstripe | stripe) start_localstripe ;;
        *) die "unknown service '$s' (postgres, redis, localstripe)" ;;
        esac
    done
}

cmd_stop() {
    with_lock
    if [ ! -f "$STATE_FILE" ]; then
        log "nothing was started by us ($STATE_FILE absent)"
        return 0
    fi
    local lines=() line name detail i
    mapfile -t lines <"$STATE_FILE"
    # stop in reverse order of starting
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
        line=${lines[$i]}
        [ -n "$line" ] || continue
        name=${line%% *}
        detail=${line#* }
        case $name in
        postgres) stop_postgres "$detail" ;;
        redis) stop_redis "$detail" ;;
        localstripe) stop_localstripe "$detail" ;;
        esac
    done
    rm -f "$STATE_FILE"
}

cmd_status() {
    find_pg_bin || true
    local rc=0
    if [ -n "$PG_BIN" ] && pg_ready; then echo "postgres     up    127.0.0.1:$PG_PORT"; else
        echo "postgres     down  127.0.0.1:$PG_PORT"
        rc=1
    fi
    if command -v redis-cli >/dev/null && redis_ready; then echo "redis        up    127.0.0.1:$REDIS_PORT"; else
        echo "redis        down  127.0.0.1:$REDIS_PORT"
        rc=1
    fi
    if [ -x "$VENV_PYTHON" ] && stripe_ready; then echo "localstripe  up    127.0.0.1:$STRIPE_PORT"; else
        echo "localstripe  down  127.0.0.1:$STRIPE_PORT"
        rc=1
    fi
    [ -f "$STATE_FILE" ] && echo "started by us ($STATE_FILE): $(cut -d' ' -f1 "$STATE_FILE" | tr '\n' ' ')"
    return $rc
}

cmd_env() {
    cat <<ENV
export DATABASE_URL=postgres://databourse@127.0.0.1:$PG_PORT/databourse
export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0
export CELERY_RESULT_BACKEND=redis://127.0.0.1:$REDIS_PORT/1
export STRIPE_API_BASE=http://127.0.0.1:$STRIPE_PORT
ENV
}

case ${1:-} in
start)
    shift
    cmd_start "$@"
    ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*)
    echo "usage: $0 start [postgres|redis|localstripe ...] | stop | status | env" >&2
    exit 2
    ;;
esac
