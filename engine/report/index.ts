// The reporters, in one explicit list: adding a format is a file beside these and one entry here (and its name in
// the schema's `reportFormat`, which a test keeps equal to this list). Each renders a Result; write.ts writes them.

import { consoleReporter } from './console.js';
import { html } from './html.js';
import { json } from './json.js';
import { junit } from './junit.js';
import { markdown } from './markdown.js';
import { pdf } from './pdf.js';
import { prometheus } from './prometheus.js';
import type { Reporter } from './types.js';

export const REPORTERS: readonly Reporter[] = [consoleReporter, json, html, pdf, junit, prometheus, markdown];

/** The reporter of a format, if this version has one. */
export function reporterFor(format: string): Reporter | undefined {
  return REPORTERS.find((r) => r.format === format);
}
