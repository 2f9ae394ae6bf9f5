import { inject } from 'vitest';

/** The two servers every database test runs against: the machine's Postgres and an embedded 17. */
export function servers(): Array<{ name: string; url: string }> {
  return [
    { name: 'pg15-local', url: inject('pg15Url') },
    { name: 'pg17-embedded', url: inject('pg17Url') },
  ];
}
