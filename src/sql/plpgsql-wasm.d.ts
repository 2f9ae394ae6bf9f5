// The PL/pgSQL-capable build of the parser, loaded through its Emscripten factory so that its
// WebAssembly file can be found beside the bundle under a name of its own.
declare module '@libpg-query/parser/wasm/libpg-query.js' {
  interface PlpgsqlWasm {
    _malloc(size: number): number;
    _free(ptr: number): void;
    _wasm_parse_plpgsql(ptr: number): number;
    _wasm_free_string(ptr: number): void;
    lengthBytesUTF8(s: string): number;
    stringToUTF8(s: string, ptr: number, max: number): void;
    UTF8ToString(ptr: number): string;
  }
  const factory: (options?: { locateFile?: (file: string, dir: string) => string }) => Promise<PlpgsqlWasm>;
  export default factory;
}
