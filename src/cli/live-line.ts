/**
 * A line at the bottom of a terminal that says what long work is going on, how far it has come
 * and for how long ("filling users to 500,000 rows… 125,000/500,000 rows 4 s"), rewritten in
 * place and cleared before any other line is printed. Does nothing when the stream is not a terminal.
 */
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[\d;]*m/g;

export class LiveLine {
  private text: string | undefined;
  private tail: string | undefined;
  private started = 0;
  private drawn: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (s: string) => void,
    private readonly enabled: boolean,
    private readonly width: number | undefined,
  ) {}

  /**
   * Shows `text`, with `tail` (how far it has come) kept whole at the end however narrow the
   * terminal. The same text again is the same work going on: its clock keeps running.
   */
  show(text: string, tail?: string): void {
    if (!this.enabled) return;
    if (text !== this.text) this.started = Date.now();
    this.text = text;
    this.tail = tail;
    this.draw();
    this.timer ??= setInterval(() => this.draw(), 500);
    this.timer.unref();
  }

  /** Clears the line; call before printing anything else. */
  clear(): void {
    if (this.text === undefined) return;
    this.text = undefined;
    this.tail = undefined;
    this.drawn = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.write('\r\u001b[K');
  }

  private draw(): void {
    if (this.text === undefined) return;
    const seconds = Math.floor((Date.now() - this.started) / 1000);
    const tail = [this.tail, seconds > 0 ? `${seconds} s` : undefined].filter((x) => x !== undefined && x !== '').join(' · ');
    // One character short of the width: a line that fills the last column wraps on some terminals.
    const room = (this.width ?? 80) - 1;
    let line = tail ? `${this.text} ${tail}` : this.text;
    if (line.replace(SGR, '').length > room) {
      // Cut the text, never the tail: the count and the clock are what change. Room is kept for
      // a clock of three digits, so the cut does not move as the seconds go by.
      const clock = ` · ${'9'.repeat(Math.max(String(seconds).length, 3))} s`;
      const reserved = this.tail ? this.tail.length + clock.length : clock.length - 3;
      const keep = room - reserved - 2;
      // eslint-disable-next-line no-control-regex
      const paint = /^(?:\u001b\[[\d;]*m)+/.exec(this.text)?.[0];
      const plain = `${[...this.text.replace(SGR, '')].slice(0, keep).join('')}…`;
      const cut = paint ? `${paint}${plain}\u001b[0m` : plain;
      // Narrower than the tail itself: cut the whole line.
      line = keep < 1 ? `${[...`${this.text} ${tail}`.replace(SGR, '')].slice(0, room - 1).join('')}…` : tail ? `${cut} ${tail}` : cut;
    }
    // Nothing new, nothing written; and the old text is overwritten before the rest of the row
    // is erased, so the line is never blank between two drawings.
    if (line === this.drawn) return;
    this.drawn = line;
    this.write(`\r${line}\u001b[K`);
  }
}

/**
 * Colour or not: `--color`/`--no-color` first, then FORCE_COLOR (anything but 0 or false
 * forces it, also when piped), then NO_COLOR (any value turns it off), then whether it is a terminal.
 */
export function wantsColor(flag: boolean | undefined, env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY;
}
