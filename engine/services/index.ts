// Starting and stopping the scenario's `services:`: in declaration order up, in reverse order down.
// The built-in services are an explicit map checked against the schema's list of names.

import { PerfyError } from '../errors.js';
import type { Plan } from '../compile/plan.js';
import { startCommandService } from './command.js';
import { startDemoApi, type BuiltinService } from './demo-api.js';
import { startGithubMock } from './github-mock.js';
import { startPostgresService } from './postgres.js';
import type { RunningService } from './types.js';
import { makeLogDir, startFailed, startInterrupted, startUrlService, type ServiceContext } from './url.js';

export type { CollectedMetric, RunningService } from './types.js';
export type { ServiceContext } from './url.js';
export { splitCommandLine, CommandLineError, STOP_GRACE_MS } from './command.js';
export {
  initIsFile, poolSettingsOf, POSTGRES_DEFAULTS, POSTGRES_POOL_DEFAULTS, type PostgresPoolSettings,
  type PostgresService,
} from './postgres-config.js';

type BuiltinStart = (name: string, config: BuiltinService, context: ServiceContext) => Promise<RunningService>;

/** Every name of the schema's `builtin` enum, and how to start it. (A database is the `postgres` form.) */
export const BUILTIN_SERVICES = {
  'demo-api': startDemoApi,
  'github-mock': startGithubMock,
} as const satisfies Record<BuiltinService['builtin'], BuiltinStart>;

export interface StartServicesOptions {
  /** Directory of the scenario file (`cwd` of commands is relative to it). */
  scenarioDir: string;
  /** Where each service's output goes, as `NAME.log`. */
  logDir: string;
  /** Aborting it stops the start: the services already up are stopped and E_INTERRUPTED is thrown. */
  signal?: AbortSignal;
  /**
   * The run's time scale: the built-in GitHub mock's windows, limits and blocks pass that many times faster. It
   * never shortens startup timeouts, because a service takes as long as it takes whatever the run's clock does.
   */
  timeScale?: number;
  /** How long a stop waits after SIGTERM before SIGKILL (default STOP_GRACE_MS, 5 s). */
  stopGraceMs?: number;
}

/** Starts one service of any form. */
export function startService(
  name: string,
  config: Plan['services'][string],
  context: ServiceContext,
): Promise<RunningService> {
  if ('command' in config) return startCommandService(name, config, context);
  if ('builtin' in config) return BUILTIN_SERVICES[config.builtin](name, config, context);
  if ('postgres' in config) return startPostgresService(name, config, context);
  return startUrlService(name, config, context);
}

/**
 * Starts the services in declaration order. If one fails, those already started are stopped (in reverse
 * order) and the failure is thrown: a PerfyError E_SERVICE_START naming the service, the cause and its log
 * (E_INTERRUPTED when `signal` aborted the start).
 */
export async function startServices(
  services: Plan['services'],
  options: StartServicesOptions,
): Promise<RunningService[]> {
  const context: ServiceContext = {
    scenarioDir: options.scenarioDir, logDir: options.logDir, signal: options.signal,
    stopGraceMs: options.stopGraceMs, timeScale: options.timeScale,
  };
  const running: RunningService[] = [];
  const entries = Object.entries(services);
  if (entries.length > 0) makeLogDir(options.logDir);
  for (const [name, config] of entries) {
    try {
      if (options.signal?.aborted) throw startInterrupted(name);
      running.push(await startService(name, config, context));
      if (options.signal?.aborted) throw startInterrupted(name);
    } catch (error) {
      await stopServices(running);
      if (error instanceof PerfyError) throw error;
      throw startFailed(
        name,
        error instanceof Error ? error.message : String(error),
        'an unexpected failure; run again with PERFY_DEBUG=1 and report it if it persists',
        undefined,
      );
    }
  }
  return running;
}

/** Stops services in reverse order (each SIGTERM, then SIGKILL after the grace time). Never throws. */
export async function stopServices(running: readonly RunningService[]): Promise<void> {
  for (const service of [...running].reverse()) {
    try {
      await service.stop();
    } catch {
      // A service that cannot be stopped must not keep the others running.
    }
  }
}
