import { describe, expect, it } from 'vitest';
import { LiveLine, wantsColor } from '../src/cli/live-line.js';

describe('colour', () => {
  it('follows the flag, then FORCE_COLOR, then NO_COLOR, then whether it is a terminal', () => {
    expect(wantsColor(undefined, {}, true)).toBe(true);
    expect(wantsColor(undefined, {}, false)).toBe(false);
    expect(wantsColor(undefined, { NO_COLOR: '1' }, true)).toBe(false);
    expect(wantsColor(undefined, { NO_COLOR: '' }, true)).toBe(true);
    expect(wantsColor(undefined, { FORCE_COLOR: '1' }, false)).toBe(true);
    expect(wantsColor(undefined, { FORCE_COLOR: '0' }, true)).toBe(false);
    expect(wantsColor(false, { FORCE_COLOR: '1' }, true)).toBe(false);
  });
});

describe('the live line', () => {
  it('draws in place on a terminal and clears itself before other output', () => {
    const written: string[] = [];
    const live = new LiveLine((s) => written.push(s), true, 40);
    live.show('filling users, orders to 500,000 rows, then timing it');
    // Cut to the width, never wrapped: a wrapped live line cannot be rewritten in place.
    expect(written[0]!.startsWith('\r\u001b[Kfilling users, orders to')).toBe(true);
    expect(written[0]!.endsWith('…')).toBe(true);
    expect(written[0]!.length - 4).toBeLessThanOrEqual(39);
    live.clear();
    expect(written.at(-1)).toBe('\r\u001b[K');
    live.clear();
    expect(written).toHaveLength(2);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const written: string[] = [];
    const live = new LiveLine((s) => written.push(s), false, 80);
    live.show('starting');
    live.clear();
    expect(written).toEqual([]);
  });
});
