#!/usr/bin/env bash
# Builds the Go agent example (examples/agent_consumer.go) into .deps/bin/agent_consumer_go: GOPATH mode
# over the confluent-kafka-go sources scripts/install-deps.sh unpacked, linked statically against the
# project's librdkafka (.deps/rdkafka). No module proxy is used. Prints the binary's path.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
out="$FX_ROOT/.deps/bin/agent_consumer_go"
mkdir -p "$(dirname "$out")"
if [ ! -x "$out" ] || [ examples/agent_consumer.go -nt "$out" ]; then
  GO111MODULE=off GOPATH="$FX_ROOT/.deps/gocode/usr/share/gocode" GOCACHE="$FX_ROOT/.deps/gocache" GOFLAGS= \
    PKG_CONFIG_PATH="$FX_ROOT/.deps/rdkafka/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    go build -tags static -o "$out" examples/agent_consumer.go
fi
echo "$out"
