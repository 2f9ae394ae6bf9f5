/**
 * Findings of the automatic round trip: the data before a migration's up (A), after it (B) and
 * after its down (C), compared. A down that does not give back what the up took is an error; data
 * the up destroys that nothing gives back is a warning; a sequence left behind its column's
 * values is reported on the file that left it there.
 */
import { displayTable } from '../db/catalog.js';
import {
  droppedData,
  sequencesBehind,
  valueDigests,
  type ColumnComparison,
  type DataComparison,
  type Fingerprint,
  type SequenceUse,
  type TableComparison,
} from '../db/fingerprint.js';
import type { Finding, Severity } from '../report/model.js';
import type { ParsedSource, Statement } from '../sql/parse.js';
import { upLosses } from './up-losses.js';

export const ALLOW_DATA_LOSS = '-- migration-ci: allow-data-loss';
const ALLOW_RE = /--\s*migration-ci:\s*allow-data-loss\b/i;

/** The file says the migration loses data on purpose. */
export function allowsDataLoss(text: string): boolean {
  return ALLOW_RE.test(text);
}

export interface RoundTripEvidence {
  version: string;
  up: ParsedSource;
  /** Present when the down ran and succeeded. */
  down: ParsedSource | undefined;
  /** Before the up (stored). */
  a: Fingerprint;
  /** After the up (a summary is enough). */
  b: Fingerprint;
  /** After the down (stored), when the down ran and succeeded. */
  c: Fingerprint | undefined;
  /** A compared with C, row by row. */
  ac: DataComparison | undefined;
}

const IDENT_CHAR = 'A-Za-z0-9_$\\u0080-\\uffff';

/** Does the SQL text name this identifier (as a whole word, any case)? */
export function mentions(text: string, name: string): boolean {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^${IDENT_CHAR}])${esc}($|[^${IDENT_CHAR}])`, 'i').test(text);
}

/**
 * Where a finding points: the first statement naming all the words (the first of those that also
 * says `prefer`, e.g. DROP, when there is one); fewer words when none does; the file alone at last.
 */
function locate(parsed: ParsedSource, words: string[], prefer?: RegExp): { file: string; line?: number; column?: number } {
  const naming = parsed.statements.filter((s) => words.every((w) => mentions(s.sql, w)));
  const best = (prefer && naming.find((s) => prefer.test(s.sql))) ?? naming[0];
  if (best) return { file: parsed.source.file, line: best.line, column: best.column };
  if (words.length > 1) return locate(parsed, words.slice(0, 1), prefer);
  return { file: parsed.source.file };
}

const DROPS = /\b(drop|truncate|delete)\b/i;
const ADDS = /\b(add|create|insert|update)\b/i;
const FEEDS_IDS = /\b(as\s+identity|nextval|restart|setval|set\s+default|serial|bigserial|smallserial)\b/i;

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function tableName(t: { schema: string; name: string }): string {
  return displayTable(t);
}

function keyNote(a: Fingerprint, t: TableComparison, sample: string[]): string | undefined {
  if (!t.keyed) return 'the table has no primary key: values were compared as multisets, column by column';
  if (sample.length === 0) return undefined;
  const key = a.tables.find((x) => x.schema === t.schema && x.name === t.name)?.key ?? [];
  return `for example the rows with (${key.join(', ')}) = ${sample.join(', ')}`;
}

function lostParts(c: ColumnComparison): string {
  const parts: string[] = [];
  const lost = c.nulled + c.changed;
  if (lost > 0) parts.push(`${lost.toLocaleString('en-US')} of ${plural(c.values, 'value')} lost`);
  if (c.filled > 0) parts.push(`${plural(c.filled, 'NULL')} became values`);
  return parts.join(', ');
}

function lostDetail(c: ColumnComparison): string {
  const lines: string[] = [];
  if (c.nulled > 0) lines.push(`became NULL: ${c.nulled}`);
  if (c.changed > 0) lines.push(`became another value: ${c.changed}`);
  if (c.filled > 0) lines.push(`NULL became a value: ${c.filled}`);
  return lines.join('\n');
}

function sequenceKey(s: SequenceUse): string {
  return `${s.schema}\u0000${s.table}\u0000${s.column}`;
}

function sequenceMessage(s: SequenceUse): { message: string; hint: string } {
  const table = displayTable({ schema: s.schema, name: s.table });
  return {
    message: `sequence ${s.sequence} hands out ${s.next} next, but ${table}.${s.column} already holds values up to ${s.max}: inserts that rely on the column default will collide`,
    hint: `move the sequence past the existing values, e.g. SELECT setval('${s.sequence.replace(/'/g, "''")}', (SELECT max(${s.column}) FROM ${table}));`,
  };
}

