import type { IncomingMessage } from 'node:http';

/** The two listeners share one Express app; every request is tagged with the one it came in on. */
export type ListenerName = 'public' | 'internal';

const LISTENER = Symbol('carecast.listener');

type Tagged = IncomingMessage & { [LISTENER]?: ListenerName };

export function tagListener(req: IncomingMessage, name: ListenerName): void {
  (req as Tagged)[LISTENER] = name;
}

/** Untagged requests count as public: the stricter scope. */
export function listenerOf(req: IncomingMessage): ListenerName {
  return (req as Tagged)[LISTENER] ?? 'public';
}

/** Which paths each listener serves; anything else is 404 there. */
export function servesPath(listener: ListenerName, path: string): boolean {
  switch (listener) {
    case 'public':
      return path.startsWith('/v1/');
    case 'internal':
      return (
        path.startsWith('/internal/') ||
        path === '/metrics' ||
        path === '/healthz' ||
        path === '/readyz'
      );
  }
}
