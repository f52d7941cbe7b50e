import { Injectable } from '@nestjs/common';

type DrainHook = () => Promise<void>;

/**
 * Whether this node is shutting down. Once draining, the node reports not-ready, refuses new
 * WebSocket sessions with 503 and closes the ones it has with 1001 (the gateway registers
 * that as a drain hook). It never flips back.
 */
@Injectable()
export class DrainState {
  private readonly hooks: DrainHook[] = [];
  private drained: Promise<void> | null = null;

  get draining(): boolean {
    return this.drained !== null;
  }

  onDrain(hook: DrainHook): void {
    this.hooks.push(hook);
  }

  /** Starts draining once; later calls return the same promise. Hooks never reject it. */
  begin(): Promise<void> {
    this.drained ??= Promise.allSettled(this.hooks.map((hook) => hook())).then(() => undefined);
    return this.drained;
  }
}
