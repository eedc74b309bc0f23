// The files and services a scenario names: data sources read for their columns (so templates can be checked
// against them), postgres services' settings, the TLS CA file. Read once, at compile time.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { CsvError, parseCsvTable, type CsvTable } from '../load/csv.js';
import type { PathSegment } from '../load/index.js';
import { initIsFile } from '../services/postgres-config.js';
import { parseDuration } from '../units.js';
import type { Plan } from './plan.js';
import type { CompileScope } from './scope.js';

/** What the schema cannot say about a `postgres` service: its init file exists, its keys fit its form. */
export function compileServices(c: CompileScope): void {
  for (const [name, service] of Object.entries(c.scenario.services ?? {})) {
    if (!('postgres' in service)) continue;
    const path = ['services', name];
    if (typeof service.postgres === 'object') {
      for (const key of ['database', 'user', 'port'] as const) {
        if (service[key] === undefined) continue;
        c.report(
          'E_SCHEMA',
          `\`${key}\` applies to \`postgres: embedded\` only`,
          'with `postgres: { url }` the URL names the host, port, user and database of the server: remove this key',
          [...path, key],
          { key: true },
        );
      }
      if (!URL.canParse(service.postgres.url)) {
        c.report(
          'E_FORMAT',
          'the postgres url is not a URL',
          'write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters in the password)',
          [...path, 'postgres', 'url'],
        );
      }
    }
    if (service.init !== undefined && initIsFile(service.init)) {
      const file = service.init.trim();
      const absolute = resolvePath(c.baseDir, file);
      if (!existsSync(absolute) || statSync(absolute).isDirectory()) {
        const what = existsSync(absolute) ? 'is a directory, not a file' : 'does not exist';
        c.report(
          'E_DATA_MISSING',
          `init file ${file} ${what}`,
          `the path is relative to the scenario file; it resolves to ${absolute} (a single line ending in .sql names ` +
            'a file; write SQL text otherwise)',
          [...path, 'init'],
        );
      }
    }
    const timeouts: [string | undefined, PathSegment[], string][] = [
      [service.timeout, [...path, 'timeout'], 'give the start time to happen, such as 30s'],
      [
        service.pool?.connect_timeout,
        [...path, 'pool', 'connect_timeout'],
        'give connecting time to happen, such as 10s',
      ],
      [
        service.pool?.statement_timeout,
        [...path, 'pool', 'statement_timeout'],
        'leave `statement_timeout` out for no limit, or give one such as 5s',
      ],
    ];
    for (const [value, at, hint] of timeouts) {
      if (value !== undefined && parseDuration(value) === 0) {
        c.report('E_DURATION_ZERO', `${value} is not a positive duration`, hint, at);
      }
    }
  }
}

export function compileData(c: CompileScope): void {
  for (const [name, source] of Object.entries(c.scenario.data ?? {})) {
    const format = 'csv' in source ? 'csv' : 'json';
    const file = 'csv' in source ? source.csv : source.json;
    const path = ['data', name, format];
    const absolute = resolvePath(c.baseDir, file);
    const delimiter = 'csv' in source ? source.delimiter ?? ',' : ',';
    if (!existsSync(absolute) || statSync(absolute).isDirectory()) {
      const what = existsSync(absolute) ? 'is a directory, not a file' : 'does not exist';
      c.report(
        'E_DATA_MISSING',
        `data file ${file} ${what}`,
        `the path is relative to the scenario file; it resolves to ${absolute}`,
        path,
      );
      continue;
    }
    // Read whole below: a FIFO would wait for a writer and a device (/dev/zero) would never end.
    if (!statSync(absolute).isFile()) {
      const hint = 'a data file is a CSV or JSON file on disk; save the rows to a file and name it';
      c.report('E_DATA_INVALID', `data file ${file} is a pipe, socket or device, not a regular file`, hint, path);
      continue;
    }
    const columns = format === 'csv' ? csvColumns(c, absolute, delimiter, path) : jsonColumns(c, absolute, path);
    if (columns === undefined) continue;
    c.data[name] = {
      format,
      path: absolute,
      order: source.order ?? 'sequential',
      onExhausted: source.on_exhausted ?? 'stop',
      delimiter,
      columns,
    };
  }
}

export function csvColumns(
  c: CompileScope,
  file: string,
  delimiter: string,
  path: PathSegment[],
): string[] | undefined {
  let table: CsvTable;
  try {
    table = parseCsvTable(readFileSync(file, 'utf8'), delimiter);
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    c.report(
      'E_DATA_INVALID',
      `${file}: ${error.message}`,
      'close the quote; a quote inside a quoted field is written twice: ""',
      path,
    );
    return undefined;
  }
  if (table.rows.length === 0) {
    c.report(
      'E_DATA_INVALID',
      `${file} has ${table.columns.length === 0 ? 'no header and no rows' : 'a header but no rows'}`,
      'a CSV data file needs a header row and at least one data row',
      path,
    );
    return undefined;
  }
  return table.columns;
}

export function jsonColumns(c: CompileScope, file: string, path: PathSegment[]): string[] | undefined {
  let rows: unknown;
  try {
    rows = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    c.report(
      'E_DATA_INVALID',
      `${file} is not valid JSON (${(error as Error).message})`,
      'a JSON data file holds an array of objects',
      path,
    );
    return undefined;
  }
  if (
    !Array.isArray(rows) ||
    rows.length === 0 ||
    !rows.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))
  ) {
    c.report(
      'E_DATA_INVALID',
      `${file} is not a non-empty array of objects`,
      'a JSON data file holds an array of objects: [{"id": 1}, …]',
      path,
    );
    return undefined;
  }
  return [...new Set(rows.flatMap((r) => Object.keys(r as object)))];
}

export function compileTls(c: CompileScope): Plan['defaults']['tls'] {
  const tls = c.scenario.defaults?.tls;
  let caFile: string | undefined;
  if (tls?.ca !== undefined) {
    caFile = resolvePath(c.baseDir, tls.ca);
    if (!existsSync(caFile)) {
      c.report(
        'E_DATA_MISSING',
        `CA file ${tls.ca} does not exist`,
        `the path is relative to the scenario file; it resolves to ${caFile}`,
        ['defaults', 'tls', 'ca'],
      );
    }
  }
  return { verify: tls?.verify ?? true, caFile };
}

/** Every plugin declared has its module (loaded by compile/plugins.ts before the scenario compiles). */
export function checkPlugins(c: CompileScope): void {
  for (const [name, module] of Object.entries(c.scenario.plugins ?? {})) {
    if (c.plugins.has(name)) continue;
    const absolute = resolvePath(c.baseDir, module);
    // A module that exists but was not loaded (compileScenarioFileSync) fails when the run starts, as its executor
    // would.
    if (!existsSync(absolute)) {
      c.report(
        'E_PLUGIN_MISSING',
        `plugin module ${module} does not exist`,
        `the path is relative to the scenario file; it resolves to ${absolute}`,
        ['plugins', name],
      );
    }
  }
}
