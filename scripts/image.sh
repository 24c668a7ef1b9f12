#!/usr/bin/env bash
# Builds the FXStream image from deploy/Dockerfile and checks it: every executable answers --help, and
# the ingestor (against the simulator, from the same image) and the aggregator start against the local
# stack from inside their containers and report ready.
#
# With a Docker engine this is `docker build` / `docker run`. Without one (as on these build machines) it
# uses Debian's buildah and podman, and makes the Dockerfile's base images locally when no registry is
# reachable: `debian:bookworm-slim` by debootstrap (minbase) from this machine's own apt mirror, and the
# Swift builder from it plus the toolchain's runtime libraries, with this machine's toolchain mounted
# read-only into the build (and its Swift package mirror, when it has one).
#
# Usage: bash scripts/image.sh [build|check|all]   (default all)
#   FX_IMAGE      the image's tag (default localhost/fxstream:dev)
#   FX_SWIFT_TAG  the builder's tag as the Dockerfile names it (default swift:6.3-bookworm)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$FX_ROOT/scripts/apt.sh"
cd "$FX_ROOT"
IMAGE="${FX_IMAGE:-localhost/fxstream:dev}"
SWIFT_TAG="${FX_SWIFT_TAG:-swift:6.3-bookworm}"
STEP="${1:-all}"
log() { printf '[image] %s\n' "$*" >&2; }
seconds() { echo $(( $(date +%s) - $1 )); }

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  ENGINE=docker
  build() { docker build -f deploy/Dockerfile -t "$IMAGE" .; }
  run() { docker run --rm --network host "$@"; }
  start() { docker run -d --network host "$@"; }
  stop() { docker stop -t 20 "$1" >/dev/null; docker wait "$1"; docker rm "$1" >/dev/null; }
  logs() { docker logs "$1" 2>&1 | tail -n 40; }
  size() { docker image inspect -f '{{.Size}}' "$IMAGE"; }
else
  ENGINE=podman
  apt_install debootstrap buildah podman runc
  # podman 4.3 here: runc (crun fails on hybrid cgroups), cgroupfs, explicit limits (defaults are refused).
  PODMAN=(podman --cgroup-manager cgroupfs)
  RUN_OPTS=(--runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network host)
  run() { "${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" "$@"; }
  start() { "${PODMAN[@]}" run -d "${RUN_OPTS[@]}" "$@"; }
  stop() { "${PODMAN[@]}" stop -t 20 "$1" >/dev/null; "${PODMAN[@]}" wait "$1"; "${PODMAN[@]}" rm "$1" >/dev/null; }
  logs() { "${PODMAN[@]}" logs "$1" 2>&1 | tail -n 40; }
  size() { "${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE"; }
  TOOLCHAIN="$(cd "$(dirname "$(readlink -f "$(command -v swift)")")/../.." && pwd)"

  base_images() {
    if ! "${PODMAN[@]}" image exists localhost/debian:bookworm-slim; then
      local mirror rootfs started=$SECONDS
      mirror="$(debian_mirror)"
      [ -n "$mirror" ] || { log "cannot derive a Debian mirror from /etc/apt"; exit 1; }
      rootfs="$(mktemp -d /tmp/fx-rootfs.XXXXXX)"
      log "debootstrap --variant=minbase bookworm (from the machine's mirror)"
      debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/fx-debootstrap.log 2>&1 \
        || { tail -n 20 /tmp/fx-debootstrap.log; exit 1; }
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
      tar -C "$rootfs" -c . | "${PODMAN[@]}" import - localhost/debian:bookworm-slim >/dev/null
      rm -rf "$rootfs"
      log "base localhost/debian:bookworm-slim made in $((SECONDS - started)) s"
    fi
    if ! "${PODMAN[@]}" image exists "localhost/$SWIFT_TAG"; then
      local started=$SECONDS container
      log "builder localhost/$SWIFT_TAG: bookworm + the runtime libraries of the toolchain at $TOOLCHAIN"
      container="$(buildah from --pull-never localhost/debian:bookworm-slim)"
      buildah run --isolation chroot "$container" -- sh -c 'apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils git libc6-dev libcurl4 libedit2 \
           libgcc-12-dev libsqlite3-0 libstdc++-12-dev libxml2 libz3-4 libncurses6 pkg-config tzdata zlib1g-dev ca-certificates >/dev/null \
        && rm -rf /var/lib/apt/lists/*'
      buildah config --env "PATH=$TOOLCHAIN/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$container"
      buildah commit -q "$container" "localhost/$SWIFT_TAG" >/dev/null
      buildah rm "$container" >/dev/null
      log "builder made in $((SECONDS - started)) s"
    fi
  }

  build() {
    base_images
    local volumes=(-v "$TOOLCHAIN:$TOOLCHAIN:ro")
    # The machine's copies of the Swift packages, where git is told to read github.com from them.
    if [ -d /opt/swift-packages ] && [ -f /etc/gitconfig ]; then
      volumes+=(-v /opt/swift-packages:/opt/swift-packages:ro -v /etc/gitconfig:/etc/gitconfig:ro)
    fi
    # Docker format: OCI images have no SHELL, which the Dockerfile relies on.
    buildah bud --format docker --isolation chroot --pull-never --layers=false "${volumes[@]}" -f deploy/Dockerfile -t "$IMAGE" .
  }
