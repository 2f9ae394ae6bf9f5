/** What the runner must know about a statement before sending it. */
export interface StatementClass {
  /** Parse node type, e.g. `IndexStmt`. */
  kind: string;
  /** Postgres refuses it inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...). */
  nonTransactional: boolean;
  /** BEGIN, COMMIT, ROLLBACK, SAVEPOINT...: the file manages its own transactions. */
  transactionControl: boolean;
}

type Node = Record<string, unknown>;

function flag(node: unknown, key: string): boolean {
  return typeof node === 'object' && node !== null && (node as Node)[key] === true;
}

function defElemNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((d) => (d as { DefElem?: { defname?: string } }).DefElem?.defname)
    .filter((n): n is string => typeof n === 'string');
}

/** Commands that raise "cannot run inside a transaction block" (PreventInTransactionBlock in Postgres). */
export function classifyStatement(root: Node): StatementClass {
  const kind = Object.keys(root)[0] ?? 'Unknown';
  const body = root[kind] as Node | undefined;
  let nonTransactional = false;
  switch (kind) {
    case 'IndexStmt':
      nonTransactional = flag(body, 'concurrent');
      break;
    case 'DropStmt':
      nonTransactional = flag(body, 'concurrent');
      break;
    case 'ReindexStmt':
      nonTransactional =
        defElemNames(body?.params).includes('concurrently') || body?.kind === 'REINDEX_OBJECT_SYSTEM' || body?.kind === 'REINDEX_OBJECT_DATABASE';
      break;
    case 'VacuumStmt':
      // ANALYZE alone may run in a transaction; VACUUM may not.
      nonTransactional = flag(body, 'is_vacuumcmd');
      break;
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'AlterSystemStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
      nonTransactional = true;
      break;
    case 'ClusterStmt':
      nonTransactional = !body?.relation;
      break;
    case 'CreateSubscriptionStmt':
      nonTransactional = true;
      break;
    case 'DropSubscriptionStmt':
      nonTransactional = true;
      break;
    case 'AlterTableStmt': {
      const cmds = Array.isArray(body?.cmds) ? body.cmds : [];
      nonTransactional = cmds.some((c: unknown) => {
        const cmd = (c as { AlterTableCmd?: Node }).AlterTableCmd;
        const part = (cmd?.def as { PartitionCmd?: Node } | undefined)?.PartitionCmd;
        return cmd?.subtype === 'AT_DetachPartition' && flag(part, 'concurrent');
      });
      break;
    }
    default:
      break;
  }
  return { kind, nonTransactional, transactionControl: kind === 'TransactionStmt' };
}
