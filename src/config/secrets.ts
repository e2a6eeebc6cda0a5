/** Secrets: database addresses as they may be shown (every password masked), and WA_AUTH_STORE_KEY read. */

/**
 * Masks every password in a database address, whatever its form, for logs and error messages: the
 * password of a URL (`postgres://user:secret@host`), a password query parameter (`?password=secret`,
 * `sslpassword=…`), and libpq key=value pairs (`host=db password=secret`, quoted or not).
 */
export function maskUrlPassword(value: string): string {
  let masked = value;
  try {
    const url = new URL(value);
    let changed = false;
    if (url.password) {
      url.password = '***';
      changed = true;
    }
    for (const key of [...url.searchParams.keys()]) {
      if (/pass/i.test(key)) {
        url.searchParams.set(key, '***');
        changed = true;
      }
    }
    if (changed) masked = url.toString();
  } catch {
    // Not a URL: the patterns below still apply.
  }
  return masked
    .replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')
    .replace(/\b(\w*pass\w*)(\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;]+)/gi, (whole, key: string, eq: string, secret: string) => (secret === '***' ? whole : `${key}${eq}***`));
}

/**
 * WA_AUTH_STORE_KEY as the 32 bytes of an AES-256 key: 64 hex characters (`openssl rand -hex 32`), or
 * base64 of 32 bytes (`openssl rand -base64 32`, or its URL-safe form). Null when it is neither.
 */
export function parseAuthStoreKey(text: string): Buffer | null {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const urlSafe = /^[A-Za-z0-9_-]{43}=?$/.test(value) && /[-_]/.test(value);
  if (!urlSafe && !/^[A-Za-z0-9+/]{43}=?$/.test(value)) return null;
  const bytes = Buffer.from(value, urlSafe ? 'base64url' : 'base64');
  return bytes.length === 32 ? bytes : null;
}
