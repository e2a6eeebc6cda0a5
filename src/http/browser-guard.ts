/**
 * What keeps a web page elsewhere from using the API through a browser that can reach it (the keyless
 * API on loopback above all), whatever key the request carries:
 *
 * - Host: a request must name this server: localhost, 127.0.0.1 or [::1] on the port it listens on;
 *   HTTP_HOST on that port (on 0.0.0.0 or ::, any address of this machine); or a name in
 *   HTTP_ALLOWED_HOSTS. A page on another name that resolves to this server (DNS rebinding) is refused.
 * - A change (POST, PUT, PATCH, DELETE) made by a browser must come from this server's own pages:
 *   `Sec-Fetch-Site: same-origin` when the browser sends that header, else an `Origin` naming this server.
 *   Clients that are not browsers (curl, Cicero_V2) send neither and are not concerned.
 * - A change is JSON (`Content-Type: application/json`, with or without a body): a page elsewhere can
 *   send text, a form or nothing without the browser asking first, never JSON.
 */
import os from 'node:os';
import { splitHostPort, type Config } from '../config/index.js';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface Refusal {
  status: 403 | 415;
  error: string;
  message: string;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Text from a request, cut short and quoted, to be named in a refusal. */
const quoted = (text: string) => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

/** Whether a method changes something. */
export function isChange(method: string): boolean {
  return CHANGES.has(method);
}

/** A change that is not sent as JSON: 415. */
export function contentTypeRefusal(method: string, headers: Headers): Refusal | null {
  if (!isChange(method)) return null;
  const type = header(headers, 'content-type')?.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return null;
  return {
    status: 415,
    error: 'unsupported_media_type',
    message: `a change must be sent as JSON: Content-Type: application/json, with or without a body${type ? ` (not ${quoted(type)})` : ''}`,
  };
}

/** Whether an address belongs to one of this machine's network interfaces. */
function isAddressOfThisMachine(address: string): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address.toLowerCase() === address));
}

export class BrowserGuard {
  private readonly localNames: Set<string>;
  private readonly anyAddress: boolean;

  /** `port()`: the port the server listens on (known once it listens). */
  constructor(
    private readonly http: Config['http'],
    private readonly port: () => number | null,
  ) {
    const listen = http.host.replace(/^\[|\]$/g, '').toLowerCase();
    this.anyAddress = listen === '0.0.0.0' || listen === '::';
    this.localNames = new Set(['localhost', '127.0.0.1', '::1', ...(this.anyAddress ? [] : [listen])]);
  }

  /** A Host that does not name this server: 403. */
  hostRefusal(headers: Headers): Refusal | null {
    const host = header(headers, 'host') ?? '';
    const parts = splitHostPort(host);
    if (typeof parts !== 'string' && this.names(parts.name, parts.port ?? 80)) return null;
    return {
      status: 403,
      error: 'unknown_host',
      message: `Host ${quoted(host)} is not a name of this server: it answers to localhost, 127.0.0.1, [::1] and HTTP_HOST on port ${this.port() ?? '?'}, and to the names in HTTP_ALLOWED_HOSTS (add the name there if it is this server's)`,
    };
  }

  /** A change made by a browser from a page that is not this server's: 403. */
  originRefusal(method: string, headers: Headers): Refusal | null {
    if (!isChange(method)) return null;
    const site = header(headers, 'sec-fetch-site');
    if (site !== undefined) {
      if (site === 'same-origin') return null;
      return { status: 403, error: 'cross_origin', message: `a change from another site's page is refused (Sec-Fetch-Site: ${quoted(site)}): only this server's own pages may make changes from a browser` };
    }
    const origin = header(headers, 'origin');
    if (origin === undefined || this.isOwnOrigin(origin, header(headers, 'host'))) return null;
    return { status: 403, error: 'cross_origin', message: `a change from the page at ${quoted(origin)} is refused: only this server's own pages may make changes from a browser` };
  }

  private isOwnOrigin(origin: string, host: string | undefined): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (a sandboxed page, a file) among others
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (host !== undefined && url.host === host.toLowerCase()) return true;
    return this.names(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port) || (url.protocol === 'https:' ? 443 : 80));
  }

  /** Whether a name on a port is this server. */
  private names(name: string, port: number): boolean {
    if (this.http.allowedHosts.some((allowed) => allowed.name === name && (allowed.port === null || allowed.port === port))) return true;
    if (port !== this.port()) return false;
    return this.localNames.has(name) || (this.anyAddress && isAddressOfThisMachine(name));
  }
}
