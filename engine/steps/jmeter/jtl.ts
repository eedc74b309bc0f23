// Reads Apache JMeter's CSV results (JTL) while JMeter is still writing them: an incremental CSV reader that maps
// columns by the file's header, a polling follower for the growing file, and the error classes of JMeter's codes.

import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { ErrorClass } from '../types.js';

/** One result line of a JTL file. */
export interface JtlSample {
  /** ms since epoch: the start of the sample (perfy runs JMeter with sampleresult.timestamp.start=true) */
  timeStamp: number;
  /** ms */
  elapsed: number;
  label: string;
  /** "200", or text such as "Non HTTP response code: java.net.ConnectException" */
  responseCode: string;
  responseMessage: string;
  threadName: string;
  success: boolean;
  /** The first failed assertion's message; '' when none (or when the file has no failureMessage column) */
  failureMessage: string;
  bytes: number;
  /** JMeter 5.x only */
  sentBytes: number | undefined;
  url: string | undefined;
  /** ms to first byte */
  latency: number | undefined;
  /** ms */
  connect: number | undefined;
  allThreads: number | undefined;
}

export interface JtlSkippedLine {
  /** 1-based line of the file where the record starts */
  line: number;
  reason: string;
}

/**
 * Every column name JMeter's CSVSaveService writes in a header (2.13 and 5.x). A record whose first field is one
 * of them is a header: data lines start with the timestamp.
 */
const COLUMN_NAMES: ReadonlySet<string> = new Set([
  'timeStamp', 'elapsed', 'label', 'responseCode', 'responseMessage', 'threadName', 'dataType', 'success',
  'failureMessage', 'bytes', 'sentBytes', 'grpThreads', 'allThreads', 'URL', 'Filename', 'Latency', 'Encoding',
  'SampleCount', 'ErrorCount', 'Hostname', 'IdleTime', 'Connect',
]);

/**
 * The columns of a file written without a header by JMeter 2.13 with its default save settings, in order.
 * From /usr/share/jmeter/bin/jmeter.properties (the commented-out defaults of `jmeter.save.saveservice.*`):
 * print_field_names=false, timestamp_format=ms, time, label, response_code, response_message, thread_name,
 * data_type, successful, bytes, thread_counts and latency true; assertion_results_failure_message, url,
 * connect_time, sample_count, idle_time, encoding, hostname and filename false. CSVSaveService writes the saved
 * ones in a fixed order, which gives these 12 columns (checked against 2.13 itself: CSVSaveService.
 * printableFieldNamesToString with those settings prints exactly this list).
 */
export const JMETER_2_13_DEFAULT_COLUMNS: readonly string[] = [
  'timeStamp', 'elapsed', 'label', 'responseCode', 'responseMessage', 'threadName', 'dataType', 'success',
  'bytes', 'grpThreads', 'allThreads', 'Latency',
];

/** Where each field of a sample is in a record; -1 when the file does not have that column. */
interface Layout {
  columns: number;
  /** Set when records cannot become samples under this layout (a header without timeStamp, …). */
  unusable: string | undefined;
  fromHeader: boolean;
  timeStamp: number;
  elapsed: number;
  label: number;
  responseCode: number;
  responseMessage: number;
  threadName: number;
  success: number;
  failureMessage: number;
  bytes: number;
  sentBytes: number;
  url: number;
  latency: number;
  connect: number;
  allThreads: number;
}

function layoutOf(names: readonly string[], fromHeader: boolean): Layout {
  const at = (name: string): number => names.indexOf(name);
  const layout: Layout = {
    columns: names.length, unusable: undefined, fromHeader,
    timeStamp: at('timeStamp'), elapsed: at('elapsed'), label: at('label'), responseCode: at('responseCode'),
    responseMessage: at('responseMessage'), threadName: at('threadName'), success: at('success'),
    failureMessage: at('failureMessage'), bytes: at('bytes'), sentBytes: at('sentBytes'), url: at('URL'),
    latency: at('Latency'), connect: at('Connect'), allThreads: at('allThreads'),
  };
  const missing = (['timeStamp', 'elapsed', 'success'] as const).filter((name) => layout[name] === -1);
  if (missing.length > 0) layout.unusable = `the header has no ${missing.join(', ')} column`;
  return layout;
}

