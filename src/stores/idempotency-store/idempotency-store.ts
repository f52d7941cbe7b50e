/** How long a notification id is remembered: a repeat within it is accepted, not delivered. */
export const IDEMPOTENCY_WINDOW_SECONDS = 600;

/**
 * Remembers notification ids across nodes (`SET NX EX`) or in memory (embedded mode).
 * `claim` is true for the first sighting of an id within the window.
 */
export abstract class IdempotencyStore {
  abstract claim(id: string, nowMs: number): Promise<boolean>;
  /** Forgets `id`, for a claim whose notification could not be published. */
  abstract release(id: string): Promise<void>;
}
