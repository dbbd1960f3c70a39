#!/usr/bin/env bash
# Whole-system benchmark: one fixed-answer upstream, measured directly, through nginx proxy_pass and
# through Corridor, with wrk, in one run; prints requests/s, p50 and p99 for each and Corridor's
# ratios to nginx, then a run paced at RATE requests/s and the p99 latency Corridor adds; for each, the part of
# Corridor's latency that was the wait for its ledger commits (from /healthz, docs/durability.md).
#
#   bench/run.sh                       # about five minutes, build included
#   DURATION=30s CONNECTIONS=128 bench/run.sh
#
# Environment (all optional):
#   DURATION=8s  CONNECTIONS=64  THREADS=2  WARMUP=15s      saturating runs (same for every path; the warm-up is long
#                                                            enough for the .NET paths to finish tiered compilation)
#   RATE=1000  PACED_CONNECTIONS=16  PACED_DURATION=DURATION paced runs
#   ROUNDS=3                                                 rounds of each; paths interleave within a round
#   CORRIDOR_BIN=path                                        use this `corridor` executable, skip the build
#   CORRIDOR_ENV="DOTNET_gcServer=1 ..."                     extra environment for the Corridor process only
#   LIMITS=1                                                 limits and budgets on the tenant and the key (set high,
#                                                            so nothing is refused); LIMITS=0 runs without any
#   KEEP=1                                                   keep the temporary directory (configs, logs)
#   FLOOR=1                                                  also measure bench/Floor, a bare Kestrel + HttpClient proxy on
#                                                            Corridor's runtime settings (the least a .NET gateway costs
#                                                            here); FLOOR=0 leaves it out
#   FLOOR_ARGS="httpclient kestrel"                          the floor's upstream client (httpclient|sockets) and server
#                                                            (kestrel|raw: a minimal HTTP/1.1 server of its own, no Kestrel)
#   POLICY=1                                                 a policy of one rule allowing everything: every request is
#                                                            decided and its decision audited (POLICY=0, the default, has none)
#   STORE=postgres                                           Corridor's store: a throwaway PostgreSQL (scripts/postgres.sh)
#                                                            instead of a SQLite file; STORE_URL="Host=..." uses that database
set -euo pipefail

DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-15s}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-1000}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-16}
PACED_DURATION=${PACED_DURATION:-$DURATION}
CORRIDOR_ENV=${CORRIDOR_ENV:-}
LIMITS=${LIMITS:-1}
POLICY=${POLICY:-0}
FLOOR=${FLOOR:-1}
FLOOR_ARGS=${FLOOR_ARGS:-httpclient kestrel}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/corridor-bench.XXXXXX")
chmod 755 "$work" # nginx workers drop root and must reach their temp paths
pids=()

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if declare -F stop_postgres >/dev/null; then
    stop_postgres
  fi
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
install_tools

# --- Corridor build ----------------------------------------------------------------------------
corridor=$(corridor_executable)
if [[ $FLOOR == 1 ]]; then
  log "building the .NET floor (bench/Floor, Release)"
  dotnet build "$here/Floor" -c Release -o "$work/floor" -nologo -v quiet >"$work/floor-build.log" 2>&1 ||
    { cat "$work/floor-build.log" >&2; die "build of bench/Floor failed"; }
fi

upstream_port=$(free_port)
nginx_port=$(free_port)
corridor_port=$(free_port)
while [[ $nginx_port == "$upstream_port" ]]; do nginx_port=$(free_port); done
while [[ $corridor_port == "$upstream_port" || $corridor_port == "$nginx_port" ]]; do corridor_port=$(free_port); done
floor_port=$(free_port)
while [[ $floor_port == "$upstream_port" || $floor_port == "$nginx_port" || $floor_port == "$corridor_port" ]]; do floor_port=$(free_port); done

# --- (a) the fixed-answer upstream: nginx answering one realistic chat.completion (lib.sh) -------
# The same process answers in every configuration, so the upstream costs the same everywhere.
write_upstream_conf "$upstream_port"
mkdir -p "$work/proxy-tmp"

