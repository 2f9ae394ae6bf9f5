#!/usr/bin/env node
// The compiled CLI lives in lib/, built by the prepare script (on `npm ci` in a clone, and when the package is packed).
import { main } from '../lib/cli/main.js';

await main();
