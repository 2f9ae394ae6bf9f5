import './action/bundle-shims.js';
import { run } from './action/main.js';

await run();
