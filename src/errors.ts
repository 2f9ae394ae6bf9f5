/**
 * The one error type the engine throws on purpose. Both front ends map it to exit code 2
 * ("bad usage, bad input or no database"); anything else is a bug and surfaces as such.
 */
export type InputErrorKind = 'usage' | 'input' | 'database';

export class InputError extends Error {
  readonly kind: InputErrorKind;
  /** Repository-relative file the problem is in, when there is one. */
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    kind: InputErrorKind,
    message: string,
    where: { file?: string; line?: number; column?: number } = {},
  ) {
    super(message);
    this.name = 'InputError';
    this.kind = kind;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}

/** Message of any thrown value, for places that must not lose it. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
