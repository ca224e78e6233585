// renderhook's takumi helper: renders HTML with the native takumi build
// (@takumi-rs/core, via N-API) for a Go supervisor (internal/takumi).
//
// Protocol, on stdin/stdout, every frame is a 4-byte big-endian length and
// then that many bytes:
//   request : JSON {"id": n, "html": "...", "width": w, "height": h,
//                   "format": "png"|"jpeg"|"webp"|"raw", "quality": q,
//                   "images": [{"src": url, "data": base64}]}
//             (takumi itself fetches nothing: the Go side fetches a
//             template's images through the egress guard and sends them)
//   response: 4-byte id, 1-byte status (0 ok, 1 error, 2 unsupported),
//             2-byte renders in flight when this one began, then the image
//             bytes or a UTF-8 error message. "raw" is takumi's straight
//             RGBA pixels, width x height x 4 bytes, which the Go side
//             encodes as PNG (internal/takumi/png.go: faster than takumi's
//             own encoder).
// The first response, id 0, says the helper is ready (fonts registered).
// Fonts are the files named in TAKUMI_FONTS, separated by newlines.
// When stdin ends the helper finishes what is in flight and exits.
'use strict';

const fs = require('node:fs');
const { Renderer } = require('@takumi-rs/core');
const { fromHtml } = require('@takumi-rs/helpers/html');

const out = process.stdout;
const formats = new Set(['png', 'jpeg', 'webp', 'raw']);

function send(id, status, inflight, body) {
  const head = Buffer.alloc(11);
  head.writeUInt32BE(7 + body.length, 0);
  head.writeUInt32BE(id, 4);
  head.writeUInt8(status, 8);
  head.writeUInt16BE(Math.min(inflight, 65535), 9);
  // Two writes, not a copy of the body (raw pixels are megabytes).
  out.write(head);
  out.write(body);
}

async function main() {
  const renderer = new Renderer();
  const fonts = (process.env.TAKUMI_FONTS || '').split('\n').filter(Boolean);
  const failed = [];
  for (const file of fonts) {
    try {
      await renderer.registerFont(fs.readFileSync(file));
    } catch (e) {
      failed.push(file + ': ' + (e && e.message ? e.message : String(e)));
    }
  }
  send(0, 0, 0, Buffer.from(JSON.stringify({ fonts: fonts.length - failed.length, failed })));

  let inflight = 0;
  let pending = 0;
  let ended = false;
  const done = () => { if (ended && pending === 0) process.exit(0); };

  async function handle(req) {
    const began = ++inflight;
    try {
      if (!formats.has(req.format)) {
        send(req.id, 2, began, Buffer.from('takumi cannot produce ' + String(req.format)));
        return;
      }
      const { node, css } = fromHtml(req.html);
      const opts = { width: req.width, height: req.height, format: req.format, css };
      if (req.quality) opts.quality = req.quality;
      if (req.images && req.images.length) {
        opts.images = req.images.map((i) => ({ src: i.src, data: Buffer.from(i.data, 'base64') }));
      }
      const img = await renderer.render(node, opts);
      send(req.id, 0, began, img);
    } catch (e) {
      send(req.id, 1, began, Buffer.from(e && e.message ? e.message : String(e)));
    } finally {
      inflight--;
      pending--;
      done();
    }
  }

  let buf = Buffer.alloc(0);
  process.stdin.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (buf.length < 4 + n) break;
      const frame = buf.subarray(4, 4 + n);
      buf = buf.subarray(4 + n);
      let req;
      try {
        req = JSON.parse(frame.toString('utf8'));
      } catch (e) {
        process.stderr.write('takumi helper: bad frame: ' + e.message + '\n');
        process.exit(2);
      }
      pending++;
      handle(req);
    }
  });
  process.stdin.on('end', () => { ended = true; done(); });
}

main().catch((e) => {
  process.stderr.write('takumi helper: ' + (e && e.stack ? e.stack : String(e)) + '\n');
  process.exit(1);
});
