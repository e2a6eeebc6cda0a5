/** A TCP port on 127.0.0.1 that was free a moment ago (the service's own helper). */
export { anyFreePort as freePort } from '../../src/lib/ports.js';
