// Package demo holds the quickstart's social card, a leaf so that the
// renderers' own tests (internal/takumi) can render it without importing
// the command line.
package demo

import "github.com/renderhook/renderhook/internal/store"

// CardHTML is the social-card template quickstart installs; the
// benchmark and takumi's tests render the same HTML.
const CardHTML = `<!doctype html>
<html><head><meta charset="utf-8"><style>
  html, body { margin: 0; width: 1200px; height: 630px; }
  body { font-family: "Liberation Sans", Arial, sans-serif; background: {{.background}}; color: #fff;
         display: flex; flex-direction: column; justify-content: center; padding: 0 80px; box-sizing: border-box; }
  h1 { font-size: 72px; margin: 0 0 24px; line-height: 1.1; }
  p  { font-size: 34px; margin: 0; opacity: .85; }
  .badge { position: absolute; right: 60px; bottom: 50px; font-size: 26px; padding: 10px 22px;
           border-radius: 999px; background: rgba(255,255,255,.18); }
</style></head>
<body>
  <h1>{{.title}}</h1>
  <p>{{.subtitle}}</p>
  <div class="badge">renderhook</div>
</body></html>`

// CardVariables are the card's variables.
var CardVariables = []store.Variable{
	{Name: "title", Type: "string", Default: "Hello from renderhook"},
	{Name: "subtitle", Type: "string", Default: "Templates to PNG, JPEG, WebP and PDF"},
	{Name: "background", Type: "color", Default: "#4f46e5"},
}
