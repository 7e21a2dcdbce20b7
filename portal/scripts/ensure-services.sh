#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer, starting (or, as root, installing) them
# when they don't, and that the database named in DATABASE_URL exists.
#
# Quiet when all is well: one line per service. Says exactly what it did
# otherwise. Exits 1, with the command to run, when it needs root and isn't.
#
#   DATABASE_URL  default postgres://postgres@127.0.0.1:5432/portal
#   REDIS_URL     default redis://127.0.0.1:6379/0
#
# Only servers on this machine (127.0.0.1 / localhost) are started; a remote
# one is only checked.
set -euo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

say() { printf '%s\n' "$*"; }
did() { printf '  -> %s\n' "$*"; }
fail() { printf 'ensure-services: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
is_local() { case "$1" in 127.0.0.1|localhost|::1|"") return 0 ;; *) return 1 ;; esac; }
need_root() {
    # $1: what is missing, $2: the command that fixes it
    printf "ensure-services: %s, and fixing that needs root. Run:\n\n    sudo sh -c '%s'\n\nthen run make again.\n" "$1" "$2" >&2
    exit 1
}

# --- Parse the URLs (scheme://[user[:password]@]host[:port]/name[?query]) -------

parse_url() {
    # Prints: user password host port path
    local url="$1" default_port="$2" rest auth hostport user="" password="" host port path
    rest="${url#*://}"
    path=""
    if [[ "$rest" == */* ]]; then
        path="${rest#*/}"
        rest="${rest%%/*}"
    fi
    path="${path%%\?*}"
    if [[ "$rest" == *@* ]]; then
        auth="${rest%@*}"
        hostport="${rest##*@}"
        user="${auth%%:*}"
        [[ "$auth" == *:* ]] && password="${auth#*:}"
    else
        hostport="$rest"
    fi
    if [[ "$hostport" == \[*\]* ]]; then  # [::1]:5432
        host="${hostport#[}"; host="${host%%]*}"
        port="${hostport##*]}"; port="${port#:}"
    else
        host="${hostport%%:*}"
        port=""
        [[ "$hostport" == *:* ]] && port="${hostport##*:}"
    fi
    printf '%s\n%s\n%s\n%s\n%s\n' "${user}" "${password}" "${host:-127.0.0.1}" "${port:-$default_port}" "${path}"
}

mapfile -t DB < <(parse_url "$DATABASE_URL" 5432)
PG_USER="${DB[0]:-postgres}" PG_PASSWORD="${DB[1]}" PG_HOST="${DB[2]}" PG_PORT="${DB[3]}" PG_DB="${DB[4]:-portal}"
mapfile -t RD < <(parse_url "$REDIS_URL" 6379)
REDIS_HOST="${RD[2]}" REDIS_PORT="${RD[3]}"

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        did "apt-get update"
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    did "apt-get install -y $*"
    apt-get install -y -qq "$@" >/dev/null
}

wait_until() {
    # $1 seconds, then the command to retry
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.5
    done
}

# --- PostgreSQL ---------------------------------------------------------------

pg_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }

pg_clusters() {
    # "<version> <name>" of every Debian cluster
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters --no-header 2>/dev/null | awk '{print $1, $2}'
    fi
}

start_postgres() {
    local version="" name=""
    read -r version name < <(pg_clusters | awk '$2 == "main" {print; exit}') || true
    if [ -z "${version:-}" ]; then
        read -r version name < <(pg_clusters | head -n1) || true
    fi
    if [ -z "${version:-}" ]; then
        if ! is_root; then
            need_root "PostgreSQL has no cluster here" "apt-get update && apt-get install -y postgresql postgresql-contrib"
        fi
        apt_install postgresql postgresql-contrib
        read -r version name < <(pg_clusters | head -n1) || true
        if [ -z "${version:-}" ]; then
            local v
            v="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
            did "pg_createcluster $v main"
            pg_createcluster "$v" main >/dev/null
            version="$v" name=main
        fi
        make_trust_auth "$version" "$name"
    fi
    local line
    line="$(pg_lsclusters --no-header 2>/dev/null | awk -v v="$version" -v n="$name" '$1 == v && $2 == n {print $3, $4; exit}')"
    if [ "${line#* }" = online ] && [ "${line%% *}" != "$PG_PORT" ]; then
        fail "PostgreSQL $version/$name is running on port ${line%% *}, not $PG_PORT; fix DATABASE_URL or the cluster's port."
    fi
    if ! is_root && [ "$(id -un)" != postgres ]; then
        need_root "PostgreSQL $version/$name is not running" "pg_ctlcluster --skip-systemctl-redirect $version $name start"
    fi
    did "pg_ctlcluster --skip-systemctl-redirect $version $name start"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start 2>/dev/null || {
        # "already running" on another port/address is not an error here
        pg_ctlcluster "$version" "$name" status >/dev/null 2>&1 || fail "could not start PostgreSQL $version/$name; see /var/log/postgresql/postgresql-$version-$name.log"
    }
}

