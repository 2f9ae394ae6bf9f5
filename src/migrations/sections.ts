/**
 * One part of a file as SQL text of the same shape: characters outside lines [from, to) become
 * spaces, newlines stay, so positions found in the part are positions in the real file.
 */
export function keepLines(text: string, from: number, to: number): string {
  const lines = text.split('\n');
  return lines
    .map((line, i) => (i >= from && i < to ? line : line.replace(/[^\r]/g, ' ')))
    .join('\n');
}

/** A line that is nothing but a `--` comment, for marker scanning. */
export function commentBody(line: string): string | undefined {
  const m = /^\s*--\s?(.*?)\s*$/.exec(line);
  return m ? m[1] : undefined;
}
