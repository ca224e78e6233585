#!/usr/bin/env bash
# Installs what renderhook needs to run and test on Debian/Ubuntu: Chromium,
# fonts, poppler-utils (pdfinfo, used by tests to count PDF pages), ffmpeg and
# prometheus (promtool, used by tests to lint /metrics).
# Does nothing when everything is already there.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
# Chinese, Japanese and Korean glyphs; without them client pages in those
# scripts render as tofu boxes.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v pdfinfo >/dev/null 2>&1 || need+=(poppler-utils)
# avifenc (Debian's libavif-bin) encodes the avif format of v1 renders
# (internal/browser/urlavif.go; chosen by measurement, docs/BENCHMARKS.md).
command -v avifenc >/dev/null 2>&1 || need+=(libavif-bin)
# ffmpeg (Debian's ffmpeg: libx264, libvpx) encodes the mp4 and webm
# formats of v1 renders (internal/browser/urlvideoenc.go); ffprobe, from
# the same package, measures them in the tests.
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
# promtool (Debian's prometheus package) lints /metrics in the server tests.
command -v promtool >/dev/null 2>&1 || need+=(prometheus)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# takumi, the browserless fast path (internal/takumi): Node from Debian and
# the helper's pinned npm packages (package-lock.json), installed with npm ci
# when node_modules is missing or older than the lock file.
takumi_dir="$(cd "$(dirname "$0")/.." && pwd)/internal/takumi/helper"
if [ -f "$takumi_dir/package-lock.json" ]; then
  tneed=()
  command -v node >/dev/null 2>&1 || tneed+=(nodejs)
  command -v npm >/dev/null 2>&1 || tneed+=(npm)
  if [ ${#tneed[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
      echo "install-deps: installing ${tneed[*]} (for takumi)" >&2
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${tneed[@]}" >/dev/null
    else
      echo "install-deps: please install: ${tneed[*]} (no apt-get here)" >&2
      exit 1
    fi
  fi
  # npm ci wherever a pinned package-lock.json's node_modules is missing or
  # older than it: the takumi helper, and Urlbox's official SDK that
  # internal/server's TestUrlboxSDKRenderLink signs links with.
  for dir in "$takumi_dir" "$(dirname "$takumi_dir")/../server/testdata/urlbox-sdk"; do
    stamp="$dir/node_modules/.package-lock.json"
    if [ -f "$dir/package-lock.json" ] && { [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; }; then
      echo "install-deps: npm ci in $dir" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi

# The user Chromium runs as when renderhook runs as root (--chromium-user's
# default; without it renderhook uses nobody): Chromium will not sandbox
# itself as root, and this user cannot read renderhook's data dir. Only
# root needs it (as another user renderhook runs Chromium as itself), so
# nobody is asked for sudo for it.
if [ -z "$SUDO" ] && ! getent passwd renderhook-chromium >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then
    echo "install-deps: creating the system user renderhook-chromium" >&2
    $SUDO useradd --system --no-create-home --shell /usr/sbin/nologin renderhook-chromium ||
      echo "install-deps: WARNING: could not create renderhook-chromium; Chromium will run as nobody" >&2
  fi
fi
# The headless shell renders; see browser.FindChromium for why. It is
# Debian's package; where apt has none, renderhook uses chromium, so its
# absence is a warning, not a failure.
shell_missing=0
dpkg -s chromium-headless-shell >/dev/null 2>&1 || shell_missing=1

if [ ${#need[@]} -eq 0 ] && [ $shell_missing -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: please install: ${need[*]} (no apt-get here)" >&2
    exit 1
  fi
  exit 0
fi
$SUDO apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ $shell_missing -eq 1 ]; then
  echo "install-deps: installing chromium-headless-shell" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null ||
    echo "install-deps: WARNING: chromium-headless-shell is not available here; renderhook will use chromium (v1 URL/HTML renders are about 3x slower with it)" >&2
fi

