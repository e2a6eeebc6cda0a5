#!/usr/bin/env node
/**
 * The `cicero-wa` command: runs the command line, and turns what happened into an exit code.
 *
 * Exit codes: 0 success; 1 a runtime failure (or a failed doctor check); 2 bad configuration or usage.
 * An operator's error (OperatorError) is one line saying what is wrong and what to do; anything else
 * is a fault of the service, printed with its stack.
 */
import { runCli } from './commands/index.js';
import { ConfigError } from './config/index.js';
import { OperatorError } from './lib/errors.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`cicero-wa: config: ${problem}\n`);
      process.exit(2);
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`cicero-wa: ${(err as Error).message}\nRun "cicero-wa --help" for the commands and their options.\n`);
      process.exit(2);
    }
    if (err instanceof OperatorError) {
      process.stderr.write(`cicero-wa: ${err.message}\n${err.exitCode === 2 ? 'Run "cicero-wa --help" for the commands and their options.\n' : ''}`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`cicero-wa: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
