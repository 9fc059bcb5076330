/**
 * Writes runs/<run-id>/report.html and summary.md from the run store. Both files are written to a
 * temporary name and renamed, so a browser or `watch` never reads half a report.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunStore } from '../store/run-store.ts';
import { renderReportHtml } from './report-html.ts';
import { buildReportModel, type ReportModel } from './report-model.ts';
import { summarizeRun } from './run-summary.ts';
import { renderSummaryMarkdown } from './summary-markdown.ts';

export const REPORT_FILE = 'report.html';
export const SUMMARY_FILE = 'summary.md';

export interface WrittenReport {
  html: string;
  markdown: string;
  model: ReportModel;
}

export function writeReport(store: RunStore, outDir: string = store.runDir): WrittenReport {
  const model = buildReportModel(summarizeRun(store), { curves: store.curves() });
  const html = path.join(outDir, REPORT_FILE);
  const markdown = path.join(outDir, SUMMARY_FILE);
  writeAtomically(html, renderReportHtml(model));
  writeAtomically(markdown, renderSummaryMarkdown(model));
  return { html, markdown, model };
}

function writeAtomically(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}
