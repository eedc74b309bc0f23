// Finding Chromium for what needs a browser (the PDF report; `perfy doctor` says whether one is there):
// $PERFY_CHROMIUM when set, else the first of Debian's, Ubuntu's and Google's names on the PATH.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The names a Chromium or Chrome executable goes by, in the order they are tried. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

/** What to do when there is none: the same words for the PDF report's error and for doctor. */
export const CHROMIUM_HINT = 'install Chromium (`apt-get install chromium` on Debian, `chromium-browser` on Ubuntu) '
  + 'or set $PERFY_CHROMIUM to a Chromium or Chrome executable';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface FoundChromium {
  path: string;
  /** How it was found: the variable, or a name on the PATH. */
  from: 'PERFY_CHROMIUM' | 'PATH';
}

/**
 * The Chromium to run, or undefined. A $PERFY_CHROMIUM that names no executable finds nothing rather than falling
 * back to the PATH: whoever set it meant that one.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): FoundChromium | undefined {
  const chosen = env['PERFY_CHROMIUM'];
  if (chosen !== undefined && chosen !== '') {
    return executable(chosen) ? { path: chosen, from: 'PERFY_CHROMIUM' } : undefined;
  }
  const dirs = (env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (executable(path)) return { path, from: 'PATH' };
    }
  }
  return undefined;
}
