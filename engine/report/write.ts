// Writing a run's reports: every `report:` entry (and result.json for `--out`) rendered from the one Result and
// written whole (files.ts), each named afterwards. The result is written first, so a report that fails (PDF
// without Chromium, a full disk) never costs what was measured; a failure is a problem (exit code 3), never a skip.

import { join, resolve } from 'node:path';
import { PerfyError, problem, type Problem } from '../errors.js';
import type { Result } from '../metrics/result.js';
import { RESULT_FILE, writeWhole } from './files.js';
import { REPORTERS, reporterFor } from './index.js';
import type { ReportContext } from './types.js';

/** Where reports go when the run has no --out. */
export const DEFAULT_REPORT_DIR = 'perfy-results';

export interface ReportEntry {
  format: string;
  /** Where to write it; absent: the output directory and the reporter's default file name. */
  path?: string | undefined;
}

export interface WrittenReport {
  format: string;
  /** What it is, for the line that names it: `HTML report`. */
  title: string;
  path: string;
}

export interface ReportTargets {
  /** `--out DIR`: result.json goes there whatever `report:` says, and the reports without a path. */
  outDir: string | undefined;
  context: ReportContext;
}

/** The files the entries ask for, result.json first, each path once (absolute). */
export function reportTargets(entries: readonly ReportEntry[], outDir: string | undefined): Required<ReportEntry>[] {
  const dir = outDir ?? resolve(DEFAULT_REPORT_DIR);
  const targets: Required<ReportEntry>[] = [];
  const add = (format: string, path: string): void => {
    if (!targets.some((t) => t.path === path)) targets.push({ format, path });
  };
  if (outDir !== undefined) add('json', join(outDir, RESULT_FILE));
  const ordered = [...entries].sort((a, b) => Number(b.format === 'json') - Number(a.format === 'json'));
  for (const entry of ordered) {
    // The console summary is printed; it is a file only where a path asks for one.
    if (entry.format === 'console' && entry.path === undefined) continue;
    const reporter = reporterFor(entry.format);
    const file = reporter?.defaultFile ?? entry.format;
    add(entry.format, entry.path !== undefined ? resolve(entry.path) : join(dir, file));
  }
  return targets;
}

/** Renders and writes every target; what could not be written is a problem, and the others are written anyway. */
export async function writeReports(
  result: Result, entries: readonly ReportEntry[], targets: ReportTargets,
): Promise<{ written: WrittenReport[]; problems: Problem[] }> {
  const written: WrittenReport[] = [];
  const problems: Problem[] = [];
  for (const { format, path } of reportTargets(entries, targets.outDir)) {
    const reporter = reporterFor(format);
    try {
      // The schema offers exactly the reporters' formats; a plan made otherwise still gets a word, not a skip.
      if (reporter === undefined) {
        throw new PerfyError(problem('E_REPORT', `${format} reports are not written by this version of perfy`,
          `the formats: ${REPORTERS.map((r) => r.format).join(', ')}`));
      }
      const content = await reporter.render(result, targets.context);
      written.push({ format, title: reporter.title, path: await writeWhole(path, content) });
    } catch (error) {
      if (error instanceof PerfyError) problems.push(...error.problems);
      else {
        problems.push(problem('E_REPORT', `the ${format} report could not be rendered: ${(error as Error).message}`,
          'the result (result.json) holds everything measured: `perfy report RESULT.json --format F` tries again'));
      }
    }
  }
  return { written, problems };
}
