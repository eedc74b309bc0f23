// `report: [html]`: one self-contained HTML file (templates/report/report.ejs): the verdict, the charts (uPlot,
// inlined from node_modules with the data as JSON) and the tables. No network: it opens from file:// and prints.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import ejs, { type TemplateFunction } from 'ejs';
import { MAX_EVENTS, type Result } from '../metrics/result.js';
import { PACKAGE_ROOT } from '../paths.js';
import { chartsOf } from './html-charts.js';
import {
  checkTable, failureTables, metricTables, runTable, serviceSection, stepTable, thresholdTable, workloadTable,
} from './html-tables.js';
import { monitorSection } from './monitor.js';
import type { ReportContext, ReportSection, Reporter } from './types.js';
import { verdictOf } from './verdict.js';
import { loadSections, summaryViewOf } from './view.js';

export const html: Reporter = {
  format: 'html',
  defaultFile: 'report.html',
  title: 'HTML report',
  render: (result, context) => renderHtml(result, context),
};

const TEMPLATE_DIR = join(PACKAGE_ROOT, 'templates', 'report');

/** The template and what it inlines, read once per process: a report is rendered from memory. */
let assets: { template: TemplateFunction; css: string; script: string; uplotJs: string; uplotCss: string } | undefined;

function loadAssets(): NonNullable<typeof assets> {
  if (assets !== undefined) return assets;
  const read = (path: string): string => readFileSync(path, 'utf8');
  const uplot = (file: string): string => read(createRequire(import.meta.url).resolve(`uplot/dist/${file}`));
  const file = join(TEMPLATE_DIR, 'report.ejs');
  const uplotJs = uplot('uPlot.iife.min.js');
  // Inlined scripts end at the first `</script`: a library that held one would cut the page.
  if (/<\/script/i.test(uplotJs)) throw new Error('uPlot\'s script holds "</script" and cannot be inlined');
  assets = {
    template: ejs.compile(read(file), { filename: file, strict: true, _with: false, localsName: 'report' }),
    css: read(join(TEMPLATE_DIR, 'report.css')),
    script: read(join(TEMPLATE_DIR, 'charts.js')),
    uplotJs,
    uplotCss: uplot('uPlot.min.css'),
  };
  return assets;
}

/** JSON safe inside a <script> block: no `<` can close it or open a comment. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export async function renderHtml(result: Result, context: ReportContext): Promise<string> {
  const { template, ...inline } = loadAssets();
  const view = summaryViewOf(result);
  const kindSections: ReportSection[] = (await loadSections(context.kinds)).flatMap((sections) => sections(view));
  const service = serviceSection(view);
  const charts = chartsOf(result);
  const chartIds = new Set(charts.charts.map((c) => c.id));
  return template({
    result,
    verdict: verdictOf(result),
    thresholds: thresholdTable(result),
    monitor: monitorSection(result.monitor, MAX_EVENTS),
    workloads: workloadTable(result, view),
    steps: stepTable(result),
    checks: checkTable(view),
    failures: failureTables(result, view),
    metrics: metricTables(result),
    sections: [...kindSections, ...(service === undefined ? [] : [service])],
    run: runTable(result),
    charts: charts.charts,
    has: (id: string) => chartIds.has(id),
    chartJson: scriptJson({ ...charts, charts: charts.charts.map(({ title: _t, note: _n, ...data }) => data) }),
    ...inline,
  });
}
