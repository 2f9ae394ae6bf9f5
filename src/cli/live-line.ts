/**
 * A line at the bottom of a terminal that says what long work is going on and for how long
 * ("filling users to 500,000 rows… 4 s"), rewritten in place and cleared before any other
 * line is printed. Does nothing when the stream is not a terminal.
 */
export class LiveLine {
  private text: string | undefined;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (s: string) => void,
    private readonly enabled: boolean,
    private readonly width: number | undefined,
  ) {}

  show(text: string): void {
    if (!this.enabled) return;
    this.text = text;
    this.started = Date.now();
    this.draw();
    this.timer ??= setInterval(() => this.draw(), 500);
    this.timer.unref();
  }

  /** Clears the line; call before printing anything else. */
  clear(): void {
    if (this.text === undefined) return;
    this.text = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.write('\r\u001b[K');
  }

  private draw(): void {
    if (this.text === undefined) return;
    const seconds = Math.floor((Date.now() - this.started) / 1000);
    let line = seconds > 0 ? `${this.text} ${seconds} s` : this.text;
    const room = (this.width ?? 80) - 1;
    // eslint-disable-next-line no-control-regex
    if (line.replace(/\u001b\[[\d;]*m/g, '').length > room) line = `${line.replace(/\u001b\[[\d;]*m/g, '').slice(0, room - 1)}…`;
    this.write(`\r\u001b[K${line}`);
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
