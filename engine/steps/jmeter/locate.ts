// Finds Apache JMeter and the Java it runs on, reads JMeter's version without starting a JVM, and decides how
// to start it: JMeter's own bin/jmeter script from 3.3 on, perfy's launcher class before (docs/jmeter.md).

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { PerfyError, problem } from '../../errors.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { findJmeterHome, findOnPathSync } from './search.js';

export interface JmeterInstall {
  /** JMeter's home directory: the one holding bin/ApacheJMeter.jar and lib/ext/ */
  home: string;
  /** "2.13", "5.6.3", or "unknown" when no jar says */
  version: string;
  /** 0 when the version is unknown */
  major: number;
  /** argv to run JMeter non-GUI: [java, ...flags, class] or [jmeterScript] */
  command: string[];
  /** true when JMeter is started through perfy's launcher class (JMeter before 3.3) */
  launcher: boolean;
  /** How the launcher runs: a class compiled once by javac into perfy's cache, or Java's single-file source mode. */
  launcherMode?: 'compiled' | 'source';
  /** The compiled launcher's class directory, or its source file in source mode. */
  launcherPath?: string;
  /** The Java that runs the launcher (undefined when JMeter's own script finds its Java). */
  java?: string;
  /** how it was found */
  source: 'step' | 'JMETER_HOME' | 'PATH';
}

/** The Java perfy found: `$JAVA_HOME/bin/java`, else `java` on the PATH. */
export interface JavaRuntime {
  /** The java program as found (may be a symlink, e.g. /usr/bin/java). */
  java: string;
  /** The JDK or JRE directory, when the program's real path shows it. */
  home: string | undefined;
  /** "17.0.15", from the `release` file of the Java home; undefined when there is none. */
  version: string | undefined;
  /** The modules the `release` file lists; undefined when there is none. */
  modules: string[] | undefined;
  /** A javac of the same JDK, else of JAVA_HOME, else on the PATH. */
  javac: string | undefined;
}

/** The launcher's Java source; package.json "files" lists it, so it ships with perfy. */
export const LAUNCHER_SOURCE = join(PACKAGE_ROOT, 'engine', 'steps', 'jmeter', 'PerfyJMeterLauncher.java');
export const LAUNCHER_CLASS = 'PerfyJMeterLauncher';

const LAUNCHER_HINT =
  'install a JDK (`apt-get install default-jdk-headless`) so perfy can compile its launcher once, or use JMeter ' +
  '3.3 or later, which needs no launcher';

const cache = new Map<string, Promise<JmeterInstall>>();

/**
 * The step's `jmeter:` path (a home directory or the jmeter script), else $JMETER_HOME, else `jmeter` on PATH.
 * Throws PerfyError E_JMETER_MISSING (nothing usable there) or E_JMETER_LAUNCHER (JMeter before 3.3 and no way
 * to compile or run the launcher). Cached per path and environment; a failure is not cached, so installing
 * JMeter and trying again works.
 */