make_trust_auth() {
    # A fresh Debian cluster only allows peer/scram; let local development
    # connect as postgres over 127.0.0.1 without a password.
    local hba="/etc/postgresql/$1/$2/pg_hba.conf"
    [ -f "$hba" ] || return 0
    if ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
        did "pg_hba.conf: trust for 127.0.0.1/32 and ::1/128 (development only) in $hba"
        local tmp
        tmp="$(mktemp)"
        {
            echo "# Added by portal/scripts/ensure-services.sh for local development."
            echo "local   all   all                 trust"
            echo "host    all   all   127.0.0.1/32  trust"
            echo "host    all   all   ::1/128       trust"
            cat "$hba"
        } >"$tmp"
        cat "$tmp" >"$hba"
        rm -f "$tmp"
    fi
}

ensure_postgres() {
    if pg_answers; then
        say "PostgreSQL answers on $PG_HOST:$PG_PORT"
        return
    fi
    is_local "$PG_HOST" || fail "PostgreSQL does not answer on $PG_HOST:$PG_PORT (not this machine; start it there or fix DATABASE_URL)."
    if ! command -v pg_isready >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
        if ! is_root; then
            need_root "PostgreSQL is not installed" "apt-get update && apt-get install -y postgresql postgresql-contrib"
        fi
        say "PostgreSQL is not installed; installing it:"
        apt_install postgresql postgresql-contrib
    else
        say "PostgreSQL does not answer on $PG_HOST:$PG_PORT; starting it:"
    fi
    start_postgres
    wait_until 30 pg_answers || fail "PostgreSQL still does not answer on $PG_HOST:$PG_PORT after 30 s."
    say "PostgreSQL answers on $PG_HOST:$PG_PORT"
}

psql_admin() {
    # psql against the maintenance database, as DATABASE_URL's user
    PGPASSWORD="$PG_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"
}

ensure_role_and_database() {
    if ! psql_admin -tAc 'select 1' >/dev/null 2>&1; then
        # The role may be missing (fresh install where only peer auth works).
        if is_local "$PG_HOST" && is_root && command -v runuser >/dev/null 2>&1; then
            did "create role $PG_USER (superuser, login) through the postgres system user"
            runuser -u postgres -- psql -X -q -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 \
                -c "do \$\$ begin if not exists (select from pg_roles where rolname = '$PG_USER') then create role \"$PG_USER\" superuser login; end if; end \$\$;" >/dev/null
            local version name
            read -r version name < <(pg_clusters | head -n1) || true
            if [ -n "${version:-}" ]; then
                make_trust_auth "$version" "$name"
                pg_ctlcluster "$version" "$name" reload >/dev/null 2>&1 || true
                sleep 1
            fi
        fi
        psql_admin -tAc 'select 1' >/dev/null 2>&1 || fail "PostgreSQL answers, but user '$PG_USER' cannot connect to $PG_HOST:$PG_PORT; check DATABASE_URL and pg_hba.conf."
    fi
    local exists
    exists="$(psql_admin -tAc "select 1 from pg_database where datname = '${PG_DB//\'/\'\'}'")"
    if [ "$exists" != 1 ]; then
        did "create database $PG_DB"
        psql_admin -c "create database \"${PG_DB//\"/\"\"}\"" >/dev/null
    fi
}

# --- Redis --------------------------------------------------------------------

redis_answers() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
    if command -v redis-cli >/dev/null 2>&1 && redis_answers; then
        say "Redis answers on $REDIS_HOST:$REDIS_PORT"
        return
    fi
    is_local "$REDIS_HOST" || fail "Redis does not answer on $REDIS_HOST:$REDIS_PORT (not this machine; start it there or fix REDIS_URL)."
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        if ! is_root; then
            need_root "Redis is not installed" "apt-get update && apt-get install -y redis-server"
        fi
        say "Redis is not installed; installing it:"
        apt_install redis-server
    else
        say "Redis does not answer on $REDIS_HOST:$REDIS_PORT; starting it:"
    fi
    if redis_answers; then  # the package's own service may have started it
        say "Redis answers on $REDIS_HOST:$REDIS_PORT"
        return
    fi
    local dir="${TMPDIR:-/tmp}"
    [ -w /var/lib/redis ] && dir=/var/lib/redis
    did "redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT --save \"\" --appendonly no --dir $dir"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$dir" >/dev/null
    wait_until 15 redis_answers || fail "Redis still does not answer on $REDIS_HOST:$REDIS_PORT after 15 s."
    say "Redis answers on $REDIS_HOST:$REDIS_PORT"
}

ensure_postgres
ensure_role_and_database
ensure_redis
