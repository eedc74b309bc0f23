// The reporter contract: a reporter reads a Result, and nothing else, and renders one file of one format. The
// list of reporters is engine/report/index.ts; writing the files (atomically, where `report:` says, each named at
// the end of the run) is engine/report/write.ts. Modelled on vegeta's reporters: a function of the result.

import type { Result } from '../metrics/result.js';
import type { StepKind } from '../steps/types.js';

export type { ReportSection, ReportTable } from '../steps/types.js';

export interface Reporter {
  /** The name `report:` and `perfy report --format` use; the schema's `reportFormat` lists every reporter's. */
  format: string;
  /** The file written into the output directory (`--out DIR`, else perfy-results/) when `report:` gives no path. */
  defaultFile: string;
  /** What the file is, in a sentence's words: `HTML report`. */
  title: string;
  /**
   * The file's content. A reporter that needs something of the machine (PDF: Chromium) and does not find it
   * throws a PerfyError with E_REPORT and a hint naming what to install; the other reports are written anyway.
   */
  render(result: Result, context: ReportContext): Promise<string | Uint8Array>;
}

/** What a reporter may read besides the Result: the step kinds, for their own summary lines and sections. */
export interface ReportContext {
  /** The built-in step kinds and the plan's plugins (absent for `perfy report` of a result: the built-in ones). */
  kinds: readonly StepKind[];
}
