import { createHash } from 'node:crypto';
import type { Migration } from './types.js';

/**
 * The shard (1-based, of `total`) that tests a migration: a hash of its version modulo the
 * number of shards. It depends on nothing but the version, so adding, removing or renaming
 * other migrations (or moving the base branch, which changes which ones are under test) never
 * moves a migration to another shard, and every shard job computes the same split on its own.
 * Round robin over the list would balance small sets better but reshuffles on every insertion.
 */
export function shardOf(version: string, total: number): number {
  return (createHash('sha256').update(version, 'utf8').digest().readUInt32BE(0) % total) + 1;
}

/** The shard of every migration under test; baseline migrations belong to no shard. */
export function assignShards(migrations: readonly Migration[], total: number): Map<string, number> {
  const assigned = new Map<string, number>();
  for (const m of migrations) if (m.underTest) assigned.set(m.version, shardOf(m.version, total));
  return assigned;
}
