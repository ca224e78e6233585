#!/usr/bin/env bash
# Refreshes the page scripts internal/browser embeds from their npm
# packages, unmodified, with their licences and a NOTICE line each:
#   - @duckduckgo/autoconsent (MPL-2.0): the cookie-banner rules and the
#     bundle that runs them (hide_cookie_banners, click_accept);
#   - @mozilla/readability (Apache-2.0): reader mode (readable);
#   - @tailwindcss/browser (MIT): Tailwind CSS in html renders (use_tailwind).
# Usage: scripts/update-autoconsent.sh [AUTOCONSENT_VERSION [READABILITY_VERSION [TAILWIND_VERSION]]]
# The versions are pinned here; bump them, run this, run the browser tests
# (TestRenderURLConsent, TestRenderURLReadable, TestRenderURLHTMLSource) and
# commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
ac_version=${1:-16.23.0}
rd_version=${2:-0.6.0}
tw_version=${3:-4.3.4}
dest=internal/browser/thirdparty
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package version -> unpacked directory
  (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null)
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  mkdir -p "$tmp/$3"
  tar xzf "$tgz" -C "$tmp/$3"
  rm "$tgz"
}

fetch @duckduckgo/autoconsent "$ac_version" ac
mkdir -p "$dest/autoconsent"
cp "$tmp/ac/package/dist/autoconsent.playwright.js" "$tmp/ac/package/rules/rules.json" \
  "$tmp/ac/package/LICENSE" "$dest/autoconsent/"
cat >"$dest/autoconsent/NOTICE" <<NOTICE
autoconsent.playwright.js and rules.json are unmodified copies of
dist/autoconsent.playwright.js and rules/rules.json from the npm package
@duckduckgo/autoconsent $ac_version (https://github.com/duckduckgo/autoconsent),
licensed under the Mozilla Public License 2.0 (LICENSE beside this file);
its source is available from that repository. Refreshed by
scripts/update-autoconsent.sh.
NOTICE

fetch @mozilla/readability "$rd_version" rd
mkdir -p "$dest/readability"
cp "$tmp/rd/package/Readability.js" "$tmp/rd/package/LICENSE.md" "$dest/readability/"
cat >"$dest/readability/NOTICE" <<NOTICE
Readability.js is an unmodified copy of Readability.js from the npm package
@mozilla/readability $rd_version (https://github.com/mozilla/readability),
licensed under the Apache License 2.0 (LICENSE.md beside this file).
Refreshed by scripts/update-autoconsent.sh.
NOTICE
fetch @tailwindcss/browser "$tw_version" tw
mkdir -p "$dest/tailwind"
cp "$tmp/tw/package/dist/index.global.js" "$dest/tailwind/tailwindcss-browser.js"
cp "$tmp/tw/package/LICENSE" "$dest/tailwind/"
cat >"$dest/tailwind/NOTICE" <<NOTICE
tailwindcss-browser.js is an unmodified copy of dist/index.global.js from the
npm package @tailwindcss/browser $tw_version (https://github.com/tailwindlabs/tailwindcss),
licensed under the MIT License (LICENSE beside this file). Refreshed by
scripts/update-autoconsent.sh.
NOTICE
echo "autoconsent $ac_version, readability $rd_version and tailwind $tw_version in $dest"
