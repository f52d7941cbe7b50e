// Names shared by the fan-out benchmark's main thread, client worker and server processes.
export const HOST = '127.0.0.1';
export const ORIGIN = 'https://bench.carecast.test';
export const BROADCAST_PATIENT = 'pt-bcast0001';
/** The one Redis channel every bare baseline server subscribes to. */
export const BASELINE_CHANNEL = 'bench-baseline:notifications';