export function locateJmeter(explicit?: string): Promise<JmeterInstall> {
  const key = JSON.stringify([
    explicit === undefined ? undefined : resolve(explicit),
    process.env['JMETER_HOME'],
    process.env['JAVA_HOME'],
    process.env['PATH'],
  ]);
  let found = cache.get(key);
  if (found === undefined) {
    found = findJmeter(explicit);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function findJmeter(explicit: string | undefined): Promise<JmeterInstall> {
  const { home, source } = findJmeterHome(explicit);
  const version = await jmeterVersion(home);
  const parts = parseVersion(version);
  const needsLauncher = parts !== undefined && (parts.major < 3 || (parts.major === 3 && parts.minor < 3));
  const base = { home, version, major: parts?.major ?? 0, source };
  if (!needsLauncher) {
    if (process.platform === 'win32') {
      // bin/jmeter.bat needs a shell to run; the jar starts the same NewDriver.
      const java = await findJava();
      if (java === undefined) throw javaMissing(home);
      return {
        ...base,
        command: [java.java, '-jar', join(home, 'bin', 'ApacheJMeter.jar')],
        launcher: false,
        java: java.java,
      };
    }
    return { ...base, command: [join(home, 'bin', 'jmeter')], launcher: false };
  }
  const java = await findJava();
  if (java === undefined) throw javaMissing(home);
  const launcher = await prepareLauncher(java);
  const classPath = [
    ...(launcher.mode === 'compiled' ? [launcher.classDir] : []),
    ...(await jmeterClassPath(home)),
  ].join(delimiter);
  const command = [
    java.java,
    '-cp',
    classPath,
    `-Djmeter.home=${home}`,
    launcher.mode === 'compiled' ? LAUNCHER_CLASS : launcher.source,
  ];
  const launcherPath = launcher.mode === 'compiled' ? launcher.classDir : launcher.source;
  return { ...base, command, launcher: true, launcherMode: launcher.mode, launcherPath, java: java.java };
}

function javaMissing(home: string): PerfyError {
  return new PerfyError(
    problem(
      'E_JMETER_MISSING',
      `Apache JMeter is at ${home} but no Java was found to run it (no JAVA_HOME, no \`java\` on the PATH)`,
      'install a Java runtime (`apt-get install default-jre-headless`), or set JAVA_HOME',
    ),
  );
}

/** An executable of that name on the PATH, as the shell would find it. */
export async function findOnPath(name: string): Promise<string | undefined> {
  return findOnPathSync(name);
}

/**
 * JMeter's version from the Implementation-Version of lib/ext/ApacheJMeter_core.jar's manifest (else
 * bin/ApacheJMeter.jar's): "5.6.3", or Debian's "2.13.19691222" (a date stamp, dropped) or upstream's
 * "2.13 r1665067". Reading the jar takes a millisecond; `jmeter --version` would take a JVM start.
 */
export async function jmeterVersion(home: string): Promise<string> {
  for (const jar of [join(home, 'lib', 'ext', 'ApacheJMeter_core.jar'), join(home, 'bin', 'ApacheJMeter.jar')]) {
    const manifest = await readZipEntry(jar, 'META-INF/MANIFEST.MF').catch(() => undefined);
    if (manifest === undefined) continue;
    const value = manifestAttribute(manifest.toString('utf8'), 'Implementation-Version');
    const match = value === undefined ? null : /^(\d+)\.(\d+)(?:\.(\d{1,3}))?(?!\d)/.exec(value);
    if (match !== null) {
      return match[3] === undefined ? `${match[1]}.${match[2]}` : `${match[1]}.${match[2]}.${match[3]}`;
    }
  }
  return 'unknown';
}

export function parseVersion(version: string): { major: number; minor: number } | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]) };
}

/** One attribute of a JAR manifest (continuation lines start with a space). */
export function manifestAttribute(manifest: string, name: string): string | undefined {
  const joined = manifest.replace(/\r\n/g, '\n').replace(/\n /g, '');
  for (const line of joined.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** One file of a ZIP (a JAR), read through the central directory; stored or deflated entries. */
export async function readZipEntry(zip: string, name: string): Promise<Buffer | undefined> {
  const file = await open(zip, 'r');
  try {
    const { size } = await file.stat();
    // The end-of-central-directory record is in the last 22 bytes plus at most a 64 KiB comment.
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let end = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        end = i;
        break;
      }
    }
    if (end < 0) return undefined;
    const directorySize = tail.readUInt32LE(end + 12);
    const directoryOffset = tail.readUInt32LE(end + 16);
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);
    for (let at = 0; at + 46 <= directorySize && directory.readUInt32LE(at) === 0x02014b50;) {
      const method = directory.readUInt16LE(at + 10);
      const compressedSize = directory.readUInt32LE(at + 20);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      const localOffset = directory.readUInt32LE(at + 42);
      const entryName = directory.toString('utf8', at + 46, at + 46 + nameLength);
      if (entryName === name) {
        const local = Buffer.alloc(30);
        await file.read(local, 0, 30, localOffset);
        if (local.readUInt32LE(0) !== 0x04034b50) return undefined;
        const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
        const data = Buffer.alloc(compressedSize);
        await file.read(data, 0, compressedSize, dataOffset);
        if (method === 0) return data;
        if (method === 8) return inflateRawSync(data);
        return undefined;
      }
      at += 46 + nameLength + extraLength + commentLength;
    }
    return undefined;
  } finally {
    await file.close();
  }
}

