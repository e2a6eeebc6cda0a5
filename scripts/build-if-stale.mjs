// `npm run demo` and `npm run bench`: build only when dist/ is missing or older than the sources, so a
// second run starts at once.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

let built = 0;
try {
  built = statSync('dist/main.js').mtimeMs;
} catch {
  // never built
}
const sources = Math.max(newest('src'), ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(f).mtimeMs));
if (sources > built) {
  process.stderr.write(built ? 'sources changed since the last build: building\n' : 'building\n');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
