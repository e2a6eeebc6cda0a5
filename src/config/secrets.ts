/** Database addresses as they may be shown: every password masked, whatever the form of the address. */

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
