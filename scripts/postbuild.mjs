// After tsc: copy the SQL files (migrations, the demo's schema) next to the compiled code, where they
// are read at run time, and make the CLI entry executable.
import { chmodSync, cpSync } from 'node:fs';

cpSync('src', 'dist', { recursive: true, filter: (source) => !/\.[cm]?ts$/.test(source) });
chmodSync('dist/main.js', 0o755);
