#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benchmarks; source this file, then:
#   postgres_start      installs PostgreSQL with apt-get when missing (as root), starts a server on a free loopback port
#                       with its data in a temporary folder, and sets POSTGRES_URL to an Npgsql connection string (role corridor, maintenance database postgres).
#   stop_postgres       stops it and removes its folder; call it from the caller's EXIT trap (set before postgres_start).
# The server runs as the postgres user when started by root (PostgreSQL refuses to run as root). Durability is off
# (fsync, synchronous_commit, full_page_writes): the data is thrown away anyway.

pg_log() { echo "postgres.sh: $*" >&2; }

# The newest PostgreSQL whose server binaries are installed (Debian keeps them out of PATH).
find_postgres_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
    fi
}

install_postgres() {
    if [[ $(id -u) -ne 0 ]]; then
        pg_log "PostgreSQL is not installed and this user cannot install it; run as root, or: sudo apt-get install -y postgresql"
        exit 1
    fi
    pg_log "installing PostgreSQL with apt-get"
    # The package lists of a fresh machine are usually stale or missing.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    # Debian creates and may start a default cluster (port 5432); the tests use their own, so stop that one again.
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters -h 2>/dev/null | awk '$4 == "online" { print $1, $2 }' | while read -r version cluster; do
            pg_ctlcluster "$version" "$cluster" stop || true
        done
    fi
}

start_postgres() {
    local bin=$1
    PG_DIR=$(mktemp -d /tmp/corridor-test-pg.XXXXXX)
    # PostgreSQL refuses to run as root: root hands the folder to the postgres user and runs the server as it.
    local run=()
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PG_DIR"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U corridor --auth=trust -E UTF8 --no-locale --no-sync >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; pg_log "initdb failed"; exit 1; }

    # Throwaway data: durability settings off. A port another process took between the probe and the start is retried.
    local attempt port
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(( 20000 + RANDOM % 40000 ))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue # something listens there
        fi
        if "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
            -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null; then
            PG_PORT=$port
            return 0
        fi
        "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    done
    cat "$PG_DIR/server.log" >&2 || true
    pg_log "could not start PostgreSQL on a free port"
    exit 1
}

stop_postgres() {
    if [[ -n "${PG_DIR:-}" ]]; then
        local run=()
        [[ $(id -u) -eq 0 ]] && run=(runuser -u postgres --)
        "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}

postgres_start() {
    PG_BIN=$(find_postgres_bin)
    if [[ -z "$PG_BIN" ]]; then
        install_postgres
        PG_BIN=$(find_postgres_bin)
        [[ -n "$PG_BIN" ]] || { pg_log "PostgreSQL was installed but no /usr/lib/postgresql/<version>/bin/initdb was found"; exit 1; }
    fi
    start_postgres "$PG_BIN"
    pg_log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
    POSTGRES_URL="Host=127.0.0.1;Port=$PG_PORT;Username=corridor;Database=postgres"
}