# --- (b) nginx proxy_pass, configured as one would in production: upstream keepalive ------------
{
  nginx_common proxy
  cat <<EOF
  upstream fixed_answer {
    server 127.0.0.1:$upstream_port;
    keepalive 256;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
  }
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location / {
      proxy_pass http://fixed_answer;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
} >"$work/proxy.conf"

for name in upstream proxy; do
  "$nginx_bin" -t -q -p "$work" -c "$work/$name.conf" || die "nginx rejected $work/$name.conf"
  "$nginx_bin" -p "$work" -c "$work/$name.conf" 2>>"$work/$name.error.log" &
  pids+=($!)
done

# --- (c) Corridor: one openai-kind vendor at the fixed upstream, one model, one deployment ------
storage="sqlite: $work/corridor.db"
if [[ ${STORE:-sqlite} == postgres ]]; then
  if [[ -z ${STORE_URL:-} ]]; then
    source "$root/scripts/postgres.sh"
    postgres_start
    STORE_URL=$POSTGRES_URL
  fi
  storage="postgres: \"$STORE_URL\""
  log "Corridor's store: PostgreSQL"
fi
setup_corridor "$corridor" "$work" "$corridor_port" "$upstream_port" "$storage"
cfg=$work/corridor.yaml
if [[ $LIMITS == 1 ]]; then
  set_limits "$corridor" "$work"
fi
if [[ $POLICY == 1 ]]; then
  add_policy "$work"
fi

# shellcheck disable=SC2086 # CORRIDOR_ENV is a list of NAME=VALUE words
env $CORRIDOR_ENV "$corridor" --config "$cfg" serve >"$work/corridor.log" 2>&1 &
pids+=($!)

path=/v1/chat/completions
declare -A url=(
  [direct]=http://127.0.0.1:$upstream_port$path
  [nginx]=http://127.0.0.1:$nginx_port$path
  [floor]=http://127.0.0.1:$floor_port$path
  [corridor]=http://127.0.0.1:$corridor_port$path
)
declare -A label=([direct]="direct (upstream)" [nginx]="nginx proxy_pass" [floor]=".NET floor" [corridor]="Corridor")
paths=(direct nginx corridor)
if [[ $FLOOR == 1 ]]; then
  # shellcheck disable=SC2086 # FLOOR_ARGS is two words
  "$work/floor/corridor-floor" "http://127.0.0.1:$floor_port" "${url[direct]}" $FLOOR_ARGS >"$work/floor.log" 2>&1 &
  pids+=($!)
  paths=(direct nginx floor corridor)
fi

for p in "${paths[@]}"; do
  wait_http "${url[$p]}"
done

# Every path must answer the request with the upstream's 200 and its usage, or the figures mean nothing.
body='{"model":"gpt-4.1","messages":[{"role":"user","content":"ping"}]}'
# With PostgreSQL, a gateway's first request of a limited tenant waits while the gateway leases its share of the fleet's
# limits, and is asked to retry when that takes over 2 s (docs/limits-and-budgets.md, "Several gateways"); the check
# retries then, a few seconds at most.
for p in "${paths[@]}"; do
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    status=$(curl -s -o "$work/check-$p.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $key" --data "$body" "${url[$p]}")
    [[ $status == 429 ]] && grep -q 'fetching its share' "$work/check-$p.json" || break
    sleep 1
  done
  [[ $status == 200 ]] && grep -q '"usage"' "$work/check-$p.json" ||
    { cat "$work/check-$p.json" >&2; [[ $p == corridor ]] && tail -n 20 "$work/corridor.log" >&2; die "$p answered $status"; }
done

# --- measurement -------------------------------------------------------------------------------
# CPU time each proxy spends per request, from /proc: far steadier than throughput on a shared machine,
# so it shows where the cost is even when other work disturbs the rates.
tick_us=$((1000000 / $(getconf CLK_TCK)))
children() { pgrep -P "$1" | tr '\n' ' '; }
cpu_ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done; echo "$total"; }
declare -A procs=(
  [direct]="$(children "${pids[0]}")"
  [nginx]="$(children "${pids[1]}")"
  [corridor]="${pids[2]}"
  [floor]="${pids[3]:-}"
)