/**
 * JMeter's class path for the launcher: bin/ApacheJMeter.jar, lib/*.jar, lib/ext/*.jar. Debian's jars also
 * name their dependencies in /usr/share/java in their manifests' Class-Path, which the JVM follows by itself.
 */
export async function jmeterClassPath(home: string): Promise<string[]> {
  const jars = async (dir: string): Promise<string[]> =>
    (await readdir(dir).catch(() => [] as string[]))
      .filter((name) => name.endsWith('.jar'))
      .sort()
      .map((name) => join(dir, name));
  return [
    join(home, 'bin', 'ApacheJMeter.jar'),
    ...(await jars(join(home, 'lib'))),
    ...(await jars(join(home, 'lib', 'ext'))),
  ];
}

/** `$JAVA_HOME/bin/java`, else `java` on the PATH; with its version and modules from the Java home's `release` file. */
export async function findJava(): Promise<JavaRuntime | undefined> {
  const javaHome = process.env['JAVA_HOME'];
  const executable = process.platform === 'win32' ? 'java.exe' : 'java';
  let java: string | undefined;
  if (javaHome) {
    const candidate = join(javaHome, 'bin', executable);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) java = candidate;
  }
  java ??= await findOnPath('java');
  if (java === undefined) return undefined;
  const real = await realpath(java).catch(() => java);
  const home = dirname(dirname(real));
  const release = await readFile(join(home, 'release'), 'utf8').catch(() => undefined);
  const field = (name: string): string | undefined =>
    (release === undefined ? undefined : new RegExp(`^${name}="([^"]*)"`, 'm').exec(release)?.[1]);
  const modules = field('MODULES');
  const javacName = process.platform === 'win32' ? 'javac.exe' : 'javac';
  let javac: string | undefined;
  for (const candidate of [join(dirname(real), javacName), ...(javaHome ? [join(javaHome, 'bin', javacName)] : [])]) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) {
      javac = candidate;
      break;
    }
  }
  javac ??= await findOnPath('javac');
  return {
    java,
    home: release === undefined ? undefined : home,
    version: field('JAVA_VERSION'),
    modules: modules?.split(/\s+/).filter(Boolean),
    javac,
  };
}

/** `java -version`'s version, for a Java without a `release` file (slower: a JVM start). */
export function javaVersionFromProgram(java: string): Promise<string | undefined> {
  return new Promise((resolveVersion) => {
    execFile(java, ['-version'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) return resolveVersion(undefined);
      resolveVersion(/version "([^"]+)"/.exec(`${stderr}${stdout}`)?.[1]);
    });
  });
}

export type Launcher = { mode: 'compiled'; classDir: string } | { mode: 'source'; source: string };

/**
 * How the launcher runs: compiled once by javac into perfy's cache (keyed by the source's hash; later runs
 * reuse it), else in Java's single-file source mode (Java 11+ with the jdk.compiler module; Debian's JRE has
 * it), which compiles in memory on every start (about half a second). `compile: false` skips javac.
 */
