#!/usr/bin/env bash
# Starts the local PostgreSQL (Debian postgresql-15; installed with apt-get if missing),
# creates the role and database `weinong` for tests, and prints the line to export:
#
#   eval "$(scripts/pg-test-setup.sh)"     # sets WEINONG_TEST_PG_URL
#
# The role has CREATEDB: each test creates and drops its own scratch database, so tests
# can run in parallel. Everything but the final export line goes to stderr.
set -euo pipefail

PASSWORD="${WEINONG_PG_PASSWORD:-weinong-test}"
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "PostgreSQL not installed: installing postgresql-15 with apt-get" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 >&2 \
        || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi

read -r VERSION CLUSTER PORT STATUS < <(pg_lsclusters -h | awk 'NR==1 {print $1, $2, $3, $4}') || true
if [ -z "${VERSION:-}" ]; then
    VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
    CLUSTER=main
    echo "creating cluster $VERSION/$CLUSTER" >&2
    pg_createcluster "$VERSION" "$CLUSTER" >&2
    read -r VERSION CLUSTER PORT STATUS < <(pg_lsclusters -h | awk 'NR==1 {print $1, $2, $3, $4}')
fi
if [ "$STATUS" != online ]; then
    echo "starting PostgreSQL $VERSION/$CLUSTER on port $PORT" >&2
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { echo "PostgreSQL did not become ready on port $PORT" >&2; exit 1; }

as_postgres psql -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres -v pw="$PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE weinong LOGIN CREATEDB PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weinong') \gexec
SELECT format('ALTER ROLE weinong LOGIN CREATEDB PASSWORD %L', :'pw') \gexec
SELECT 'CREATE DATABASE weinong OWNER weinong'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'weinong') \gexec
SQL

echo "export WEINONG_TEST_PG_URL=postgres://weinong:${PASSWORD}@127.0.0.1:${PORT}/weinong"
