import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The parser's WebAssembly loader is CommonJS and reads `__dirname` to find libpg-query.wasm.
// Bundled into one ES module it finds no such variable, so give it the bundle's own folder,
// where the build copies the .wasm file. Unbundled, modules keep their own and ignore these.
const globals = globalThis as Record<string, unknown>;
const file = fileURLToPath(import.meta.url);
globals.__filename ??= file;
globals.__dirname ??= path.dirname(file);
globals.require ??= createRequire(import.meta.url);
