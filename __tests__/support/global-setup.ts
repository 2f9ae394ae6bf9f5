import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/cli/embedded.js';

let embedded: EmbeddedServer | undefined;

/** Starts one embedded Postgres 17 for the whole run; tests reach it through `inject('pg17Url')`. */
export async function setup(project: TestProject): Promise<void> {
  embedded = await startEmbeddedPostgres(undefined, 17);
  project.provide('pg17Url', embedded.url);
  project.provide('pg15Url', process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pg17Url: string;
    pg15Url: string;
  }
}
