#!/usr/bin/env bash
# Ledger ingestion into PostgreSQL (and SQLite for comparison): starts a throwaway PostgreSQL (scripts/postgres.sh),
# runs bench/Corridor.Benchmarks' LedgerIngestBenchmarks against it, stops it. Rows/s = 1e9 / Mean (ns per row).
#
#   bench/ledger.sh                                  both stores, batches of 1,000 and 5,000
#   bench/ledger.sh --filter '*LedgerIngest*' ...    any BenchmarkDotNet arguments (the default filter is replaced)
#   CORRIDOR_BENCH_POSTGRES="Host=..." bench/ledger.sh   use that database instead
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -z ${CORRIDOR_BENCH_POSTGRES:-} ]]; then
  source scripts/postgres.sh
  trap stop_postgres EXIT
  trap 'exit 130' INT TERM
  postgres_start
  export CORRIDOR_BENCH_POSTGRES=$POSTGRES_URL
fi
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--filter '*LedgerIngestBenchmarks*')
# BenchmarkDotNet builds the benchmark once more and gives up after 120 s by default, which a loaded 2-core machine
# overran (no figures at all); 15 minutes is plenty.
dotnet run -c Release --project bench/Corridor.Benchmarks -- --buildTimeout 900 "${args[@]}"
