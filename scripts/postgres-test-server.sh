#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 for the service tests, runs a command with
# PIAA_TEST_POSTGRES_URL pointing at it, and always stops the cluster and removes its files afterwards.
#   bash scripts/postgres-test-server.sh bash scripts/test.sh
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root). Without Debian's
# postgresql package the command runs without the URL (the PostgreSQL tests then skip).
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "postgres-test-server: PostgreSQL is not installed; running without it" >&2
    exec "$@"
fi
PGDIR=$(mktemp -d /tmp/piaa-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U piaa --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c fsync=off" start >/dev/null
export PIAA_TEST_POSTGRES_URL="postgresql://piaa@127.0.0.1:$PORT/postgres"
echo "postgres-test-server: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
set +e
"$@"
rc=$?
exit $rc
