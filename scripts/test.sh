#!/usr/bin/env bash
# Runs every test of Corridor: unit tests, store contract tests against SQLite and PostgreSQL, and functional tests
# that start the real gateway (one or two replicas), the upstream simulator and a real PostgreSQL on loopback and
# drive them with the official OpenAI and Anthropic SDKs.
#
# Needs only the .NET SDK. PostgreSQL is installed with apt-get when missing (as root), and a throwaway server is
# started on a free loopback port with its data in a temporary folder (scripts/postgres.sh); the tests find it in
# CORRIDOR_TEST_POSTGRES. The server is stopped and its folder removed when this script exits, pass or fail.
#
#   ./scripts/test.sh                                           everything
#   ./scripts/test.sh --filter "FullyQualifiedName~Postgres"    arguments go to `dotnet test`
#   CORRIDOR_TEST_POSTGRES="Host=...;Username=...;Password=..." ./scripts/test.sh
#                                   use that server instead (its role must be allowed to CREATE DATABASE)
#
# Tests that need PostgreSQL fail, not skip, without CORRIDOR_TEST_POSTGRES; to leave them out on purpose:
#   dotnet test Corridor.slnx -c Release --filter "Requires!=PostgreSQL"
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CORRIDOR_TEST_POSTGRES:-}" ]]; then
    source scripts/postgres.sh
    trap stop_postgres EXIT
    trap 'exit 130' INT TERM
    postgres_start
    # Each test creates and drops its own database on this server.
    export CORRIDOR_TEST_POSTGRES="$POSTGRES_URL"
fi

dotnet test Corridor.slnx -c Release "$@"
