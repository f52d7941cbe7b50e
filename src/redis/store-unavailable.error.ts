/** A store could not answer in time (Redis down or slow). Request paths map it to 503. */
export class StoreUnavailableError extends Error {
  constructor() {
    super('store unavailable');
    this.name = 'StoreUnavailableError';
  }
}
