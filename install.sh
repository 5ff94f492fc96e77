#!/bin/sh
# Installs edgehub as a system service on Debian, Ubuntu or Raspberry Pi OS. Read it before you run
# it (`less install.sh`), then: `sudo sh install.sh`.
#
# What it does, and nothing more:
#   1. checks that Node.js 20.19 or later is installed (it installs no Node.js itself);
#   2. npm install -g edgehub          (the package from the npm registry);
#   3. edgehub install                 (the edgehub user, /etc/edgehub, /var/lib/edgehub, the systemd
#                                       unit; `edgehub install --print-unit` shows the unit first).
# Running it again is safe: npm updates the package and `edgehub install` changes only what differs.
set -eu

MIN_MAJOR=20
MIN_MINOR=19

say() { printf '%s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

node_help() {
  say "Debian 12 and Raspberry Pi OS Bookworm ship Node.js 18 in their own 'nodejs' package, which is"
  say "too old. Install Node.js 22 (or 20) from NodeSource, as Node-RED's and zigbee2mqtt's guides do:"
  say ""
  say "  sudo apt-get install -y ca-certificates curl"
  say "  curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash -"
  say "  sudo apt-get install -y nodejs"
  say ""
  say "then run this script again. (NodeSource builds for arm64 and armhf, so for 32-bit Raspberry Pi OS too.)"
}

if ! command -v node >/dev/null 2>&1; then
  say "install.sh: Node.js is not installed; edgehub needs ${MIN_MAJOR}.${MIN_MINOR} or later." >&2
  node_help >&2
  exit 1
fi

version=$(node --version)
# v20.19.0 -> 20 and 19
numbers=${version#v}
major=${numbers%%.*}
rest=${numbers#*.}
minor=${rest%%.*}
case "$major$minor" in
  *[!0-9]* | '') fail "cannot read the Node.js version from '$version'" ;;
esac
if [ "$major" -lt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -lt "$MIN_MINOR" ]; }; then
  say "install.sh: edgehub needs Node.js ${MIN_MAJOR}.${MIN_MINOR} or later; this is $version." >&2
  node_help >&2
  exit 1
fi
say "Node.js $version: ok"

if [ "$(id -u)" -ne 0 ]; then
  fail "run it as root (sudo sh install.sh): it installs a global npm package and a system service"
fi

command -v npm >/dev/null 2>&1 || fail "npm is missing (NodeSource's nodejs package includes it)"

say "npm install -g edgehub"
npm install -g edgehub
say "edgehub install"
edgehub install
