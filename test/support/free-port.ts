import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago; callers must retry if it gets taken. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') {
          reject(new Error(`unexpected listen address: ${String(address)}`));
        } else {
          resolve(address.port);
        }
      });
    });
  });
}
