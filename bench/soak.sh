#!/usr/bin/env bash
# Soak: a steady, paced load on Corridor in front of the simulator with injected upstream faults, for DURATION,
# reporting throughput, errors by kind and the gateway's memory at start and end (after warm-up) against a bound.
#
#   bench/soak.sh                        # 10 minutes at 100 requests/s, build included
#   DURATION=1m RATE=50 bench/soak.sh    # a short check
#
# Load (bench/wrk/soak.lua): 30% OpenAI streamed chat, 30% OpenAI whole chat, 20% Anthropic messages and 20% OpenAI
# Responses (each half streamed, translated to the OpenAI-kind upstream). Faults (simulator): ERROR_RATE of answers 500, RATE_LIMIT_RATE 429 with
# Retry-After, DISCONNECT_RATE of streams cut midway; the model has two deployments, so most 5xx/429 fall back.
# Memory: RSS of the gateway process sampled every SAMPLE seconds; the bound is RSS at the end <= RSS after warm-up
# + MAX_GROWTH_MB. Exit status 1 when the bound is broken, when the ledger did not catch up, or when a request was
# answered 500 by the gateway itself.
#
# Environment: DURATION=10m RATE=100 CONNECTIONS=32 THREADS=2 WARMUP=30s SAMPLE=30 MAX_GROWTH_MB=64
#              ERROR_RATE=0.02 RATE_LIMIT_RATE=0.02 DISCONNECT_RATE=0.02 TOKEN_INTERVAL_MS=2
#              CORRIDOR_BIN=path (skip the build)  KEEP=1 (keep the temporary directory: configs, logs, samples)
set -euo pipefail
DURATION=${DURATION:-10m}
RATE=${RATE:-100}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-30s}
SAMPLE=${SAMPLE:-30}
MAX_GROWTH_MB=${MAX_GROWTH_MB:-64}
ERROR_RATE=${ERROR_RATE:-0.02}
RATE_LIMIT_RATE=${RATE_LIMIT_RATE:-0.02}
DISCONNECT_RATE=${DISCONNECT_RATE:-0.02}
TOKEN_INTERVAL_MS=${TOKEN_INTERVAL_MS:-2}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/corridor-soak.XXXXXX")
pids=()
cleanup() {
  local status=$? pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '== %s\n' "$*" >&2; }
die() { printf 'soak: %s\n' "$*" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
install_tools

to_seconds() { # 90s, 10m, 1h, or plain seconds
  local v=$1
  case $v in
    *h) echo $((${v%h} * 3600)) ;;
    *m) echo $((${v%m} * 60)) ;;
    *s) echo "${v%s}" ;;
    *) echo "$v" ;;
  esac
}
duration_s=$(to_seconds "$DURATION")
warmup_s=$(to_seconds "$WARMUP")

corridor=$(corridor_executable)

sim_port=$(free_port)
gw_port=$(free_port)
"$corridor" simulate --urls "http://127.0.0.1:$sim_port" --error-rate "$ERROR_RATE" --rate-limit-rate "$RATE_LIMIT_RATE" \
  --disconnect-rate "$DISCONNECT_RATE" --token-interval-ms "$TOKEN_INTERVAL_MS" --seed 7 >"$work/simulator.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$sim_port/_sim/stats"

cat >"$work/corridor.yaml" <<YAML
server:
  urls: http://127.0.0.1:$gw_port
  streamIdleTimeoutSeconds: 10
storage:
  sqlite: $work/corridor.db
observability:
  logFormat: json
vendors:
  - { id: sim, kind: openai, baseUrl: "http://127.0.0.1:$sim_port/v1" }
models:
  - { id: soak, vendor: sim, capabilities: [chat], contextWindow: 128000 }
deployments:
  - { id: soak-sg, model: soak, region: sg, priority: 1, price: { input: 2.00, output: 8.00 } }
  - { id: soak-jp, model: soak, region: jp-east, priority: 2, price: { input: 2.00, output: 8.00 } }
YAML
"$corridor" --config "$work/corridor.yaml" tenants add --id soak --name "Soak Ltd." --country SG >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; die "tenants add failed"; }
"$corridor" --config "$work/corridor.yaml" keys issue --tenant soak >>"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; die "keys issue failed"; }
key=$(grep -oE 'sk-cor-[0-9A-Za-z]{40}' "$work/cli.log" | head -n1)
[[ -n $key ]] || die "no key issued"

"$corridor" --config "$work/corridor.yaml" serve >"$work/gateway.log" 2>&1 &
gw_pid=$!
pids+=("$gw_pid")
wait_http "http://127.0.0.1:$gw_port/healthz"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$gw_pid/status"; }
metric_sum() { # prefix: sum of every sample whose name starts with it
  operator_get "http://127.0.0.1:$gw_port/metrics" | awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { printf "%d\n", s }'
}