const DEFAULT_LAYOUT = layoutOf(JMETER_2_13_DEFAULT_COLUMNS, false);

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/** A whole number written by Java's Long.toString, or NaN: no spaces, signs other than '-', or exponents. */
function wholeNumber(text: string): number {
  const length = text.length;
  if (length === 0 || length > 16) return Number.NaN;
  let i = text.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === length) return Number.NaN;
  let value = 0;
  for (; i < length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return text.charCodeAt(0) === 0x2d ? -value : value;
}

/** The field at a column of the layout; '' when the file has no such column. */
function field(fields: readonly string[], index: number): string {
  return index === -1 ? '' : fields[index] ?? '';
}

/** undefined for an empty field, else as wholeNumber. */
function optionalNumber(text: string): number | undefined {
  return text === '' ? undefined : wholeNumber(text);
}

/** Why a record's numbers did not parse: the first column at fault. */
function badNumber(fields: readonly string[], layout: Layout): string {
  const columns: [string, number, boolean][] = [
    ['timeStamp', layout.timeStamp, true], ['elapsed', layout.elapsed, true], ['bytes', layout.bytes, true],
    ['sentBytes', layout.sentBytes, false], ['Latency', layout.latency, false], ['Connect', layout.connect, false],
    ['allThreads', layout.allThreads, false],
  ];
  for (const [column, index, required] of columns) {
    const text = field(fields, index);
    if (index !== -1 && (required || text !== '') && Number.isNaN(wholeNumber(text))) {
      return `${column}: not a whole number: ${JSON.stringify(text)}`;
    }
  }
  return 'a number did not parse';
}

/**
 * Parses one CSV record starting at `start` the way JMeter writes them (fields quoted when they hold a comma, a
 * quote, CR or LF; quotes doubled inside). Returns where the record ends (after its LF) and how many LFs its
 * quoted fields hold, or undefined when the text ends before the record does. `out` receives the fields.
 */
function parseRecord(text: string, start: number, out: string[]): { end: number; newlines: number } | undefined {
  out.length = 0;
  const n = text.length;
  let value = '';
  let segment = start;
  let inQuotes = false;
  let newlines = 0;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === QUOTE) {
        // A quote last in the text ends the field for now; the record is then incomplete and parsed again, whole,
        // once more text has come.
        if (text.charCodeAt(i + 1) === QUOTE) {
          value += text.slice(segment, i + 1);
          i++;
        } else {
          value += text.slice(segment, i);
          inQuotes = false;
        }
        segment = i + 1;
      } else if (c === LF) {
        newlines++;
      }
    } else if (c === QUOTE) {
      value += text.slice(segment, i);
      inQuotes = true;
      segment = i + 1;
    } else if (c === COMMA) {
      out.push(value + text.slice(segment, i));
      value = '';
      segment = i + 1;
    } else if (c === LF) {
      const end = i > segment && text.charCodeAt(i - 1) === CR ? i - 1 : i;
      out.push(value + text.slice(segment, end));
      return { end: i + 1, newlines };
    }
  }
  return undefined;
}

/** Incremental reader: feed chunks as they are read from a growing file; complete lines become samples. */
export class JtlReader {
  readonly skipped: JtlSkippedLine[] = [];
  #samples = 0;
  #pending = '';
  /** 1-based line of the file where #pending starts */
  #line = 1;
  #layout: Layout | undefined;
  #decoder = new StringDecoder('utf8');
  #started = false;
  readonly #fields: string[] = [];
  readonly #onSample: (sample: JtlSample) => void;

  constructor(onSample: (sample: JtlSample) => void) {
    this.#onSample = onSample;
  }

  /** Samples delivered so far. */
  get samples(): number {
    return this.#samples;
  }

