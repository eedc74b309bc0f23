// The URLs a scenario writes (its `target`, the absolute URLs of http steps), checked when it is validated: a
// placeholder left in (`http://127.0.0.1:PORT`) or a bare host is an error with its position, not a failed run.

export interface UrlProblem {
  message: string;
  hint: string;
  /** 0-based index into the string of the part that is wrong */
  offset: number;
}

/** A `{{name}}` (or `{{{name}}}`) tag: what it renders to is known only at run time. */
const TAG = /\{\{\{?[^}]*\}?\}\}/g;
/** `scheme://`, the start of an absolute URL. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

const HINT = 'write an absolute http(s) URL such as http://127.0.0.1:8080, or a template such as {{services.api.url}}';

/** Whether `url` (a step's URL) is absolute, so that httpUrlProblem applies to it; relative ones go to `target`. */
export function isAbsoluteUrl(url: string): boolean {
  return SCHEME.test(url);
}

/**
 * What is wrong with `source` as an absolute http(s) URL, or undefined when nothing is. Templates are allowed
 * anywhere: one at the very start supplies scheme and host (`{{services.api.url}}/v1`), and elsewhere the rest of
 * the URL is checked around them (`http://{{host}}:{{port}}` is fine; `http://{{host}}:PORT` is not).
 */
export function httpUrlProblem(source: string): UrlProblem | undefined {
  if (source.startsWith('{{')) return undefined;
  const scheme = SCHEME.exec(source)?.[1];
  if (scheme === undefined) {
    return { message: `"${source}" is not an absolute URL`, hint: HINT, offset: 0 };
  }
  if (!/^https?$/i.test(scheme)) {
    return { message: `"${scheme}:" URLs cannot be requested: perfy speaks http and https`, hint: HINT, offset: 0 };
  }
  const port = portProblem(source, scheme.length + 3);
  if (port !== undefined) return port;
  try {
    // A tag stands for text that is valid where it is: a host label, a port's digits, a path segment.
    const url = new URL(source.replace(TAG, '1'));
    if (url.hostname === '') return { message: `"${source}" has no host`, hint: HINT, offset: scheme.length + 3 };
  } catch {
    return { message: `"${source}" is not a valid URL`, hint: HINT, offset: 0 };
  }
  return undefined;
}

/** A port that is not digits (`:PORT`, `:80a`) or is out of range, pointed at; `start`: where the host begins. */
function portProblem(source: string, start: number): UrlProblem | undefined {
  const end = source.slice(start).search(/[/?#]/);
  const authority = end === -1 ? source.slice(start) : source.slice(start, start + end);
  const hostStart = authority.lastIndexOf('@') + 1;
  // An IPv6 host (`[::1]:8080`) holds colons of its own: the port comes after its closing bracket.
  const colon = authority.indexOf(':', authority[hostStart] === '[' ? authority.indexOf(']', hostStart) : hostStart);
  if (colon === -1) return undefined;
  const port = authority.slice(colon + 1);
  const offset = start + colon + 1;
  if (port.includes('{{')) return undefined;
  const hint = 'write the port as digits (http://127.0.0.1:8080), or as a template ({{services.api.port}})';
  if (!/^\d*$/.test(port)) return { message: `the port "${port}" is not a number`, hint, offset };
  if (Number(port) > 65535) return { message: `the port ${port} is out of range (0 to 65535)`, hint, offset };
  return undefined;
}
