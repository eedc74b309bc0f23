// Where Apache JMeter is: the step's `jmeter:` path, else $JMETER_HOME, else `jmeter` on the PATH, led to the
// home directory that holds bin/ApacheJMeter.jar. Synchronous file checks only (no JVM, no jar reading), so the
// compiler can warn about a missing JMeter cheaply; locate.ts starts from the same answer at run time.

import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { PerfyError, problem } from '../../errors.js';

export const JMETER_INSTALL_HINT = 'install it (`apt-get install jmeter` on Debian and Ubuntu), or download it from '
  + 'https://jmeter.apache.org, unpack it and set JMETER_HOME to its directory; '
  + 'a step can also name one with `jmeter: PATH`';

/** What makes a directory JMeter's home. */
const HOME_FILES = ['bin/ApacheJMeter.jar', 'lib/ext/ApacheJMeter_core.jar'];

export interface JmeterHome {
  /** JMeter's home directory: the one holding bin/ApacheJMeter.jar and lib/ext/ */
  home: string;
  /** how it was found */
  source: 'step' | 'JMETER_HOME' | 'PATH';
}

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * JMeter's home, in the order: the step's `jmeter:` path (a home directory or the jmeter script, relative to the
 * current directory), $JMETER_HOME, `jmeter` on the PATH. Throws PerfyError E_JMETER_MISSING saying what was
 * looked at when none leads to a JMeter installation.
 */
export function findJmeterHome(explicit?: string, env: Environment = process.env): JmeterHome {
  if (explicit !== undefined && explicit !== '') {
    return { source: 'step', home: homeFromPath(explicit, `the step's \`jmeter: ${explicit}\``, env) };
  }
  const fromEnv = env['JMETER_HOME'];
  if (fromEnv) return { source: 'JMETER_HOME', home: homeFromPath(fromEnv, `JMETER_HOME (${fromEnv})`, env) };
  const script = findOnPathSync('jmeter', env);
  if (script === undefined) {
    const message = 'Apache JMeter was not found: no `jmeter` step path, no JMETER_HOME and no `jmeter` on the PATH';
    throw new PerfyError(problem('E_JMETER_MISSING', message, JMETER_INSTALL_HINT));
  }
  return { source: 'PATH', home: homeFromPath(script, `\`jmeter\` on the PATH (${script})`, env) };
}

/** JMeter's home from a directory (the home, its bin/) or a file (bin/jmeter, a link to it, bin/ApacheJMeter.jar). */
function homeFromPath(given: string, what: string, env: Environment): string {
  let path = resolve(given);
  let info = statOrUndefined(path);
  if (info === undefined && !given.includes('/') && !given.includes('\\')) {
    const onPath = findOnPathSync(given, env);
    if (onPath !== undefined) {
      path = onPath;
      info = statOrUndefined(path);
    }
  }
  if (info === undefined) {
    throw new PerfyError(problem('E_JMETER_MISSING', `${what} does not exist`, JMETER_INSTALL_HINT));
  }
  const real = realpathSync(path);
  const base = info.isDirectory() ? real : dirname(dirname(real));
  // A Homebrew-style wrapper script sits in bin/ beside libexec/ holding the real installation.
  const candidates = info.isDirectory() ? [base, dirname(base), join(base, 'libexec')] : [base, join(base, 'libexec')];
  const home = candidates.find(isJmeterHome);
  if (home !== undefined) return home;
  const message = `${what} is not an Apache JMeter installation: no ${HOME_FILES.join(' and ')} under ${base}`;
  const hint = `give JMeter's home directory (the one with bin/ and lib/) or its bin/jmeter script; or ${
    JMETER_INSTALL_HINT}`;
  throw new PerfyError(problem('E_JMETER_MISSING', message, hint));
}

function isJmeterHome(dir: string): boolean {
  return HOME_FILES.every((file) => canAccess(join(dir, file), constants.R_OK));
}

/** An executable of that name on the PATH, as the shell would find it. */
export function findOnPathSync(name: string, env: Environment = process.env): string | undefined {
  const extensions = process.platform === 'win32' ? (env['PATHEXT'] ?? '.EXE;.BAT;.CMD').split(';') : [''];
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const extension of extensions) {
      const candidate = join(dir, name + extension);
      if (canAccess(candidate, constants.X_OK) && statOrUndefined(candidate)?.isFile()) return candidate;
    }
  }
  return undefined;
}

function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
