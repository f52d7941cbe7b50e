/**
 * Runs a rate-limit scenario so that all its requests fall into one fixed window of the
 * limiter (windows start at multiples of the window length); a run that straddled a window
 * boundary is repeated with fresh ids (`attempt` differs), so the test never depends on the
 * wall clock.
 */
export async function inOneWindow(
  windowMs: number,
  scenario: (attempt: number) => Promise<void>,
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = Math.floor(Date.now() / windowMs);
    let failure: unknown = null;
    try {
      await scenario(attempt);
    } catch (error) {
      failure = error;
    }
    if (Math.floor(Date.now() / windowMs) === before) {
      if (failure !== null) throw failure;
      return;
    }
  }
  throw new Error('three runs in a row straddled a rate-limit window');
}
