#!/usr/bin/env bash
# Runs every test of Corridor: unit tests, and functional tests that start the real gateway and the
# upstream simulator on loopback and drive them with the official OpenAI and Anthropic SDKs.
# Needs only the .NET SDK; anything else the tests need is installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet test Corridor.slnx -c Release "$@"