log "warm-up $WARMUP at $RATE requests/s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$here/wrk/soak.lua" "http://127.0.0.1:$gw_port" -- "$key" "$RATE" "$THREADS" >"$work/warmup.txt" 2>&1 ||
  { cat "$work/warmup.txt" >&2; die "warm-up failed"; }
rss_start=$(rss_kb)
requests_start=$(metric_sum 'corridor_requests_total')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

log "soak $DURATION at $RATE requests/s ($CONNECTIONS connections); RSS after warm-up $((rss_start / 1024)) MiB"
echo "seconds,rss_kb" >"$work/rss.csv"
(
  start=$SECONDS
  while kill -0 "$gw_pid" 2>/dev/null; do
    echo "$((SECONDS - start)),$(rss_kb)" >>"$work/rss.csv"
    sleep "$SAMPLE"
  done
) &
sampler=$!
pids+=("$sampler")
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${duration_s}s" --timeout 30s -s "$here/wrk/soak.lua" "http://127.0.0.1:$gw_port" -- "$key" "$RATE" "$THREADS" >"$work/soak.txt" 2>&1 ||
  { cat "$work/soak.txt" >&2; die "wrk failed"; }
kill "$sampler" 2>/dev/null || true
rss_end=$(rss_kb)
rss_max=$(awk -F, 'NR > 1 && $2 > m { m = $2 } END { print m + 0 }' "$work/rss.csv")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# The ledger catches up: every request the gateway counted is a row (polled for up to 30 s).
ready=""
for _ in $(seq 60); do
  ready=$(operator_get "http://127.0.0.1:$gw_port/readyz")
  [[ $ready == *'"pending":0,'* ]] && break
  sleep 0.5
done
requests_counted=$(metric_sum 'corridor_requests_total')
ledger_rows=$(metric_sum 'corridor_ledger_written_total')

line=$(grep '^SOAK ' "$work/soak.txt") || { cat "$work/soak.txt" >&2; die "no SOAK line from wrk"; }
field() { sed -nE "s/.* $1=([0-9]+).*/\\1/p" <<<"$line"; }
requests=$(field requests)
duration_us=$(field duration_us)
throughput=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.1f", r / (d / 1e6) }')
kinds=$(tr ' ' '\n' <<<"$line" | grep -E '^(ok_|status_|stream_error)' | tr '\n' ' ')
gateway_500=$(tr ' ' '\n' <<<"$line" | sed -nE 's/^status_500=([0-9]+)$/\1/p')
growth_kb=$((rss_end - rss_start))

cat <<REPORT

Soak: $DURATION at $RATE requests/s target, $CONNECTIONS connections, faults: ${ERROR_RATE} 5xx, ${RATE_LIMIT_RATE} 429, ${DISCONNECT_RATE} cut streams
  throughput        $throughput requests/s ($requests requests; p50 $(( $(field p50_us) / 1000 )) ms, p99 $(( $(field p99_us) / 1000 )) ms)
  answers by kind   $kinds
  socket errors     connect=$(field connect) read=$(field read) write=$(field write) timeout=$(field timeout)
  gateway counted   $((requests_counted - requests_start)) requests in the soak; ledger rows written since start: $ledger_rows (all requests incl. warm-up: $requests_counted)
  gateway by outcome (whole run, from /metrics):
$(operator_get "http://127.0.0.1:$gw_port/metrics" | grep '^corridor_requests_total' | sed 's/^/    /')
  memory (RSS)      after warm-up $((rss_start / 1024)) MiB, end $((rss_end / 1024)) MiB, max $((rss_max / 1024)) MiB; growth $((growth_kb / 1024)) MiB (bound: $MAX_GROWTH_MB MiB)
  load average      start $load_start, end $load_end ($(nproc) cores)
  readiness at end  $ready
REPORT

status=0
if ((growth_kb > MAX_GROWTH_MB * 1024)); then
  echo "FAIL: RSS grew by $((growth_kb / 1024)) MiB, more than $MAX_GROWTH_MB MiB" >&2
  status=1
fi
if [[ $ready != *'"pending":0,'* ]]; then
  echo "FAIL: the ledger did not catch up within 30 s after the load" >&2
  status=1
fi
if ((ledger_rows != requests_counted)); then
  echo "FAIL: $requests_counted requests counted but $ledger_rows ledger rows written" >&2
  status=1
fi
if [[ -n $gateway_500 ]]; then
  echo "FAIL: $gateway_500 requests answered 500" >&2
  status=1
fi
exit $status
