/**
 * Position bookkeeping for one SQL text: libpg-query speaks UTF-8 byte offsets, Postgres error
 * positions are 1-based character counts, people and GitHub want 1-based line and column.
 */
export interface LineColumn {
  line: number;
  column: number;
}

export class TextPositions {
  readonly text: string;
  private readonly lineStarts: number[];
  private bytes: Buffer | undefined;

  constructor(text: string) {
    this.text = text;
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
  }

  get byteLength(): number {
    return this.buffer().length;
  }

  private buffer(): Buffer {
    this.bytes ??= Buffer.from(this.text, 'utf8');
    return this.bytes;
  }

  /** 1-based line and column of a string index (UTF-16 units; a column counts characters). */
  lineColumnAt(index: number): LineColumn {
    const i = Math.max(0, Math.min(index, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = this.lineStarts[lo]!;
    return { line: lo + 1, column: countCodePoints(this.text, lineStart, i) + 1 };
  }

  /**
   * String indexes of many UTF-8 byte offsets, in one pass over the bytes.
   * Offsets may come in any order; a result is given for each.
   */
  indexesOfByteOffsets(offsets: readonly number[]): number[] {
    const buf = this.buffer();
    const order = offsets.map((o, i) => [o, i] as const).sort((a, b) => a[0] - b[0]);
    const out = new Array<number>(offsets.length);
    let byte = 0;
    let index = 0;
    for (const [target, slot] of order) {
      const stop = Math.min(target, buf.length);
      while (byte < stop) {
        const b = buf[byte]!;
        // Count each character at its lead byte; 4-byte sequences are two UTF-16 units.
        if ((b & 0xc0) !== 0x80) index += b >= 0xf0 ? 2 : 1;
        byte++;
      }
      out[slot] = index;
    }
    return out;
  }

  /** String index of the n-th code point (0-based) counted from `from`: maps Postgres character positions. */
  indexAfterCodePoints(from: number, count: number): number {
    let i = from;
    for (let n = 0; n < count && i < this.text.length; n++) {
      const c = this.text.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    return i;
  }
}

function countCodePoints(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    // The low half of a surrogate pair belongs to the character before it.
    if (c >= 0xdc00 && c <= 0xdfff && i > from) {
      const prev = text.charCodeAt(i - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) continue;
    }
    n++;
  }
  return n;
}

/**
 * Index of the first token at or after `from`: skips white space, `--` comments and nested
 * `/* *\/` comments, so a statement's position is where its text starts, not its leading comment.
 */
export function skipTrivia(text: string, from: number, to = text.length): number {
  let i = from;
  while (i < to) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\uFEFF') {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? to : nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < to && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else break;
  }
  return Math.min(i, to);
}
