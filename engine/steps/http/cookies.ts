// A virtual user's cookies: what servers set with Set-Cookie is sent back on the user's later requests to the
// same host, as a browser would. Kept simple on purpose: host-only scope, Path prefixes, Max-Age / Expires
// deletion, Secure only over https. Each virtual user has its own jar, so users never share a session.

interface Cookie {
  value: string;
  path: string;
  secure: boolean;
  /** ms since the epoch; Infinity for a session cookie */
  expires: number;
}

export class CookieJar {
  /** host → cookie name → cookie */
  private readonly hosts = new Map<string, Map<string, Cookie>>();

  /** Remembers the cookies of a response's Set-Cookie header(s) for a request to `host` + `pathname`. */
  store(host: string, pathname: string, setCookie: string | string[] | undefined, now = Date.now()): void {
    if (setCookie === undefined) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const cookie: Cookie = {
        value: pair.slice(eq + 1).trim(),
        path: defaultPath(pathname),
        secure: false,
        expires: Infinity,
      };
      for (const attribute of attributes) {
        const [key = '', ...rest] = attribute.split('=');
        const value = rest.join('=').trim();
        switch (key.trim().toLowerCase()) {
          case 'path': if (value.startsWith('/')) cookie.path = value; break;
          case 'secure': cookie.secure = true; break;
          case 'max-age': {
            const seconds = Number(value);
            if (Number.isFinite(seconds)) cookie.expires = now + seconds * 1000;
            break;
          }
          case 'expires': {
            const at = Date.parse(value);
            if (!Number.isNaN(at) && cookie.expires === Infinity) cookie.expires = at;
            break;
          }
        }
      }
      let cookies = this.hosts.get(host);
      if (!cookies) this.hosts.set(host, (cookies = new Map()));
      if (cookie.expires <= now) cookies.delete(name);
      else cookies.set(name, cookie);
    }
  }

  /** Whether any cookie is kept for `host` (cheap: the hot path asks this before building anything). */
  has(host: string): boolean {
    return (this.hosts.get(host)?.size ?? 0) > 0;
  }

  /** The Cookie header for a request to `host` + `pathname`, or undefined when there is nothing to send. */
  header(host: string, https: boolean, pathname: string, now = Date.now()): string | undefined {
    const cookies = this.hosts.get(host);
    if (!cookies || cookies.size === 0) return undefined;
    const parts: string[] = [];
    for (const [name, cookie] of cookies) {
      if (cookie.expires <= now) {
        cookies.delete(name);
        continue;
      }
      if (cookie.secure && !https) continue;
      if (!pathMatches(pathname, cookie.path)) continue;
      parts.push(`${name}=${cookie.value}`);
    }
    return parts.length > 0 ? parts.join('; ') : undefined;
  }
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  return requestPath === cookiePath ||
    (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'));
}