declare -A results # [path.kind] = "rps p50 p99 cpu errors" lines, one per round
run_wrk() { # path kind(warmup|throughput|paced) round
  local p=$1 kind=$2 round=$3 out=$work/wrk-$1-$2-$3.txt
  # shellcheck disable=SC2086 # procs holds a list of pids
  local before
  before=$(cpu_ticks ${procs[$p]})
  case $kind in
    warmup) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --latency -s "$here/wrk/chat.lua" "${url[$p]}" -- "$key" >"$out" ;;
    throughput) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$here/wrk/chat.lua" "${url[$p]}" -- "$key" >"$out" ;;
    paced) wrk -t"$THREADS" -c"$PACED_CONNECTIONS" -d"$PACED_DURATION" --latency -s "$here/wrk/paced.lua" "${url[$p]}" -- "$key" "$RATE" "$THREADS" >"$out" ;;
  esac
  # shellcheck disable=SC2086
  local ticks=$(($(cpu_ticks ${procs[$p]}) - before))
  local line
  line=$(grep '^BENCH ' "$out") || die "wrk printed no result for $p ($kind): $(cat "$out")"
  local -A f=()
  local kv
  for kv in ${line#BENCH }; do
    f[${kv%%=*}]=${kv#*=}
  done
  local errors=$((f[connect] + f[read] + f[write] + f[status] + f[timeout]))
  if [[ $kind != warmup && $errors -ne 0 ]]; then
    log "warning: $p ($kind, round $round) had errors: connect=${f[connect]} read=${f[read]} write=${f[write]} status=${f[status]} timeout=${f[timeout]}"
  fi
  results[$p.$kind]+=$(awk -v r="${f[requests]}" -v d="${f[duration_us]}" -v a="${f[p50_us]}" -v b="${f[p99_us]}" \
    -v t="$ticks" -v us="$tick_us" -v e="$errors" \
    'BEGIN { cpu = (r > 0) ? t * us / r : 0; printf "%.0f %.3f %.3f %.1f %d\n", r / (d / 1e6), a / 1000, b / 1000, cpu, e }')$'\n'
}

# median FIELD PATH.KIND (fields: 1 rps, 2 p50, 3 p99, 4 cpu); errors are summed
median() {
  printf '%s' "${results[$2]}" | awk -v f="$1" 'NF { print $f }' | sort -g |
    awk '{ v[n++] = $1 } END { if (n % 2) print v[(n - 1) / 2]; else print (v[n / 2 - 1] + v[n / 2]) / 2 }'
}
column() { printf '%s' "${results[$2]}" | awk -v f="$1" 'NF { printf "%s%s", sep, $f; sep = " " }'; }
total_errors() { printf '%s' "${results[$1]}" | awk 'NF { e += $5 } END { print e + 0 }'; }

log "warming up each path ($WARMUP, $CONNECTIONS connections)"
for p in "${paths[@]}"; do run_wrk "$p" warmup 0; done
log "saturating runs: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION per path, paths interleaved"
health_before=$(healthz "$corridor_port")
for round in $(seq "$ROUNDS"); do
  for p in "${paths[@]}"; do run_wrk "$p" throughput "$round"; done
done
commit_wait_throughput=$(commit_wait "$health_before" "$(healthz "$corridor_port")")
log "paced runs: $ROUNDS rounds at $RATE requests/s, wrk -t$THREADS -c$PACED_CONNECTIONS -d$PACED_DURATION"
health_before=$(healthz "$corridor_port")
for round in $(seq "$ROUNDS"); do
  for p in "${paths[@]}"; do run_wrk "$p" paced "$round"; done
done
commit_wait_paced=$(commit_wait "$health_before" "$(healthz "$corridor_port")")

# --- report ------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "NOT met" }'; }
table() { # kind
  printf '  %-20s %12s %10s %10s %12s %8s\n' path "${4:-requests/s}" "p50 ms" "p99 ms" "CPU us/req" errors
  for p in "${paths[@]}"; do
    printf '  %-20s %12.0f %10.3f %10.3f %12.1f %8s\n' "${label[$p]}" "$(median 1 "$p.$1")" "$(median 2 "$p.$1")" \
      "$(median 3 "$p.$1")" "$(median 4 "$p.$1")" "$(total_errors "$p.$1")"
  done
}

echo
echo "Corridor whole-system benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) CPUs, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk, both nginx and Corridor share the machine; nothing is pinned. Figures are medians of $ROUNDS interleaved rounds."
echo "CPU us/req: CPU time of the process answering wrk (the upstream itself for direct) per request."
[[ -z $CORRIDOR_ENV ]] || echo "Corridor ran with: $CORRIDOR_ENV"
if [[ $LIMITS == 1 ]]; then echo "Limits and budgets on the tenant and the key (LIMITS=1)."; else echo "No limits or budgets (LIMITS=0)."; fi
if [[ $POLICY == 1 ]]; then echo "A policy of one rule allowing everything: every request decided and audited (POLICY=1)."; fi
echo
echo "Saturating: wrk -t$THREADS -c$CONNECTIONS -d$DURATION per round (after a $WARMUP warm-up per path)"
table throughput
tput_ratio=$(ratio "$(median 1 corridor.throughput)" "$(median 1 nginx.throughput)")
rounds_ratio=$(paste -d' ' <(column 1 corridor.throughput | tr ' ' '\n') <(column 1 nginx.throughput | tr ' ' '\n') |
  awk '{ printf "%s%.2f", sep, $1 / $2; sep = " " }')
echo
echo "  Corridor / nginx:   throughput $tput_ratio (rounds: $rounds_ratio)   p50 $(ratio "$(median 2 corridor.throughput)" "$(median 2 nginx.throughput)")   p99 $(ratio "$(median 3 corridor.throughput)" "$(median 3 nginx.throughput)")   CPU per request $(ratio "$(median 4 corridor.throughput)" "$(median 4 nginx.throughput)")"
echo "  nginx / direct:     throughput $(ratio "$(median 1 nginx.throughput)" "$(median 1 direct.throughput)")"
echo "  Corridor / direct:  throughput $(ratio "$(median 1 corridor.throughput)" "$(median 1 direct.throughput)")"
echo "  Corridor's ledger commit wait (part of its latency above: responses waiting for their ledger rows to be durable): $commit_wait_throughput"
if [[ $FLOOR == 1 ]]; then
  echo "  .NET floor / nginx: throughput $(ratio "$(median 1 floor.throughput)" "$(median 1 nginx.throughput)")   CPU per request $(ratio "$(median 4 floor.throughput)" "$(median 4 nginx.throughput)")   (bench/Floor: $FLOOR_ARGS)"
  echo "  Corridor / floor:   throughput $(ratio "$(median 1 corridor.throughput)" "$(median 1 floor.throughput)")   CPU per request $(ratio "$(median 4 corridor.throughput)" "$(median 4 floor.throughput)")"
fi
echo
echo "Paced: $RATE requests/s, wrk -t$THREADS -c$PACED_CONNECTIONS -d$PACED_DURATION per round"
table paced "" "" achieved/s
p99_rounds() { column 3 "$1.paced"; }
echo "  p99 per round (ms):  direct $(p99_rounds direct)   nginx $(p99_rounds nginx)   Corridor $(p99_rounds corridor)"
added_direct=$(minus "$(median 3 corridor.paced)" "$(median 3 direct.paced)")
added_nginx=$(minus "$(median 3 corridor.paced)" "$(median 3 nginx.paced)")
echo
echo "  Corridor added p99:  vs direct $added_direct ms   vs nginx $added_nginx ms   (nginx adds $(minus "$(median 3 nginx.paced)" "$(median 3 direct.paced)") ms vs direct)"
echo "  Corridor's ledger commit wait (included in its latency): $commit_wait_paced"
if [[ $FLOOR == 1 ]]; then
  echo "  .NET floor added p99: vs direct $(minus "$(median 3 floor.paced)" "$(median 3 direct.paced)") ms"
fi
echo "  Corridor added p50:  vs direct $(minus "$(median 2 corridor.paced)" "$(median 2 direct.paced)") ms   vs nginx $(minus "$(median 2 corridor.paced)" "$(median 2 nginx.paced)") ms"
echo
echo "Targets"
echo "  throughput >= 0.60 x nginx:                 $tput_ratio   $(verdict "$tput_ratio" 0.60 '>=')"
echo "  added p99 <= 1 ms at $RATE/s, vs direct:      $added_direct ms   $(verdict "$added_direct" 1.0 '<=')"
echo "  added p99 <= 1 ms at $RATE/s, vs nginx:       $added_nginx ms   $(verdict "$added_nginx" 1.0 '<=')"

all_errors=0
for k in "${!results[@]}"; do
  [[ $k == *.warmup ]] || all_errors=$((all_errors + $(total_errors "$k")))
done
if ((all_errors > 0)); then
  echo
  echo "WARNING: $all_errors wrk errors (non-2xx, timeouts or socket errors); see the warnings above."
fi
if grep -qE '^(fail|crit)' "$work/corridor.log"; then
  echo
  echo "WARNING: Corridor logged failures:"
  grep -E '^(fail|crit)' "$work/corridor.log" | head -n 5 | cut -c1-300
fi
