#!/usr/bin/env bash
# Replays the development corpus through the distillation monitor (corridor replay, Release build) and scores the
# detector report with the corpus's score.py: per-campaign requests-to-detection, and the benign keys flagged.
#   scripts/score-monitor.sh [REPORT.json]
# The corpus is ../shared/corpus/dev beside the repository (or CORRIDOR_CORPUS_DIR). Exit status is score.py's:
# 0 when every campaign is detected within budget and no benign key is flagged.
set -euo pipefail
cd "$(dirname "$0")/.."

corpus="${CORRIDOR_CORPUS_DIR:-}"
if [ -z "$corpus" ]; then
  for candidate in ../shared/corpus/dev ../../shared/corpus/dev; do
    if [ -f "$candidate/traffic.jsonl.gz" ]; then corpus="$candidate"; break; fi
  done
fi
if [ -z "$corpus" ] || [ ! -f "$corpus/traffic.jsonl.gz" ]; then
  echo "error: the corpus was not found in ../shared/corpus/dev; set CORRIDOR_CORPUS_DIR" >&2
  exit 2
fi
score="$(cd "$corpus/.." && pwd)/score.py"
report="${1:-$(mktemp -d)/report.json}"

dotnet build src/Corridor/Corridor.csproj -c Release -nologo -v quiet >/dev/null
echo "== corridor replay $corpus/traffic.jsonl.gz --out $report"
TIMEFORMAT='   (%R s wall, %U s user, %S s system)'
time dotnet src/Corridor/bin/Release/net10.0/corridor.dll replay "$corpus/traffic.jsonl.gz" --out "$report"
echo "== score.py"
python3 "$score" "$corpus/traffic.jsonl.gz" "$corpus/labels.json" "$report"
