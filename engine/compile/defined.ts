// What a scenario defines — variables, captures, names of steps, groups and workloads, step kinds, services,
// data sources, plugins — read from the value as written, trusting no part of it to fit the schema.
// A scenario with schema problems is compiled without the parts that have them (validate/schema.ts); a name
// defined in such a part still counts as defined, so that no "is not defined" is reported that fixing the
// schema problem would prove wrong.

import { BUILTIN_STEP_KINDS } from '../steps/index.js';

export interface Defined {
  /** The top-level keys written, whatever their values. */
  keys: Set<string>;
  variables: Set<string>;
  captures: Set<string>;
  steps: Set<string>;
  groups: Set<string>;
  workloads: Set<string>;
  /** Built-in kinds by name; `plugin` for a `use:` step. */
  kinds: Set<string>;
  /** Each service with what the checks of other parts need to know of it. */
  services: Map<string, { builtin: string | undefined; postgres: boolean }>;
  data: Set<string>;
  plugins: Set<string>;
}

/** The keys of flow items that hold flows of their own. */
const NESTED_FLOWS = ['flow', 'then', 'else', 'parallel'];

export function definedIn(value: unknown): Defined {
  const top = isObject(value) ? value : {};
  const defined: Defined = {
    keys: new Set(Object.keys(top)),
    variables: keysOf(top['variables']),
    captures: new Set(),
    steps: new Set(),
    groups: new Set(),
    workloads: new Set(),
    kinds: new Set(),
    services: new Map(),
    data: keysOf(top['data']),
    plugins: keysOf(top['plugins']),
  };
  for (const [name, service] of Object.entries(isObject(top['services']) ? top['services'] : {})) {
    const builtin = isObject(service) && typeof service['builtin'] === 'string' ? service['builtin'] : undefined;
    defined.services.set(name, { builtin, postgres: isObject(service) && 'postgres' in service });
  }
  const visit = (flow: unknown): void => {
    if (!Array.isArray(flow)) return;
    for (const item of flow) {
      if (!isObject(item)) continue;
      for (const name of keysOf(item['capture'])) defined.captures.add(name);
      if (typeof item['name'] === 'string') defined.steps.add(item['name']);
      if (typeof item['group'] === 'string') defined.groups.add(item['group']);
      for (const { name } of BUILTIN_STEP_KINDS) if (name in item) defined.kinds.add(name);
      if ('use' in item) defined.kinds.add('plugin');
      for (const key of NESTED_FLOWS) visit(item[key]);
    }
  };
  visit(top['setup']);
  visit(top['flow']);
  visit(top['teardown']);
  for (const workload of Array.isArray(top['workloads']) ? top['workloads'] : []) {
    if (!isObject(workload)) continue;
    if (typeof workload['name'] === 'string') defined.workloads.add(workload['name']);
    visit(workload['flow']);
  }
  return defined;
}

function keysOf(value: unknown): Set<string> {
  return new Set(isObject(value) ? Object.keys(value) : []);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
