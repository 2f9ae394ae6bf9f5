import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { InputError, errorMessage, isInputError } from '../errors.js';
import { appendOutputFile, writeOutputFile } from '../output-file.js';
import { runPipeline, stopAllRuns } from '../pipeline.js';
import { selectAnnotations, type AnnotationCounts } from '../report/annotations.js';
import { renderJson } from '../report/json.js';
import { mergeReports, parseReport } from '../report/merge.js';
import { countBySeverity, type Report } from '../report/model.js';
import { renderSarif } from '../report/sarif.js';
import { renderSummary } from '../report/summary.js';
import { formatProgress } from '../report/terminal.js';
import { createMasker, type Masker } from '../secrets.js';
import { VERSION } from '../version.js';
import { actionsCommand } from './command.js';
import { postComment } from './comment.js';
import { mergePatterns, readInputs, readMergeInputs, sourceLinks, type PublishSettings } from './inputs.js';


/**
 * At most 10 error lines and 10 warnings; everything else counted in one notice. A failing
 * verdict ends in setFailed's own error line, so it leaves room for 9 error annotations.
 */
function annotate(report: Report): AnnotationCounts {
  const { annotations, omitted } = selectAnnotations(report, { closingErrors: report.verdict === 'fail' ? 1 : 0 });
  for (const a of annotations) {
    const props: core.AnnotationProperties = { title: a.title };
    if (a.file) props.file = a.file;
    if (a.startLine) props.startLine = a.startLine;
    if (a.endLine) props.endLine = a.endLine;
    if (a.startColumn) props.startColumn = a.startColumn;
    if (a.level === 'error') core.error(a.message, props);
    else if (a.level === 'warning') core.warning(a.message, props);
    else core.notice(a.message, props);
  }
  const rest = omitted.error + omitted.warning + omitted.notice;
  if (rest > 0) {
    core.notice(`${rest} more findings (${omitted.error} errors, ${omitted.warning} warnings, ${omitted.notice} notices) are in the job summary and the JSON report`);
  }
  return omitted;
}

/** Files, annotations, outputs, job summary and pull request comment for one report. */
async function publish(report: Report, s: PublishSettings): Promise<void> {
  writeOutputFile(s.reportPath, renderJson(report), 'JSON report');
  if (s.sarifPath) writeOutputFile(s.sarifPath, renderSarif(report, { toolVersion: VERSION, srcRoot: s.root }), 'SARIF report');
  const omitted = annotate(report);
  const summary = renderSummary(report, { annotationsOmitted: omitted, links: sourceLinks(process.env) });
  writeOutputFile(s.summaryPath, summary, 'summary markdown');

  const counts = countBySeverity(report.findings);
  core.setOutput('verdict', report.verdict);
  core.setOutput('errors', String(counts.error));
  core.setOutput('warnings', String(counts.warning));
  core.setOutput('report', s.reportPath);
  if (s.sarifPath) core.setOutput('sarif', s.sarifPath);
  core.setOutput('summary-markdown', s.summaryPath);

  // Outside a runner (or in a runner without summaries) there is nowhere to write it.
  if (process.env.GITHUB_STEP_SUMMARY) appendOutputFile(process.env.GITHUB_STEP_SUMMARY, `${summary}\n`, 'job summary (GITHUB_STEP_SUMMARY)');
  if (s.comment) await postComment(report, { env: process.env, token: s.githubToken, key: s.commentKey });
}

function readReports(files: readonly string[], root: string): Report[] {
  return files.map((file) => {
    const name = path.relative(root, file) || file;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError('input', `cannot read report ${name}: ${errorMessage(e)}`);
    }
    return parseReport(text, name);
  });
}

/**
 * The action: inputs -> pipeline (or, with `merge-reports`, the shards' reports merged) ->
 * annotations, summary, outputs, comment; every error ends in one setFailed.
 */
export async function run(): Promise<void> {
  // The log is masked by the runner once told; files, outputs and the comment are masked here.
  const masker: Masker = createMasker({ connections: [process.env['INPUT_DATABASE-URL'], process.env.DATABASE_URL], env: process.env });
  for (const secret of masker.secrets) core.setSecret(secret);
  const info = (line: string) => core.info(masker.mask(line));
  let stopping: NodeJS.Signals | undefined;
  const exitCodeOf = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal (the runner's SIGKILL follows soon anyway): out at once.
    if (stopping) process.exit(exitCodeOf(signal));
    stopping = signal;
    core.warning(`migration-ci: ${signal}: dropping scratch databases`);
    void stopAllRuns()
      .catch((e: unknown) => core.warning(masker.mask(`migration-ci: ${errorMessage(e)}`)))
      .finally(() => process.exit(exitCodeOf(signal)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const patterns = mergePatterns();
    let report: Report;
    let settings: PublishSettings;
    if (patterns.length > 0) {
      const merge = readMergeInputs(process.env, patterns);
      settings = merge;
      const reports = readReports(merge.reports, merge.root);
      info(`merging ${reports.length} reports: ${merge.reports.map((f) => path.relative(merge.root, f) || f).join(', ')}`);
      report = masker.maskDeep(mergeReports(reports));
    } else {
      const run = readInputs(process.env);
      settings = run;
      report = masker.maskDeep(
        await runPipeline(run.config, {
          log: info,
          // A log is not a live line: how far a fill has come would be a line per table.
          progress: (event) => (event.kind === 'working' && event.rows ? undefined : info(formatProgress(event, { color: false }))),
          runCommand: actionsCommand,
          secret: (connection) => {
            const known = new Set(masker.secrets);
            masker.addConnectionString(connection);
            for (const secret of masker.secrets) if (!known.has(secret)) core.setSecret(secret);
          },
        }),
      );
    }
    await publish(report, settings);
    if (report.verdict === 'fail') {
      const n = countBySeverity(report.findings).error;
      core.setFailed(`migration-ci: ${n} error${n === 1 ? '' : 's'} in the migrations`);
    }
  } catch (e) {
    // Stopped by a signal: the handler says so and exits with 130/143; this error is its echo.
    if (stopping) return new Promise<void>(() => {});
    const where = isInputError(e) && e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : '';
    core.setFailed(masker.mask(`migration-ci: ${where}${errorMessage(e)}`));
    // Same contract as the CLI: 2 means "could not check", never a verdict.
    process.exitCode = 2;
  } finally {
    await stopAllRuns();
  }
}
