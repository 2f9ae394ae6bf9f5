// Runs the CLI from source in a child process, as the installed binary would.
import { main } from '../../src/cli/main.js';

await main();
