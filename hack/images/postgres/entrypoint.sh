#!/bin/sh
# Entrypoint of the postgres image: the part of the official image's entrypoint the chart relies
# on. On an empty PGDATA it runs initdb with POSTGRES_USER as the superuser and POSTGRES_PASSWORD
# as its password, lets local socket connections in without one (pg_isready, this script) and
# asks every TCP connection for it (scram-sha-256, also from 127.0.0.1), then creates
# POSTGRES_DB. Arguments starting with `-` go to postgres. Not supported: initdb.d scripts,
# POSTGRES_HOST_AUTH_METHOD, *_FILE variables, running as root.
set -eu
if [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
# As the official entrypoint: asking postgres for help, its version or a setting starts nothing.
wants_help() {
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version | -C) return 0 ;; esac
  done
  return 1
}
if [ "$1" = postgres ] && ! wants_help "$@" && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'postgres: POSTGRES_PASSWORD must be set to initialise a database' >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  # The password goes through a pipe, never the command line (visible in ps) or a file.
  printf '%s\n' "$POSTGRES_PASSWORD" |
    initdb --username="$user" --pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 >/dev/null
  printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # Single-user mode needs no socket and no running server; identifiers double their quotes.
    quoted=$(printf '%s' "$db" | sed 's/"/""/g')
    echo "CREATE DATABASE \"$quoted\";" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres: initialised $PGDATA (user $user, database $db)"
fi
exec "$@"
