// CSV data files (RFC 4180): a header row, then rows; quoted fields with `""` escapes and embedded delimiters
// or line breaks; LF, CRLF or CR line ends; a BOM. The validator and the runtime read files through this one
// parser, so what validates is what runs.

export class CsvError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

export interface CsvTable {
  columns: string[];
  rows: Record<string, string>[];
}

/** Parses CSV text. Blank lines are skipped; a row of empty quoted fields (`""`) is kept. Throws CsvError. */
export function parseCsvTable(text: string, delimiter = ','): CsvTable {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let lineHasContent = false;
  let line = 1;
  let quoteLine = 0;
  const body = text.replace(/^\uFEFF/, '');
  const endRecord = (): void => {
    record.push(field);
    if (lineHasContent) records.push(record);
    record = [];
    field = '';
    lineHasContent = false;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      endRecord();
      line++;
      continue;
    }
    lineHasContent = true;
    if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === delimiter) {
      record.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw new CsvError(`the quote opened on line ${quoteLine} is never closed`, quoteLine);
  endRecord();
  const [header, ...rows] = records;
  if (!header) return { columns: [], rows: [] };
  const columns = header.map((c) => c.trim());
  return { columns, rows: rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? '']))) };
}

/** The rows of CSV text, keyed by the header's column names. */
export function parseCsv(text: string, delimiter = ','): Record<string, string>[] {
  return parseCsvTable(text, delimiter).rows;
}
