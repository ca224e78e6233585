#!/usr/bin/env bash
# Installs what renderhook needs to run and test on Debian/Ubuntu: Chromium,
# fonts, and poppler-utils (pdfinfo, used by tests to count PDF pages).
# Does nothing when everything is already there.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
# The headless shell renders; see browser.FindChromium for why. chromium
# stays for its shared files and as the fallback.
dpkg -s chromium-headless-shell >/dev/null 2>&1 || need+=(chromium-headless-shell)
dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
# Chinese, Japanese and Korean glyphs; without them client pages in those
# scripts render as tofu boxes.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v pdfinfo >/dev/null 2>&1 || need+=(poppler-utils)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: please install: ${need[*]} (no apt-get here)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
