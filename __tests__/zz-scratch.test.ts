import { it } from 'vitest';
import { renderSummary } from '../src/report/summary.js';
import { bigReport, failingReport, statementsReport } from './report-fixtures.js';
it('x', () => {
  const t = renderSummary(bigReport(5_000));
  console.log(Buffer.byteLength(t), t.slice(0, 3000));
  console.log(renderSummary(failingReport()));
  console.log(renderSummary(statementsReport()));
});
