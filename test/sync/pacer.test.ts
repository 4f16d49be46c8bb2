import assert from 'node:assert/strict';
import { Pacer } from '../../src/sync/pacer';

describe('sync: the pacer learns the pace from 429s (pure clock)', () => {
  it('no gap until the first 429; then the rate the service allowed since, 2% under', () => {
    let t = 1_000;
    const pacer = new Pacer(() => t);
    void pacer.turn();
    assert.equal(pacer.gapMs, 0);
    // 20 successes in 500 ms, then "too fast".
    for (let i = 0; i < 20; i++) { t += 25; pacer.ok(); }
    pacer.throttled();
    assert.equal(Math.round(pacer.gapMs * 100) / 100, 25.5);
    // At that pace, 40 in a second, then throttled again: 25 ms a request allowed → 25.5.
    for (let i = 0; i < 40; i++) { t += 25; pacer.ok(); }
    pacer.throttled();
    assert.ok(pacer.gapMs >= 25 && pacer.gapMs < 26, String(pacer.gapMs));
  });

  it('creeps faster after 50 successes in a row, to find a raised limit', () => {
    let t = 0;
    const pacer = new Pacer(() => t);
    for (let i = 0; i < 10; i++) { t += 100; pacer.ok(); }
    pacer.throttled();
    const gap = pacer.gapMs;
    for (let i = 0; i < 50; i++) { t += gap; pacer.ok(); }
    assert.ok(pacer.gapMs < gap, `${pacer.gapMs} < ${gap}`);
  });

  it('a 429 with no success since: slows down, never stops', () => {
    const pacer = new Pacer(() => 0);
    pacer.throttled();
    assert.equal(pacer.gapMs, 50);
    pacer.throttled();
    assert.equal(pacer.gapMs, 75);
  });
});
