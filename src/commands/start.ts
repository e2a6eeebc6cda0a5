/** `cicero-wa start`: the service, until it is told to stop. */
import { startApp } from '../app/app.js';
import { runUntilStopped } from '../app/lifecycle.js';
import { describeConfig, fullConfig } from '../config/index.js';
import type { CommandContext } from './context.js';

export async function commandStart({ config, logger }: CommandContext): Promise<number> {
  logger.info(describeConfig(config), 'starting cicero-wa-gateway');
  logger.debug({ config: fullConfig(config) }, 'configuration');
  return runUntilStopped(() => startApp(config, logger), logger);
}
