import assert from 'node:assert/strict';
import { inert } from '../../src/cards/inert-text';

describe('inert text (partner and Microsoft text where Teams renders markdown)', () => {
  const table: Array<[string, string, string]> = [
    ['a link with a lure', '[Support: re-verify your account](https://evil.example/login)', '\\[Support: re-verify your account\\](https://evil.example/login)'],
    ['bold', '**bold**', '\\*\\*bold\\*\\*'],
    ['italic and strike', '_it_ ~~gone~~', '\\_it\\_ \\~\\~gone\\~\\~'],
    ['a Teams mention / HTML', '<at>x</at>', '\\<at\\>x\\</at\\>'],
    ['an Adaptive Card date function', '{{DATE(2017-02-14T06:08:39Z, SHORT)}}', '\\{\\{DATE(2017-02-14T06:08:39Z, SHORT)\\}\\}'],
    ['template syntax', '${root}', '$\\{root\\}'],
    ['a heading on a new line', 'Contoso\n# heading', 'Contoso \\# heading'],
    ['a list item on a new line', 'Contoso\r\n- item', 'Contoso - item'],
    ['a list item at the start', '- item', '\\- item'],
    ['a plus item at the start', '+ item', '\\+ item'],
    ['a numbered item at the start', '1. item', '1\\. item'],
    ['a numbered item with a parenthesis', '12) item', '12\\) item'],
    ['a thematic break', '---', '\\---'],
    ['code', '`rm -rf` ```', '\\`rm -rf\\` \\`\\`\\`'],
    ['a table', 'a | b\n--|--', 'a \\| b --\\|--'],
    ['a backslash itself', 'C:\\temp', 'C:\\\\temp'],
    ['tabs and control characters', 'a\tb\u0000c\u2028d', 'a b c d'],
    ['an image', '![x](https://evil.example/x.png)', '!\\[x\\](https://evil.example/x.png)'],
    // Ordinary text reads as typed.
    ['a name', 'Megan Bowen', 'Megan Bowen'],
    ['a company', 'Contoso Cloud Services GmbH (Berlin) - EU', 'Contoso Cloud Services GmbH (Berlin) - EU'],
    ['an email and a domain', 'megan.bowen@contoso-cloud.de, www.contoso.com', 'megan.bowen@contoso-cloud.de, www.contoso.com'],
    ['a date and a number', '2025-06-01, 1.5 days', '2025-06-01, 1.5 days'],
    ['an apostrophe and quotes', 'O\'Brien & "Sons"', 'O\'Brien & "Sons"'],
  ];
  for (const [what, input, expected] of table) {
    it(`${what}: ${JSON.stringify(input)}`, () => {
      assert.equal(inert(input), expected);
    });
  }

  it('no unescaped markdown character is left, whatever goes in', () => {
    const nasty = '\\[a](b) **c** __d__ `e` <f> {{g}} ${h} # i | j ~k~\n- l\n1. m';
    const out = inert(nasty);
    // Every markdown character is preceded by an odd run of backslashes: each is escaped.
    for (const m of out.matchAll(/(\\*)([`*_~[\]{}<>#|])/g)) assert.equal(m[1]!.length % 2, 1, `unescaped ${m[2]} in ${out}`);
    assert.doesNotMatch(out, /[\r\n]/);
  });
});
