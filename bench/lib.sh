# Shared by run.sh and ab.sh: tools, ports, and the fixed-answer upstream (nginx answering one realistic
# chat.completion), so both scripts measure against the same upstream. Needs $work and log/die from the caller.

install_tools() {
  missing=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    sudo=()
    [[ $EUID -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
}

free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# The admin token the gateways measured here start with (in the default server.adminTokenEnv variable): /healthz and
# /readyz give their counters to it alone, and /metrics answers it (docs/observability.md). A random one unless the
# caller set it.
export CORRIDOR_ADMIN_TOKEN=${CORRIDOR_ADMIN_TOKEN:-bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
operator_get() { curl -s -H "Authorization: Bearer $CORRIDOR_ADMIN_TOKEN" "$@"; }

wait_http() { # url
  for _ in $(seq 300); do
    if curl -s -o /dev/null "$1"; then
      return 0
    fi
    sleep 0.1
  done
  die "nothing answers at $1"
}

# The same process answers in every configuration, so the upstream costs the same everywhere.
answer='{"id":"chatcmpl-BcnZ7x1fQ2bench0000000000001","object":"chat.completion","created":1750000000,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Singapore is a city-state, so the capital is Singapore itself: the country and its capital share one name, and the Downtown Core is its administrative and financial centre.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":49,"completion_tokens":37,"total_tokens":86,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b3f1157249"}'

nginx_common() { # name
  cat <<EOF
worker_processes auto;
daemon off;
pid $work/$1.pid;
error_log $work/$1.error.log warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path $work/$1-tmp/body;
  proxy_temp_path $work/$1-tmp/proxy;
EOF
}

write_upstream_conf() { # port
  mkdir -p "$work/upstream-tmp"
  {
    nginx_common upstream
    cat <<EOF
  server {
    listen 127.0.0.1:$1 backlog=4096;
    location = /v1/chat/completions {
      default_type application/json;
      return 200 '$answer';
    }
    location / { return 404; }
  }
}
EOF
  } >"$work/upstream.conf"
}

# Writes DIR/corridor.yaml (one openai-kind vendor at the fixed upstream, one model, one deployment, its own SQLite
# file, default ledger settings), adds a tenant and issues a key with the CLI; sets $key to the secret.
setup_corridor() { # corridor-executable dir port upstream-port [storage, default: sqlite in dir]
  local corridor=$1 dir=$2 storage=${5:-"sqlite: $2/corridor.db"}
  cat >"$dir/corridor.yaml" <<EOF
server:
  urls: http://127.0.0.1:$3
storage:
  $storage
vendors:
  - id: fixed
    kind: openai
    baseUrl: http://127.0.0.1:$4/v1
models:
  - id: gpt-4.1
    vendor: fixed
    capabilities: [chat, tools, vision]
    contextWindow: 1047576
deployments:
  - id: gpt-4.1-bench
    model: gpt-4.1
    region: sg
    price: { input: 2.00, output: 8.00 }
EOF
  "$corridor" --config "$dir/corridor.yaml" tenants add --id bench --name "Bench Ltd." --country SG >"$dir/cli.log" 2>&1 ||
    { cat "$dir/cli.log" >&2; die "corridor tenants add failed"; }
  "$corridor" --config "$dir/corridor.yaml" keys issue --tenant bench >>"$dir/cli.log" 2>&1 ||
    { cat "$dir/cli.log" >&2; die "corridor keys issue failed"; }
  key=$(grep -oE 'sk-cor-[0-9A-Za-z]{40}' "$dir/cli.log" | head -n1) || true
  [[ -n $key ]] || { cat "$dir/cli.log" >&2; die "no secret in the output of corridor keys issue"; }
}

# Limits and budgets on the bench tenant and its key, set high enough that nothing is refused, so every admission check
# runs (rate windows, stream slots, budget reservations on tenant and key). Needs DIR/cli.log from setup_corridor.
set_limits() { # corridor-executable dir
  local corridor=$1 dir=$2 key_id
  local limits=(--rpm 1000000000 --tpm 9000000000000 --concurrent-streams 1000000 --daily-budget 1000000000
    --daily-soft-budget 900000000 --monthly-budget 10000000000 --monthly-soft-budget 9000000000)
  key_id=$(grep -oE 'key_[0-9a-f]{16}' "$dir/cli.log" | head -n1) || true
  "$corridor" --config "$dir/corridor.yaml" tenants update bench "${limits[@]}" >>"$dir/cli.log" 2>&1 &&
    "$corridor" --config "$dir/corridor.yaml" keys update "$key_id" "${limits[@]}" >>"$dir/cli.log" 2>&1 ||
    { cat "$dir/cli.log" >&2; die "corridor tenants/keys update (limits) failed"; }
}

# A policy of one rule that allows every tenant every model from every region, added to DIR/corridor.yaml: each request
# is then decided and its decision appended to the audit log, as in any deployment with a policy (docs/policy.md).
add_policy() { # dir
  cat >"$1/policy.yaml" <<EOF
version: "bench-1"
rules:
  - id: everyone
    description: Every tenant may use every model from every region.
    allow_jurisdictions: ["*"]
EOF
  printf 'policy:\n  include: [%s]\n' "$1/policy.yaml" >>"$1/corridor.yaml"
}

# The ledger commit wait between two readings of Corridor's /healthz (docs/durability.md): how long responses waited
# for their ledger rows to be durable, apart from the gateway's own work. Prints "mean M p50 A p99 B ms, R rows/commit"
# (p50 and p99 are the upper bounds of their histogram buckets), or "n/a" for a build without the figures.
healthz() { operator_get "http://127.0.0.1:$1/healthz" || true; }
commit_wait() { # healthz-json-before healthz-json-after
  jq -nr --argjson a "${1:-null}" --argjson b "${2:-null}" '
    if ($a.ledger.commit_wait == null) or ($b.ledger.commit_wait == null) then "n/a" else
      ($b.ledger.commit_wait.count - $a.ledger.commit_wait.count) as $n
      | ($b.ledger.commit_wait.total_us - $a.ledger.commit_wait.total_us) as $t
      | ($b.ledger.written - $a.ledger.written) as $rows | ($b.ledger.commits - $a.ledger.commits) as $commits
      | [$b.ledger.commit_wait.buckets_us | to_entries[] | {le: .key, n: (.value - $a.ledger.commit_wait.buckets_us[.key])}] as $buckets
      | def q(p): reduce $buckets[] as $x ({acc: 0, v: null};
            .acc += $x.n | if .v == null and .acc >= p * $n then .v = $x.le else . end) | .v
            | if . == "inf" or . == null then ">409.6" else ((tonumber / 1000) | tostring) end;
      if $n == 0 then "no waits" else
        "mean \(($t / $n / 1000 * 1000 | round) / 1000) p50<=\(q(0.5)) p99<=\(q(0.99)) ms, \(if $commits > 0 then ($rows / $commits | floor) else 0 end) rows/commit"
      end
    end'
}

# The corridor executable to measure: $CORRIDOR_BIN, else a Release build of this checkout into $work/corridor.
# Needs root, work, log and die from the calling script.
corridor_executable() {
  if [[ -n ${CORRIDOR_BIN:-} ]]; then
    [[ -x $CORRIDOR_BIN ]] || die "no executable at $CORRIDOR_BIN"
    echo "$CORRIDOR_BIN"
    return
  fi
  log "building Corridor (Release)" >&2
  dotnet build "$root/src/Corridor" -c Release -o "$work/corridor" -nologo -v quiet >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; die "build failed"; }
  echo "$work/corridor/corridor"
}