export async function prepareLauncher(
  java: JavaRuntime,
  options: { compile?: boolean; cacheDir?: string } = {},
): Promise<Launcher> {
  const source = await readFile(LAUNCHER_SOURCE).catch(() => undefined);
  if (source === undefined) {
    throw new PerfyError(
      problem(
        'E_JMETER_LAUNCHER',
        `perfy's JMeter launcher source ${LAUNCHER_SOURCE} is missing`,
        'reinstall perfy; the file ships in its package',
      ),
    );
  }
  let compileError: string | undefined;
  if (options.compile !== false && java.javac !== undefined) {
    try {
      return { mode: 'compiled', classDir: await compileLauncher(java.javac, source, options.cacheDir) };
    } catch (error) {
      compileError = (error as Error).message;
    }
  }
  const javaMajor = Number(/^(?:1\.)?(\d+)/.exec(java.version ?? '')?.[1] ?? NaN);
  const sourceMode = java.modules !== undefined
    ? java.modules.includes('jdk.compiler') && !(javaMajor < 11)
    : !(javaMajor < 11);
  if (sourceMode) return { mode: 'source', source: LAUNCHER_SOURCE };
  const why = compileError !== undefined
    ? `javac failed: ${compileError}`
    : `there is no javac, and ${java.java} cannot run Java source files (it needs Java 11 or later with the ` +
      'jdk.compiler module)';
  throw new PerfyError(
    problem(
      'E_JMETER_LAUNCHER',
      `JMeter before 3.3 needs perfy's launcher, which cannot be compiled or run: ${why}`,
      LAUNCHER_HINT,
    ),
  );
}

/** The directory holding PerfyJMeterLauncher.class: reused from the cache, or compiled into it. */
async function compileLauncher(javac: string, source: Buffer, cacheDir?: string): Promise<string> {
  const hash = createHash('sha256').update(source).update('\0--release 8').digest('hex').slice(0, 16);
  const root = cacheDir ?? (await launcherCacheRoot());
  const classDir = join(root, `jmeter-launcher-${hash}`);
  if (await access(join(classDir, `${LAUNCHER_CLASS}.class`), constants.R_OK).then(() => true, () => false)) {
    return classDir;
  }
  await mkdir(root, { recursive: true, mode: 0o700 });
  const building = `${classDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(building, { recursive: true });
  try {
    // Java 8 class files run on every Java JMeter runs on; a javac of Java 8 itself has no --release.
    const compile = (flags: string[]): Promise<void> =>
      new Promise((resolveCompile, reject) => {
        const args = [...flags, '-nowarn', '-d', building, LAUNCHER_SOURCE];
        execFile(javac, args, { timeout: 120_000 }, (error, stdout, stderr) => {
          if (error) {
            reject(new Error(`${`${stderr}${stdout}`.trim() || error.message}`.split('\n').slice(0, 5).join(' ')));
          } else {
            resolveCompile();
          }
        });
      });
    await compile(['--release', '8', '-Xlint:-options']).catch(() => compile([]));
    try {
      await rename(building, classDir);
    } catch (error) {
      // Another perfy compiled it at the same time: use theirs.
      const classFile = join(classDir, `${LAUNCHER_CLASS}.class`);
      if (!(await access(classFile, constants.R_OK).then(() => true, () => false))) throw error;
    }
    return classDir;
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

/**
 * $XDG_CACHE_HOME/perfy or ~/.cache/perfy; when that cannot be made, a directory of this user's own in the
 * temporary directory (mode 0700, checked: a class file another user could replace would run as this user).
 */
async function launcherCacheRoot(): Promise<string> {
  const xdg = process.env['XDG_CACHE_HOME'];
  const preferred = join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'perfy');
  try {
    await mkdir(preferred, { recursive: true, mode: 0o700 });
    await access(preferred, constants.W_OK);
    return preferred;
  } catch {
    const uid = process.getuid?.() ?? 0;
    const fallback = join(tmpdir(), `perfy-cache-${uid}`);
    await mkdir(fallback, { recursive: true, mode: 0o700 });
    const info = await stat(fallback);
    if (process.getuid !== undefined && (info.uid !== uid || (info.mode & 0o077) !== 0)) {
      throw new Error(`${fallback} belongs to another user or is open to others`);
    }
    return fallback;
  }
}