/** Everything the round trip of one migration says about its data. */
export function roundTripFindings(e: RoundTripEvidence): Finding[] {
  const findings: Finding[] = [];
  const v = e.version;
  const accepted = allowsDataLoss(e.up.source.text) || (e.down !== undefined && allowsDataLoss(e.down.source.text));
  const acceptedNote = ` (accepted by ${ALLOW_DATA_LOSS})`;
  const lossSeverity = (base: Severity): Severity => (accepted ? 'notice' : base);
  const migrationText = `${e.up.source.text}\n${e.down?.source.text ?? ''}`;
  const add = (f: Omit<Finding, 'stage' | 'migration'>) => findings.push({ stage: 'data', migration: v, ...f });

  const losses = upLosses(e.up);
  const upHint = `if the loss is intended, add the line "${ALLOW_DATA_LOSS}" to ${e.up.source.file}`;
  /** Losses already reported on the up: each once. */
  const upWarned = new Set<string>();
  const at = (stmt: Statement) => ({ file: e.up.source.file, line: stmt.line, column: stmt.column });
  const upLoss = (key: string, stmt: Statement, message: string) => {
    if (upWarned.has(key)) return;
    upWarned.add(key);
    add({
      severity: lossSeverity('warning'),
      rule: 'data-destroyed-by-up',
      ...at(stmt),
      message: `${message}${accepted ? acceptedNote : ''}`,
      ...(accepted ? {} : { hint: upHint }),
    });
  };

  const bDigests = valueDigests(e.b);
  const cDigests = e.c ? valueDigests(e.c) : undefined;

  // --- What the down gives back (A against C).
  const restoredColumns = new Set<string>();
  const restoredTables = new Set<string>();
  if (e.down && e.ac && e.c) {
    const down = e.down;
    const downHint = `if the loss is intended, add the line "${ALLOW_DATA_LOSS}" to ${down.source.file}`;
    for (const t of e.ac.tables) {
      const table = tableName(t);
      let tableIntact = t.rowsLost === 0;
      const deletes = losses.rows.get(t.name);
      if (t.rowsLost > 0 && deletes) {
        // The up removed them on purpose: its loss, reported once on its statement.
        upLoss(
          `rows:${t.schema}.${t.name}`,
          deletes,
          kindOfStatement(deletes) === 'DropStmt'
            ? `${v} drops table ${table}, which held ${plural(t.rowsBefore, 'row')}; they cannot be restored`
            : `${v} deletes ${t.rowsLost.toLocaleString('en-US')} of ${plural(t.rowsBefore, 'row')} of ${table}; they cannot be restored`,
        );
      } else if (t.rowsLost > 0) {
        const note = keyNote(e.a, t, t.lostSample);
        add({
          severity: lossSeverity('error'),
          rule: 'data-lost-by-down',
          ...locate(down, [t.name], DROPS),
          message: `the down of ${v} does not restore ${t.rowsLost.toLocaleString('en-US')} of ${plural(t.rowsBefore, 'row')} of ${table}${accepted ? acceptedNote : ''}`,
          ...(note ? { detail: note } : {}),
          ...(accepted ? {} : { hint: downHint }),
        });
      }
      if (t.rowsAdded > 0) {
        add({
          severity: 'notice',
          rule: 'rows-left-by-down',
          ...locate(down, [t.name]),
          message: `after the down of ${v}, ${table} holds ${plural(t.rowsAdded, 'row')} it did not hold before the up`,
          hint: 'a down usually deletes the rows its up inserted',
        });
      }
      for (const c of t.columns) {
        const differs = c.nulled + c.changed + c.filled;
        if (differs === 0) {
          restoredColumns.add(`${t.schema}.${t.name}.${c.column}`);
          continue;
        }
        tableIntact = false;
        if (!mentions(migrationText, c.column)) {
          add({
            severity: 'notice',
            rule: 'data-changed-indirectly',
            ...locate(e.up, [t.name]),
            message: `${table}.${c.column} changed in ${plural(differs, 'row')} across the up and down of ${v}, though neither file names the column (a trigger or a function changed it)`,
          });
          continue;
        }
        if (c.nulled + c.changed === 0) restoredColumns.add(`${t.schema}.${t.name}.${c.column}`);
        const overwrites = losses.columns.get(`${t.name}.${c.column}`);
        if (overwrites) {
          restoredColumns.add(`${t.schema}.${t.name}.${c.column}`);
          upLoss(
            `column:${t.schema}.${t.name}.${c.column}`,
            overwrites,
            kindOfStatement(overwrites) === 'UpdateStmt'
              ? `${v} overwrites ${table}.${c.column} in ${plural(differs, 'row')}; the old values cannot be restored`
              : `${v} drops ${table}.${c.column}, which held ${plural(c.values, 'value')}; they cannot be restored`,
          );
          continue;
        }
        const note = keyNote(e.a, t, c.sample);
        add({
          severity: lossSeverity('error'),
          rule: 'data-lost-by-down',
          ...locate(down, [t.name, c.column], ADDS),
          message: `the down of ${v} does not restore ${table}.${c.column}: ${lostParts(c)}${accepted ? acceptedNote : ''}`,
          detail: [lostDetail(c), note].filter(Boolean).join('\n'),
          ...(accepted
            ? {}
            : {
                hint:
                  c.nulled + c.changed === 0
                    ? `the up turned NULLs into values, and the down cannot tell which they were unless that is kept somewhere; ${downHint}`
                    : downHint,
              }),
        });
      }
      for (const m of t.missingColumns) {
        if (m.values === 0 || (m.digest !== null && cDigests!.has(m.digest))) {
          restoredColumns.add(`${t.schema}.${t.name}.${m.column}`);
          continue;
        }
        tableIntact = false;
        // Dropped by the up without being read: the up's loss, reported below.
        if (losses.columns.has(`${t.name}.${m.column}`)) continue;
        add({
          severity: lossSeverity('error'),
          rule: 'data-lost-by-down',
          ...locate(down, [t.name, m.column]),
          message: `the down of ${v} does not restore ${table}.${m.column}: the column is missing after the down, with the ${plural(m.values, 'value')} it held${accepted ? acceptedNote : ''}`,
          ...(accepted ? {} : { hint: downHint }),
        });
      }
      if (tableIntact) restoredTables.add(`${t.schema}.${t.name}`);
    }
    for (const t of e.ac.missingTables) {
      if (t.rows === 0 || survives(t, cDigests!)) {
        restoredTables.add(`${t.schema}.${t.name}`);
        continue;
      }
      if (losses.tables.has(t.name)) continue;
      add({
        severity: lossSeverity('error'),
        rule: 'data-lost-by-down',
        ...locate(down, [t.name]),
        message: `the down of ${v} does not restore table ${tableName(t)}: it is missing after the down, with the ${plural(t.rows, 'row')} it held${accepted ? acceptedNote : ''}`,
        ...(accepted ? {} : { hint: downHint }),
      });
    }
  }

  // --- What the up destroys for good (A against B, unless the down gave it back). A column or
  // table the up reads before dropping it was moved or transformed: kept, so the down answers for it.
  const dropped = droppedData(e.a, e.b);
  for (const m of dropped.columns) {
    if (m.values === 0 || (m.digest !== null && bDigests.has(m.digest))) continue;
    if (restoredColumns.has(`${m.schema}.${m.name}.${m.column}`)) continue;
    const stmt = losses.columns.get(`${m.name}.${m.column}`);
    if (!stmt) continue;
    upLoss(`column:${m.schema}.${m.name}.${m.column}`, stmt, `${v} drops ${tableName(m)}.${m.column}, which held ${plural(m.values, 'value')}; they cannot be restored`);
  }
  for (const t of dropped.tables) {
    if (t.rows === 0 || survives(t, bDigests)) continue;
    if (restoredTables.has(`${t.schema}.${t.name}`)) continue;
    const stmt = losses.tables.get(t.name);
    if (!stmt) continue;
    upLoss(`rows:${t.schema}.${t.name}`, stmt, `${v} drops table ${tableName(t)}, which held ${plural(t.rows, 'row')}; they cannot be restored`);
  }
  // Rows the up deletes (no down to compare with, or one that gave them back is silent above).
  const afterRows = new Map(e.b.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
  const restoredRows = new Set((e.ac?.tables ?? []).filter((t) => t.rowsLost === 0).map((t) => `${t.schema}.${t.name}`));
  for (const t of e.a.tables) {
    const stmt = losses.rows.get(t.name);
    const after = afterRows.get(`${t.schema}.${t.name}`);
    if (!stmt || after === undefined || after >= t.rows || (e.c && restoredRows.has(`${t.schema}.${t.name}`))) continue;
    upLoss(`rows:${t.schema}.${t.name}`, stmt, `${v} deletes ${(t.rows - after).toLocaleString('en-US')} of ${plural(t.rows, 'row')} of ${tableName(t)}; they cannot be restored`);
  }

  // --- Sequences left behind the values of their column.
  const behindBefore = new Set(sequencesBehind(e.a).map(sequenceKey));
  for (const s of sequencesBehind(e.b)) {
    if (behindBefore.has(sequenceKey(s))) continue;
    const { message, hint } = sequenceMessage(s);
    add({ severity: 'warning', rule: 'sequence-behind', ...locate(e.up, [s.table], FEEDS_IDS), message: `after ${v}, ${message}`, hint });
  }
  if (e.down && e.c) {
    for (const s of sequencesBehind(e.c)) {
      if (behindBefore.has(sequenceKey(s))) continue;
      const { message, hint } = sequenceMessage(s);
      add({ severity: 'error', rule: 'sequence-behind', ...locate(e.down, [s.table], FEEDS_IDS), message: `after the down of ${v}, ${message}`, hint });
    }
  }
  return findings;
}

function kindOfStatement(stmt: Statement): string | undefined {
  return Object.keys(stmt.node)[0];
}

/** Every column of the table that held values has them, as a whole, somewhere in the other state (a rename, a move). */
function survives(t: { columns: Array<{ values: number; digest: string | null }> }, digests: Set<string>): boolean {
  const held = t.columns.filter((c) => c.values > 0);
  return held.length > 0 && held.every((c) => c.digest !== null && digests.has(c.digest));
}
