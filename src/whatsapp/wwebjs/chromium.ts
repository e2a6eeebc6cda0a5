/**
 * Finds the system Chromium that whatsapp-web.js (through Puppeteer) launches. The project never
 * downloads a browser (see .puppeteerrc.cjs).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The usual install paths, in order of preference. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

export const CHROMIUM_INSTALL_HINT =
  'install it (Debian/Ubuntu: apt-get install -y chromium) or set WA_CHROMIUM_PATH to a Chromium or Chrome executable';

export interface ChromiumLookup {
  path: string | null;
  /** Where the path came from, or what was tried. */
  source: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The configured path when given (even if unusable, so the error names it), else the first candidate found. */
export function findChromium(configuredPath: string | null): ChromiumLookup {
  if (configuredPath) {
    return isExecutable(configuredPath)
      ? { path: configuredPath, source: 'WA_CHROMIUM_PATH / PUPPETEER_EXECUTABLE_PATH' }
      : { path: null, source: `configured path ${configuredPath} is not an executable file` };
  }
  const found = CHROMIUM_CANDIDATES.find(isExecutable);
  return found ? { path: found, source: 'found on the system' } : { path: null, source: `none of ${CHROMIUM_CANDIDATES.slice(0, 5).join(', ')}` };
}

/** e.g. "Chromium 156.0.8078.73 built on Debian …". */
export async function chromiumVersion(executable: string): Promise<string> {
  const { stdout } = await execFileAsync(executable, ['--version'], { timeout: 15000 });
  return stdout.trim();
}