  /** Feeds bytes of the file (UTF-8, as JMeter writes it); a character split between chunks is kept whole. */
  pushBytes(chunk: Uint8Array): void {
    this.push(this.#decoder.write(chunk));
  }

  /** Feeds text; it may end mid-line or mid-quoted-field: the remainder waits for the next chunk. */
  push(chunk: string): void {
    if (chunk.length === 0) return;
    if (!this.#started) {
      this.#started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const text = this.#pending.length === 0 ? chunk : this.#pending + chunk;
    const n = text.length;
    let pos = 0;
    let nextQuote = text.indexOf('"');
    while (pos < n) {
      const lf = text.indexOf('\n', pos);
      if (lf === -1) break;
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
      if (nextQuote === -1 || nextQuote > lf) {
        // Most lines have no quoted field: split them without a character loop.
        const end = lf > pos && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
        this.#record(text.slice(pos, end).split(','), this.#line);
        this.#line++;
        pos = lf + 1;
      } else {
        const record = parseRecord(text, pos, this.#fields);
        if (record === undefined) break;
        this.#record(this.#fields, this.#line);
        this.#line += 1 + record.newlines;
        pos = record.end;
      }
    }
    this.#pending = pos === 0 ? text : text.slice(pos);
  }

  /** The file is complete: a remaining partial line (JMeter stopped mid-write) is reported, not delivered. */
  end(): { truncated: string | undefined } {
    const rest = this.#decoder.end();
    if (rest.length > 0) this.#pending += rest;
    const truncated = this.#pending.length > 0 ? this.#pending : undefined;
    this.#pending = '';
    return { truncated };
  }

  /**
   * The file was replaced or cut short: a partial line and undecoded bytes are dropped (and listed in skipped),
   * line numbers start again at 1, and the columns are read again from the new file's header.
   */
  restart(): void {
    const rest = this.#decoder.end();
    if (this.#pending.length > 0 || rest.length > 0) {
      this.skipped.push({ line: this.#line, reason: 'partial line dropped: the file was replaced or truncated' });
    }
    this.#pending = '';
    this.#line = 1;
    this.#layout = undefined;
    this.#started = false;
    this.#decoder = new StringDecoder('utf8');
  }

  #record(fields: string[], line: number): void {
    const first = fields[0] ?? '';
    if (fields.length === 1 && first === '') return;
    if (COLUMN_NAMES.has(first)) {
      // A header, at the top or in the middle of a file written again: the columns follow it from here on.
      this.#layout = layoutOf(fields, true);
      return;
    }
    const layout = (this.#layout ??= DEFAULT_LAYOUT);
    if (layout.unusable !== undefined) {
      this.skipped.push({ line, reason: layout.unusable });
      return;
    }
    if (fields.length !== layout.columns) {
      const source = layout.fromHeader ? 'the header' : 'JMeter 2.13\'s default columns (the file has no header)';
      this.skipped.push({ line, reason: `field count: ${fields.length}, ${source} has ${layout.columns}` });
      return;
    }
    const timeStamp = wholeNumber(field(fields, layout.timeStamp));
    const elapsed = wholeNumber(field(fields, layout.elapsed));
    const bytes = layout.bytes === -1 ? 0 : wholeNumber(field(fields, layout.bytes));
    // Columns a file may lack, or leave empty for a sample (the URL of a transaction): undefined.
    const sentBytes = optionalNumber(field(fields, layout.sentBytes));
    const latency = optionalNumber(field(fields, layout.latency));
    const connect = optionalNumber(field(fields, layout.connect));
    const allThreads = optionalNumber(field(fields, layout.allThreads));
    if (Number.isNaN(timeStamp) || Number.isNaN(elapsed) || Number.isNaN(bytes) || Number.isNaN(sentBytes)
      || Number.isNaN(latency) || Number.isNaN(connect) || Number.isNaN(allThreads)) {
      this.skipped.push({ line, reason: badNumber(fields, layout) });
      return;
    }
    const success = field(fields, layout.success).toLowerCase();
    if (success !== 'true' && success !== 'false') {
      this.skipped.push({
        line,
        reason: `success: neither true nor false: ${JSON.stringify(field(fields, layout.success))}`,
      });
      return;
    }
    const url = field(fields, layout.url);
    this.#samples++;
    this.#onSample({
      timeStamp, elapsed,
      label: field(fields, layout.label),
      responseCode: field(fields, layout.responseCode),
      responseMessage: field(fields, layout.responseMessage),
      threadName: field(fields, layout.threadName),
      success: success === 'true',
      failureMessage: field(fields, layout.failureMessage),
      bytes, sentBytes,
      url: url === '' ? undefined : url,
      latency, connect, allThreads,
    });
  }
}

export interface JtlOutcome {
  samples: number;
  /** A last line JMeter did not finish (killed mid-write); not a sample */
  truncated: string | undefined;
  skipped: JtlSkippedLine[];
}

/**
 * Reads a file that JMeter is still writing: polls every intervalMs (default 250) for bytes past what it has read,
 * so the file may not exist yet and may grow in any pieces; JMeter 2.13 buffers its CSV writes (8 KiB, autoflush
 * off), so lines mostly arrive in pieces. stop() reads what is left, ends the reader and resolves with its
 * outcome; it rejects with the first read error other than a missing file, or what onSample threw.
 */
export function followJtl(
  path: string,
  onSample: (sample: JtlSample) => void,
  options: { intervalMs?: number } = {},
): { stop(): Promise<JtlOutcome> } {
  const intervalMs = options.intervalMs ?? 250;
  const reader = new JtlReader(onSample);
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let offset = 0;
  let inode: number | undefined;
  let failure: { error: unknown } | undefined;
  let reading: Promise<void> | undefined;
  let outcome: Promise<JtlOutcome> | undefined;

  const readNew = async (): Promise<void> => {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return;
      throw error;
    }
    try {
      const stat = await handle.stat();
      if ((inode !== undefined && stat.ino !== inode) || stat.size < offset) {
        offset = 0;
        reader.restart();
      }
      inode = stat.ino;
      // Up to end of file rather than to stat's size: the file may grow while this reads.
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        reader.pushBytes(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  };

  const poll = (): Promise<void> => {
    // A poll still reading when the next is due covers it: one read at a time, in order.
    reading ??= readNew().catch((error: unknown) => {
      failure ??= { error };
      clearInterval(timer);
    }).finally(() => {
      reading = undefined;
    });
    return reading;
  };

  const timer = setInterval(() => void poll(), intervalMs);
  // JMeter's process keeps a run alive; a follower left running must not.
  timer.unref();
  void poll();

  return {
    stop(): Promise<JtlOutcome> {
      outcome ??= (async () => {
        clearInterval(timer);
        await reading;
        if (failure === undefined) await poll();
        if (failure !== undefined) throw failure.error;
        const { truncated } = reader.end();
        return { samples: reader.samples, truncated, skipped: reader.skipped };
      })();
      return outcome;
    },
  };
}

const NON_HTTP_CODE = 'Non HTTP response code: ';

/**
 * Classifies a non-numeric response code (JMeter's "Non HTTP response code: java.net.X", the exception's class)
 * into perfy's error classes; `message` is the responseMessage ("Non HTTP response message: Connection reset"),
 * which tells apart exceptions JMeter reports under one class. Undefined for a numeric HTTP code; 'other' for any
 * other text, '' included (a sampler that set no code).
 */
export function classifyResponseCode(
  code: string,
  message = '',
): Extract<ErrorClass, 'refused' | 'timeout' | 'dns' | 'reset' | 'tls' | 'other'> | undefined {
  if (/^\d+$/.test(code)) return undefined;
  const exception = (code.startsWith(NON_HTTP_CODE) ? code.slice(NON_HTTP_CODE.length) : code).trim();
  const name = exception.slice(exception.lastIndexOf('.') + 1);
  const timedOut = /timed out/i.test(message);
  switch (name) {
    // HttpClient 4's HttpHostConnectException is its ConnectException; "Connection timed out" is a connect
    // that no one answered (a dropped SYN), not a refusal.
    case 'ConnectException':
    case 'HttpHostConnectException':
      return timedOut ? 'timeout' : 'refused';
    case 'SocketTimeoutException':
    case 'ConnectTimeoutException':
      return 'timeout';
    case 'UnknownHostException':
      return 'dns';
    case 'NoHttpResponseException':
      return 'reset';
    case 'SocketException':
      if (/connection reset|broken pipe/i.test(message)) return 'reset';
      return timedOut ? 'timeout' : 'other';
    default:
      return name.startsWith('SSL') ? 'tls' : 'other';
  }
}
