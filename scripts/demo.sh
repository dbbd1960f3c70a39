#!/usr/bin/env bash
# Starts Corridor on the embedded default store (./data/corridor.db) with the upstream simulator as every
# vendor, creates a demo tenant and a fresh key, and prints a request that works. Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.tmp/demo
dotnet build src/Corridor -c Release -o "$out" -nologo -v quiet
corridor="$out/corridor"

"$corridor" simulate --urls http://127.0.0.1:9090 &
simulator=$!
trap 'kill $simulator 2>/dev/null || true' EXIT

"$corridor" tenants add --id demo --name "Demo Trading Pte. Ltd." --country SG --controlling-country SG \
  --entity-type enterprise --tier established --verified-until 2030-01-01 >/dev/null 2>&1 || true
secret=$("$corridor" keys issue --tenant demo --name demo | grep -oE 'sk-cor-[A-Za-z0-9]+' | head -n 1)

cat <<TXT

Corridor is starting on http://127.0.0.1:8080 (simulated upstreams on :9090). Try, from another terminal:

  curl -s http://127.0.0.1:8080/v1/chat/completions \\
    -H "Authorization: Bearer $secret" -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4.1","messages":[{"role":"user","content":"Hello from the demo"}]}'

  curl -s http://127.0.0.1:8080/v1/messages \\
    -H "x-api-key: $secret" -H "anthropic-version: 2023-06-01" -H "Content-Type: application/json" \\
    -d '{"model":"claude-sonnet-4","max_tokens":200,"messages":[{"role":"user","content":"Hello"}]}'

  curl -s http://127.0.0.1:8080/v1/responses \\
    -H "Authorization: Bearer $secret" -H "Content-Type: application/json" \\
    -d '{"model":"claude-sonnet-4","instructions":"Be brief.","input":"Hello from the Responses API"}'

TXT
"$corridor" serve --config corridor.yaml
