#!/usr/bin/env bash
# Paired A/B of two Corridor builds: both serve at the same time, against one fixed-answer upstream (the one
# run.sh uses), each driven by its own wrk, so whatever else runs on the machine disturbs both alike. Prints,
# per round, requests/s, CPU time per request and context switches per request of each build.
#
#   bench/ab.sh /path/to/corridor-a /path/to/corridor-b            # saturating, 3 rounds of 5 s
#   MODE=paced RATE=1000 bench/ab.sh A B                           # each at RATE requests/s
#   ENV_B="DOTNET_gcServer=0" bench/ab.sh A A                      # one build, a runtime setting on side b only
#   YAML_B=$'monitor:\n  enabled: false' bench/ab.sh A A          # one build, corridor.yaml sections added on side b only
#
# Per round it also prints each build's ledger commit wait from /healthz (how long responses waited for their ledger
# rows to be durable, docs/durability.md; n/a for a build without it).
#
# Environment: MODE=sat|paced  DURATION=5s  ROUNDS=3  WARMUP=15s  CONNECTIONS=32  RATE=1000  ENV_A  ENV_B  YAML_A  YAML_B  KEEP=1
#              LIMITS=1 (limits and budgets on the tenant and the key, as run.sh; LIMITS=0 without)
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 CORRIDOR_A CORRIDOR_B" >&2; exit 2; }
MODE=${MODE:-sat}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-15s}
CONNECTIONS=${CONNECTIONS:-32}
RATE=${RATE:-1000}
LIMITS=${LIMITS:-1}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/corridor-ab.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  local status=$? pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '== %s\n' "$*" >&2; }
die() { printf 'ab: %s\n' "$*" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
install_tools

upstream_port=$(free_port)
write_upstream_conf "$upstream_port"
"$nginx_bin" -p "$work" -c "$work/upstream.conf" 2>>"$work/upstream.error.log" &
pids+=($!)
wait_http "http://127.0.0.1:$upstream_port/v1/chat/completions"

declare -A bin=([a]=$1 [b]=$2) env=([a]=${ENV_A:-} [b]=${ENV_B:-}) yaml=([a]=${YAML_A:-} [b]=${YAML_B:-}) port secret pid
for s in a b; do
  [[ -x ${bin[$s]} ]] || die "no executable at ${bin[$s]}"
  port[$s]=$(free_port)
  mkdir -p "$work/$s"
  setup_corridor "${bin[$s]}" "$work/$s" "${port[$s]}" "$upstream_port"
  [[ -z ${yaml[$s]} ]] || printf '%s\n' "${yaml[$s]}" >>"$work/$s/corridor.yaml"
  secret[$s]=$key
  if [[ $LIMITS == 1 ]]; then
    set_limits "${bin[$s]}" "$work/$s"
  fi
  cfg=$work/$s/corridor.yaml
  # shellcheck disable=SC2086 # ENV_A/ENV_B are lists of NAME=VALUE words
  env ${env[$s]} "${bin[$s]}" --config "$cfg" serve >"$work/$s/serve.log" 2>&1 &
  pid[$s]=$!
  pids+=($!)
done
for s in a b; do wait_http "http://127.0.0.1:${port[$s]}/healthz"; done

url() { echo "http://127.0.0.1:${port[$1]}/v1/chat/completions"; }
drive() { # side duration output
  if [[ $MODE == paced ]]; then
    wrk -t1 -c16 -d"$2" --latency -s "$here/wrk/paced.lua" "$(url "$1")" -- "${secret[$1]}" "$RATE" 1 >"$3"
  else
    wrk -t1 -c"$CONNECTIONS" -d"$2" --latency -s "$here/wrk/chat.lua" "$(url "$1")" -- "${secret[$1]}" >"$3"
  fi
}
ticks() { awk '{ print $14 + $15 }' "/proc/${pid[$1]}/stat"; }
switches() { cat /proc/"${pid[$1]}"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
field() { grep '^BENCH ' "$1" | grep -oE "$2=[0-9]+" | cut -d= -f2; }

log "warming both up together ($WARMUP, saturating)"
w=(); for s in a b; do MODE=sat drive "$s" "$WARMUP" /dev/null & w+=($!); done; wait "${w[@]}"
tick_us=$((1000000 / $(getconf CLK_TCK)))
echo "paired A/B, $MODE, LIMITS=$LIMITS, $ROUNDS rounds of $DURATION; a=${bin[a]} ${env[a]} ${yaml[a]//$'\n'/ }; b=${bin[b]} ${env[b]} ${yaml[b]//$'\n'/ }"
for round in $(seq "$ROUNDS"); do
  declare -A t0 c0
  declare -A h0
  for s in a b; do t0[$s]=$(ticks "$s"); c0[$s]=$(switches "$s"); h0[$s]=$(healthz "${port[$s]}"); done
  w=(); for s in a b; do drive "$s" "$DURATION" "$work/$s.wrk" & w+=($!); done; wait "${w[@]}"
  line="round $round"
  for s in a b; do
    requests=$(field "$work/$s.wrk" requests)
    line+=$(awk -v s="$s" -v r="$requests" -v d="$(field "$work/$s.wrk" duration_us)" -v t=$(($(ticks "$s") - t0[$s])) -v us="$tick_us" \
      -v c=$(($(switches "$s") - c0[$s])) -v p50="$(field "$work/$s.wrk" p50_us)" -v p99="$(field "$work/$s.wrk" p99_us)" -v e="$(field "$work/$s.wrk" status)" \
      'BEGIN { printf "   %s: %6.0f req/s %6.1f CPU us/req %5.2f cs/req p50 %.2f p99 %.2f ms%s", s, r / (d / 1e6), t * us / r, c / r, p50 / 1000, p99 / 1000, (e > 0 ? " NON-2XX " e : "") }')
  done
  echo "$line   load $(cut -d' ' -f1 /proc/loadavg)"
  echo "          ledger commit wait   a: $(commit_wait "${h0[a]}" "$(healthz "${port[a]}")")   b: $(commit_wait "${h0[b]}" "$(healthz "${port[b]}")")"
done
