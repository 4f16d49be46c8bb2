import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { ROOT } from '../helpers/bot-process';
import { SEARCH_PARAMETER } from '../../src/bot/commands/customer';

// The Teams manifest schemas ship in Microsoft's @microsoft/app-manifest package: offline, pinned.
const SCHEMA = join(ROOT, 'node_modules', '@microsoft', 'app-manifest', 'build', 'json-schemas', 'teams', 'v1.22', 'MicrosoftTeams.schema.json');
const MANIFEST = join(ROOT, 'manifest', 'manifest.json');

/** Fills the Toolkit's ${{VAR}} placeholders the way `teamsApp/zipAppPackage` does. */
function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{\{([A-Z0-9_]+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`manifest placeholder ${key} has no value in the test`);
    return v;
  });
}

function png(path: string): { width: number; height: number; pixels: Buffer } {
  const buf = readFileSync(path);
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  assert.equal(buf[24], 8, 'bit depth 8');
  assert.equal(buf[25], 6, 'RGBA');
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length;) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    if (type === 'IDAT') idat.push(buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * 4 + 1)], 0, 'unfiltered rows');
    raw.copy(pixels, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, pixels };
}

describe('Teams app package', () => {
  const manifestText = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(fill(manifestText, {
    TEAMS_APP_ID: '8d0b0ae4-3f1c-4f5e-9d8c-3a7f1b2c4d5e',
    BOT_ID: '2c2f8a51-7d4b-4a35-9d7e-0e3c6f1a9b10',
    BOT_DOMAIN: 'bot.example.com',
    PUBLIC_BASE_URL: 'https://bot.example.com',
    APP_NAME_SUFFIX: '-dev',
  })) as Record<string, unknown> & { bots: Array<{ scopes: string[]; commandLists: Array<{ commands: Array<{ title: string }> }> }> };

  it('validates against the Teams manifest schema it names (v1.22)', () => {
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const ok = validate(manifest);
    assert.ok(ok, JSON.stringify(validate.errors, null, 2));
    assert.equal(manifest.manifestVersion, '1.22');
    assert.match(String(manifest.$schema), /\/v1\.22\/MicrosoftTeams\.schema\.json$/);
  });

  it('a broken manifest fails the same validation (the check can fail)', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
    assert.equal(validate({ ...manifest, bots: [{ botId: 'not-a-guid', scopes: ['everywhere'] }] }), false);
  });

  it('uses the Toolkit placeholders for ids and domain', () => {
    for (const p of ['${{BOT_ID}}', '${{TEAMS_APP_ID}}', '${{BOT_DOMAIN}}']) assert.ok(manifestText.includes(p), p);
  });

  it('has a bot in personal, team and group chat scopes, with help among its commands', () => {
    const [bot] = manifest.bots;
    assert.deepEqual([...bot!.scopes].sort(), ['groupChat', 'personal', 'team']);
    assert.ok(bot!.commandLists[0]!.commands.some((c) => c.title === 'help'));
  });

  it('has the "Find a customer" search message extension on the same bot, with the parameter the bot reads', () => {
    const [ext] = (manifest as unknown as { composeExtensions: Array<{ botId: string; commands: Array<{ id: string; type: string; title: string; parameters: Array<{ name: string }> }> }> }).composeExtensions;
    assert.equal(ext!.botId, (manifest.bots[0] as unknown as { botId: string }).botId);
    const [command] = ext!.commands;
    assert.deepEqual([command!.id, command!.type, command!.title], ['findCustomer', 'query', 'Find a customer']);
    assert.deepEqual(command!.parameters.map((p) => p.name), [SEARCH_PARAMETER]);
  });

  it('ships a 192x192 color icon and a 32x32 white-on-transparent outline icon', () => {
    const color = png(join(ROOT, 'manifest', 'color.png'));
    assert.deepEqual([color.width, color.height], [192, 192]);
    const outline = png(join(ROOT, 'manifest', 'outline.png'));
    assert.deepEqual([outline.width, outline.height], [32, 32]);
    let transparent = 0;
    for (let i = 0; i < outline.pixels.length; i += 4) {
      const [r, g, b, a] = outline.pixels.subarray(i, i + 4);
      if (a === 0) transparent++;
      else assert.deepEqual([r, g, b], [255, 255, 255], 'outline pixels are white');
    }
    assert.ok(transparent > 0 && transparent < 32 * 32, 'outline has a transparent background and a mark');
  });
});
