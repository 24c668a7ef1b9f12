# Sourced by the project's scripts: Debian package helpers. No registry host is written here: the
# mirror is read from this machine's own apt configuration.

# Installs the Debian packages named that are not installed yet.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  printf '[apt] apt-get install %s\n' "${missing[*]}" >&2
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the machine's Debian mirror (the first non-security `.../debian` URI of its apt sources).
debian_mirror() {
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null || true; grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print "URIs: "$2}' || true; } \
    | awk '{print $2}' | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true
}
