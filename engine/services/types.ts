// The service contract: something that must be up before the load starts, stopped after it whatever ends the run.

export interface RunningService {
  name: string;
  /** What `{{services.NAME.url}}` renders to. */
  url: string;
  host: string;
  port: number;
  /** The process to monitor, if perfy started one (undefined for in-process services and plain URLs). */
  pid: number | undefined;
  /** Stops the service; resolves when it is down. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * The service's own counts, for services that keep some (github-mock): running totals since it started,
   * read when called. Rejects when the service does not answer.
   */
  collect?(): Promise<CollectedMetric[]>;
}

/** One value a service reports about itself. */
export interface CollectedMetric {
  name: string;
  type: 'counter' | 'gauge';
  tags: Record<string, string>;
  value: number;
}
