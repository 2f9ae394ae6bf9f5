import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { closeAllScratchServers } from '../db/scratch.js';
import { errorMessage, isInputError } from '../errors.js';
import { runPipeline } from '../pipeline.js';
import { selectAnnotations } from '../report/annotations.js';
import { renderJson } from '../report/json.js';
import { countBySeverity, type Report } from '../report/model.js';
import { renderSummary } from '../report/summary.js';
import { formatProgress } from '../report/terminal.js';
import { actionsCommand } from './command.js';
import { readInputs } from './inputs.js';

/** JSON report, annotations and outputs; returns what the annotation budget left out. */
function publish(report: Report, reportPath: string): { error: number; warning: number; notice: number } {
  fs.mkdirSync(path.dirname(reportPath), { recursive: true });
  fs.writeFileSync(reportPath, renderJson(report));
  const { annotations, omitted } = selectAnnotations(report);
  for (const a of annotations) {
    const props: core.AnnotationProperties = { title: a.title };
    if (a.file) props.file = a.file;
    if (a.startLine) props.startLine = a.startLine;
    if (a.startColumn) props.startColumn = a.startColumn;
    if (a.level === 'error') core.error(a.message, props);
    else if (a.level === 'warning') core.warning(a.message, props);
    else core.notice(a.message, props);
  }
  const rest = omitted.error + omitted.warning + omitted.notice;
  if (rest > 0) {
    core.notice(`${rest} more findings (${omitted.error} errors, ${omitted.warning} warnings, ${omitted.notice} notices) are in the job summary and the JSON report`);
  }
  const counts = countBySeverity(report.findings);
  core.setOutput('verdict', report.verdict);
  core.setOutput('errors', String(counts.error));
  core.setOutput('warnings', String(counts.warning));
  core.setOutput('report', reportPath);
  return omitted;
}

async function writeSummary(report: Report, omitted: { error: number; warning: number; notice: number }): Promise<void> {
  // Outside a runner (or in a runner without summaries) there is nowhere to write it.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(renderSummary(report, { annotationsOmitted: omitted }), true).write();
}

/** The action: inputs -> pipeline -> annotations, summary, outputs; every error ends in one setFailed. */
export async function run(): Promise<void> {
  const onSignal = (signal: NodeJS.Signals) => {
    core.warning(`migration-ci: ${signal}: dropping scratch databases`);
    void closeAllScratchServers().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const settings = readInputs(process.env);
    const report = await runPipeline(settings.config, {
      log: (line) => core.info(line),
      progress: (event) => core.info(formatProgress(event, { color: false })),
      runCommand: actionsCommand,
    });
    const omitted = publish(report, settings.reportPath);
    await writeSummary(report, omitted);
    if (report.verdict === 'fail') {
      const n = countBySeverity(report.findings).error;
      core.setFailed(`migration-ci: ${n} error${n === 1 ? '' : 's'} in the migrations`);
    }
  } catch (e) {
    const where = isInputError(e) && e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : '';
    core.setFailed(`migration-ci: ${where}${errorMessage(e)}`);
    // Same contract as the CLI: 2 means "could not check", never a verdict.
    process.exitCode = 2;
  } finally {
    await closeAllScratchServers();
  }
}
