// After tsc: copy the SQL migrations next to the compiled code (dist/db/migrations, where the migrator
// reads them) and make the CLI entry executable.
import { chmodSync, cpSync } from 'node:fs';

cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
chmodSync('dist/main.js', 0o755);
