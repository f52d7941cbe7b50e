import type { BusMessage } from '../core/bus-message.js';

/** Kept while a channel is held: the messages in arrival order and their frames' bytes. */
interface Held {
  readonly messages: BusMessage[];
  bytes: number;
}

/** After a catch-up: bus messages at or under `seq` are late copies until `untilMs`. */
interface Floor {
  readonly seq: number;
  readonly untilMs: number;
}

/**
 * What one session keeps around its subscribes' catch-ups (Delivery `catchUp`): the live
 * messages of a channel held while its replay and ack are being written, and then, for a
 * moment, the ack's seq as a floor, because the live copy of a message the replay or ack
 * already covered travels on another Redis connection and can arrive after the ack.
 *
 * A Session creates one only when a subscribe catches up, and drops it once it is idle, so an
 * idle connection carries a null, not two maps.
 */
export class CatchUpState {
  private holds: Map<string, Held> | null = null;
  private floors: Map<string, Floor> | null = null;

  /** True when nothing is held and no floor stands: the session may drop this object. */
  get idle(): boolean {
    return this.holds === null && this.floors === null;
  }

  hold(channel: string): void {
    this.holds ??= new Map();
    if (!this.holds.has(channel)) this.holds.set(channel, { messages: [], bytes: 0 });
  }

  /** Keeps `message` while `channel` is held: the bytes now held for it; -1 when not held. */
  keep(channel: string, message: BusMessage): number {
    const held = this.holds?.get(channel);
    if (held === undefined) return -1;
    held.messages.push(message);
    held.bytes += message.frame.length;
    return held.bytes;
  }

  /** Ends the hold on `channel`: what was kept, in arrival order (empty when not held). */
  release(channel: string): readonly BusMessage[] {
    const held = this.holds?.get(channel);
    if (held === undefined) return [];
    this.holds!.delete(channel);
    if (this.holds!.size === 0) this.holds = null;
    return held.messages;
  }

  floor(channel: string, seq: number, untilMs: number): void {
    if (seq <= 0) return;
    this.floors ??= new Map();
    this.floors.set(channel, { seq, untilMs });
  }

  /** True for a late copy: at or under the channel's floor while the floor stands. */
  stale(channel: string, seq: number | null, nowMs: number): boolean {
    const floor = this.floors?.get(channel);
    if (floor === undefined) return false;
    if (seq !== null && seq <= floor.seq && nowMs < floor.untilMs) return true;
    // Past the floor (or a new epoch after it lapsed): every later message is live.
    this.floors!.delete(channel);
    if (this.floors!.size === 0) this.floors = null;
    return false;
  }
}
