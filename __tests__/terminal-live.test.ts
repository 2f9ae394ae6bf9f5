import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveLine, wantsColor } from '../src/cli/live-line.js';
import { runPipeline } from '../src/pipeline.js';
import { formatProgress, formatWorkingRows, type ProgressEvent } from '../src/report/terminal.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

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
    expect(written[0]!.startsWith('\rfilling users, orders to')).toBe(true);
    expect(written[0]!.endsWith('…\u001b[K')).toBe(true);
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

  describe('with rows filled of rows asked', () => {
    afterEach(() => vi.useRealTimers());
    /** What the line shows: the last drawing, without the carriage return and the erase. */
    const shown = (written: string[]) => written.at(-1)!.replace(/^\r/, '').replace(/\u001b\[K$/, '');
    const event = (filled: number) => ({ kind: 'working' as const, message: '0002: filling users, orders to 500,000 rows, then timing it', rows: { filled, asked: 1_000_000 } });

    it.each([60, 100])('keeps the count and the clock whole at %i columns and cuts the text instead', (columns) => {
      vi.useFakeTimers();
      const written: string[] = [];
      const live = new LiveLine((s) => written.push(s), true, columns);
      const text = formatProgress({ kind: 'working', message: event(0).message }, { color: false });
      live.show(text, formatWorkingRows(event(0)));
      vi.advanceTimersByTime(3_200);
      live.show(text, formatWorkingRows(event(500_000)));
      const line = shown(written);
      expect([...line].length).toBeLessThanOrEqual(columns - 1);
      // The same work: its clock went on from the first show.
      expect(line.endsWith(' 500,000/1,000,000 rows · 3 s')).toBe(true);
      expect(line.startsWith('0002: filling users')).toBe(true);
      if (columns === 60) {
        expect(line).toBe('0002: filling users, orders… 500,000/1,000,000 rows · 3 s');
        // The cut stays where it is as the seconds grow: the text does not jitter.
        vi.advanceTimersByTime(10_000);
        expect(shown(written)).toBe('0002: filling users, orders… 500,000/1,000,000 rows · 13 s');
      }
      else expect(line).toBe('0002: filling users, orders to 500,000 rows, then timing it… 500,000/1,000,000 rows · 3 s');
      live.clear();
    });

    it('writes only when the line changes, and never blanks it between two drawings', () => {
      vi.useFakeTimers();
      const written: string[] = [];
      const live = new LiveLine((s) => written.push(s), true, 60);
      live.show('filling users…', '0/500,000 rows');
      live.show('filling users…', '0/500,000 rows');
      vi.advanceTimersByTime(400);
      expect(written).toEqual(['\rfilling users… 0/500,000 rows\u001b[K']);
      vi.advanceTimersByTime(700);
      expect(written).toHaveLength(2);
      expect(written.every((w) => w.startsWith('\r') && !w.startsWith('\r\u001b[K'))).toBe(true);
      // Other work: a clock of its own.
      live.show('timing it…');
      expect(shown(written)).toBe('timing it…');
      live.clear();
    });

    it('keeps the colour of a text it has to cut', () => {
      const written: string[] = [];
      const live = new LiveLine((s) => written.push(s), true, 30);
      live.show(formatProgress({ kind: 'working', message: 'filling users, orders, items to 500,000 rows' }, { color: true }), '0/1,500,000 rows');
      expect(written[0]).toMatch(/^\r\u001b\[2m.*…\u001b\[0m 0\/1,500,000 rows\u001b\[K$/);
      expect(written[0]!.replace(/\u001b\[[\d;]*[mK]/g, '').length - 1).toBeLessThanOrEqual(29);
    });
  });
});

describe('progress of a fill', () => {
  it('tells rows filled of rows asked as the performance stage fills each table', async () => {
    const { url } = servers()[0]!;
    const root = makeRepo({
      'migrations/1_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\nCREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));\n',
      'migrations/2_idx.up.sql': 'CREATE INDEX orders_user_id_idx ON orders (user_id);\nALTER TABLE users ADD COLUMN bio text;\n',
    });
    const events: ProgressEvent[] = [];
    await runPipeline(configFor(root, url, { stages: 'performance', perfRows: '8000' }), { progress: (e) => events.push(e) });
    expect(await leftoverScratchDatabases(url)).toEqual([]);
    const working = events.flatMap((e) => (e.kind === 'working' ? [e] : []));
    expect(working[0]).toEqual({ kind: 'working', message: '2: filling orders, users to 8,000 rows, then timing it' });
    const counts = working.slice(1).map((e) => e.rows);
    expect(counts.every((r) => r?.asked === 16_000)).toBe(true);
    // Counted first, then a fourth of the way for a first run, then the whole way.
    expect(counts[0]).toEqual({ filled: 0, asked: 16_000 });
    expect(counts.map((r) => r!.filled)).toEqual([...counts.map((r) => r!.filled)].sort((a, b) => a - b));
    expect(counts.map((r) => r!.filled)).toContain(4_000);
    expect(counts.at(-1)).toEqual({ filled: 16_000, asked: 16_000 });
  }, 60_000);
});
