#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian 12 machine.
# Idempotent: a step whose result is already there is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need_cmd() { command -v "$1" >/dev/null 2>&1; }

if ! need_cmd cargo; then
  echo "setup: cargo not found: install Rust (rustup) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

# System packages: C compiler for the bundled SQLCipher and OpenSSL's libcrypto it
# links (libssl-dev); libdbus for the OS keyring that keeps the database key (cdht-app);
# WebKitGTK and friends for the Tauri desktop app; Xvfb, WebKitWebDriver and ImageMagick
# for its end-to-end tests; Node.js and npm to build the web UI (when not already installed).
apt_packages=(build-essential pkg-config libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb webkit2gtk-driver imagemagick)
need_cmd npm || apt_packages+=(nodejs npm)
# The third-party protocol client in sync-server/tests is a Python script.
need_cmd python3 || apt_packages+=(python3)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# The app's web UI (ui/) and the end-to-end test client (tests/e2e/): npm packages
# at the lock files' versions, reinstalled only when a lock file changed. `npm install`,
# not `npm ci`: the lock holds only this platform's optional binaries (the mirror
# here serves no others), which `npm ci` would refuse as out of sync.
npm_install() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}
npm_install ui
npm_install tests/e2e
# Built here so that `cargo build --workspace` embeds the real UI, not a placeholder.
(cd ui && npm run build --silent >/dev/null)

# The WebDriver server of the app's end-to-end tests.
if ! need_cmd tauri-driver; then
  cargo install tauri-driver --locked
fi
