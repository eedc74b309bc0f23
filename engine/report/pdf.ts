// `report: [pdf]`: the HTML report printed by headless Chromium (found by chromium.ts) from a temporary file.
// Without Chromium it is an E_REPORT whose hint says what to install; the other reports are written anyway.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PerfyError, problem } from '../errors.js';
import { CHROMIUM_HINT, findChromium } from './chromium.js';
import { renderHtml } from './html.js';
import type { Reporter } from './types.js';

const run = promisify(execFile);

/** A browser that has not printed in this long is stuck (a profile lock, a missing library): it is stopped. */
const PRINT_TIMEOUT_MS = 120_000;

export const pdf: Reporter = {
  format: 'pdf',
  defaultFile: 'report.pdf',
  title: 'PDF report',
  render: async (result, context) => {
    const chromium = findChromium();
    if (chromium === undefined) {
      const chosen = process.env['PERFY_CHROMIUM'];
      const why = chosen ? ` ($PERFY_CHROMIUM=${chosen} is not one)` : '';
      throw new PerfyError(problem('E_REPORT', `the PDF report needs Chromium, and none was found${why}`,
        CHROMIUM_HINT));
    }
    const dir = await mkdtemp(join(tmpdir(), 'perfy-pdf-'));
    try {
      const page = join(dir, 'report.html');
      const file = join(dir, 'report.pdf');
      await writeFile(page, await renderHtml(result, context));
      await run(chromium.path, [
        '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
        // Its own profile: a Chromium the user has open keeps the default one locked.
        `--user-data-dir=${join(dir, 'profile')}`,
        '--no-pdf-header-footer',
        // Printing waits until the page has been idle this long in virtual time: the charts draw on load.
        '--virtual-time-budget=5000', '--run-all-compositor-stages-before-draw',
        `--print-to-pdf=${file}`, pathToFileURL(page).href,
      ], { timeout: PRINT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
      return new Uint8Array(await readFile(file));
    } catch (error) {
      if (error instanceof PerfyError) throw error;
      const e = error as Error & { stderr?: string };
      const said = (e.stderr ?? '').trim().split('\n').slice(-3).join(' ');
      throw new PerfyError(problem('E_REPORT', `Chromium (${chromium.path}) could not print the PDF report: `
        + `${said || e.message}`, 'the HTML report (`--format html`) is the same report; '
        + 'set $PERFY_CHROMIUM to try another Chromium'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
