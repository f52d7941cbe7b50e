/** Types of page-server.mjs, for the browser e2e test. */
export interface PageServerOptions {
  host?: string;
  port?: number;
  /** The gateway's public origin, e.g. https://localhost:8443. */
  gatewayUrl: string;
  mintToken(role: 'patient' | 'doctor', id: string): Promise<string>;
  publish?(channel: string): Promise<number>;
  /** Extra CarecastClient options for the page (backoff, limits). */
  clientOptions?: Record<string, unknown>;
  /** PEM certificate and key; default: a fresh self-signed localhost one, in memory. */
  certificate?: { cert: string; key: string };
}

export interface PageServer {
  /** https://host:port */
  origin: string;
  close(): Promise<void>;
}

export function startPageServer(options: PageServerOptions): Promise<PageServer>;
