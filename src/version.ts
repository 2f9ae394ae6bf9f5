/** Version of migration-ci, shown by --version and recorded in SARIF files. */
export const VERSION = '0.1.0';
