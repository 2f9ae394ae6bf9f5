export * from './model.js';
export { renderJson } from './json.js';
export { renderSummary, escapeMarkdown, DEFAULT_SUMMARY_MAX_BYTES, type SummaryOptions } from './summary.js';
export {
  selectAnnotations,
  formatWorkflowCommand,
  escapeCommandData,
  escapeCommandProperty,
  findingTitle,
  formatLocation,
  MAX_ANNOTATIONS_PER_LEVEL,
  type Annotation,
  type AnnotationCounts,
} from './annotations.js';
export {
  renderTerminal,
  formatProgress,
  formatDuration,
  visibleLength,
  wrapLine,
  type ProgressEvent,
  type TerminalOptions,
} from './terminal.js';
