import type { Migration } from './types.js';

/**
 * The shard (1-based, of `total`) that tests a migration: a hash of its version modulo the
 * number of shards. It depends on nothing but the version, so adding, removing or renaming
 * other migrations (or moving the base branch, which changes which ones are under test) never
 * moves a migration to another shard, and every shard job computes the same split on its own.
 * Round robin over the list would balance small sets better but reshuffles on every insertion.
 */
export function shardOf(version: string, total: number): number {
  // FNV-1a, 32 bits, over the UTF-8 bytes of the version, then MurmurHash3's finaliser.
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(version, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // FNV's low bits depend only on the low bits of each byte; mix them all in before the modulo.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return (h % total) + 1;
}

/** The shard of every migration under test; baseline migrations belong to no shard. */
export function assignShards(migrations: readonly Migration[], total: number): Map<string, number> {
  const assigned = new Map<string, number>();
  for (const m of migrations) if (m.underTest) assigned.set(m.version, shardOf(m.version, total));
  return assigned;
}
