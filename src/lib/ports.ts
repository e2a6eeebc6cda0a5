/** TCP ports on this machine: whether one is free, and one that is. */
import net from 'node:net';

/** Whether `port` can be listened on at `host` right now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A port free at `host` a moment ago, chosen by the system. */
export function anyFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port was given'))));
    });
  });
}

/** `preferred` when it is free at `host`, else any free port. */
export async function freePortNear(preferred: number, host = '127.0.0.1'): Promise<number> {
  return preferred <= 65535 && (await portIsFree(preferred, host)) ? preferred : anyFreePort(host);
}
