// Real child processes for the monitor's tests (fixtures/monitor/child.mjs): each in its own process group, so
// that killing it by its group id also ends what a wrapper shell started under it.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../engine/paths.js';

export const CHILD = join(PACKAGE_ROOT, 'fixtures', 'monitor', 'child.mjs');

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** resolves with the next line the child prints */
  line(): Promise<string>;
  /** SIGKILL to its process group; resolves once the child has exited (and was reaped) */
  kill(): Promise<void>;
}

/** Starts `node child.mjs ...args` (or, with `shell`, `sh -c` running it) and waits for its `ready`. */
export async function startChild(args: string[], options: { shell?: boolean } = {}): Promise<Child> {
  const quoted = [process.execPath, CHILD, ...args].map((a) => `'${a}'`).join(' ');
  // `; exit $?` keeps sh from exec'ing node in its place: the wrapper stays, as a real `sh -c` start script does.
  const proc = options.shell
    ? spawn('sh', ['-c', `${quoted}; exit $?`], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, [CHILD, ...args], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffered = '';
  proc.stdout!.setEncoding('utf8').on('data', (data: string) => {
    buffered += data;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    proc,
    pid: proc.pid!,
    line: () => (lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((r) => waiting.push(r))),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
  const first = await Promise.race([child.line(), exited.then(() => 'exited')]);
  if (first !== 'ready') throw new Error(`child ${args.join(' ')} said ${first}`);
  return child;
}