fi

check() {
  log "every executable answers --help"
  for executable in ingestor aggregator backfiller monitor fxadmin fxsim; do
    run "$IMAGE" "$executable" --help >/dev/null || { log "$executable --help failed in the image"; exit 1; }
  done
  bash scripts/stack.sh start >/dev/null
  eval "$(bash scripts/stack.sh env)"
  local prefix="image$$." sim ingestor aggregator ok=1
  run -e KAFKA_BROKERS="$KAFKA_BROKERS" -e TOPIC_PREFIX="$prefix" -e DATABASE_URL="$DATABASE_URL" "$IMAGE" fxadmin create-topics >/dev/null
  sim="$(start "$IMAGE" fxsim --port 18790)"
  ingestor="$(start -e KAFKA_BROKERS="$KAFKA_BROKERS" -e TOPIC_PREFIX="$prefix" -e HTTP_PORT=18791 "$IMAGE" \
    ingestor --provider coinbase --symbols BTC-USD --ws-url ws://127.0.0.1:18790/coinbase)"
  aggregator="$(start -e KAFKA_BROKERS="$KAFKA_BROKERS" -e TOPIC_PREFIX="$prefix" -e HTTP_PORT=18792 -e DATABASE_URL="$DATABASE_URL" \
    "$IMAGE" aggregator)"
  for port in 18791 18792; do
    local ready=0
    for _ in $(seq 1 60); do
      if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null; then ready=1; break; fi
      sleep 1
    done
    if [ "$ready" = 1 ]; then log "port $port: ready"; else log "port $port: not ready within 60 s"; ok=0; fi
  done
  [ "$ok" = 1 ] || { logs "$ingestor"; logs "$aggregator"; }
  for container in "$ingestor" "$aggregator"; do
    local status
    status="$(stop "$container")"
    [ "$status" = 0 ] || { log "a service exited $status on SIGTERM"; ok=0; }
  done
  stop "$sim" >/dev/null || true
  [ "$ok" = 1 ] || exit 1
  log "the image runs: ingestor and aggregator ready against the local stack, stopped cleanly"
}

case "$STEP" in
  build|all)
    started=$(date +%s)
    log "building $IMAGE with $ENGINE"
    build
    log "built $IMAGE in $(seconds "$started") s; size $(( $(size) / 1024 / 1024 )) MiB"
    [ "$STEP" = build ] || check
    ;;
  check) check ;;
  *) echo "usage: scripts/image.sh [build|check|all]" >&2; exit 64 ;;
esac
