// Draws the Teams app icons (manifest/color.png 192x192, manifest/outline.png 32x32 white on
// transparent) without an image library: a tiny RGBA PNG encoder over node:zlib.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

type Pixel = [number, number, number, number];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function encodePng(size: number, pixel: (x: number, y: number) => Pixel): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x, y);
      raw.set([r, g, b, a], y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A handshake-ish mark: two interlocking rings. `inside` tells whether (u, v) in [0,1]² is ink. */
function inside(u: number, v: number, stroke: number): boolean {
  const ring = (cx: number, cy: number, r: number) => Math.abs(Math.hypot(u - cx, v - cy) - r) < stroke;
  return ring(0.4, 0.5, 0.22) || ring(0.6, 0.5, 0.22);
}

const dir = join(__dirname, '..', 'manifest');
writeFileSync(join(dir, 'color.png'), encodePng(192, (x, y) => {
  const [u, v] = [(x + 0.5) / 192, (y + 0.5) / 192];
  return inside(u, v, 0.045) ? [255, 255, 255, 255] : [70, 71, 117, 255];
}));
writeFileSync(join(dir, 'outline.png'), encodePng(32, (x, y) => {
  const [u, v] = [(x + 0.5) / 32, (y + 0.5) / 32];
  return inside(u, v, 0.06) ? [255, 255, 255, 255] : [0, 0, 0, 0];
}));
