"use strict";
// Prints the signed render link Urlbox's official SDK (urlbox 2.2.0, pinned
// in package-lock.json) makes for the JSON on stdin:
// {"key", "secret", "prefix", "options"}. Used by internal/server's
// TestUrlboxSDKRenderLink.
const Urlbox = require("urlbox").default;

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { key, secret, prefix, options } = JSON.parse(input);
  process.stdout.write(Urlbox(key, secret, prefix).generateRenderLink(options));
});
