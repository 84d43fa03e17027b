// Per-destination admission for notifications, pure (clock passed in): a receiver that hangs must not
// hold the sends of every other one. A destination (the URL's host and port) gets at most
// `perDestination` sends at once; after `openAfter` timeouts or connection failures in a row its
// circuit opens for `coolDownMs` — its notifications are put back without using an attempt — then
// one trial send is let through: success closes the circuit, another failure opens it again.

export interface CircuitOptions {
  perDestination: number;
  openAfter: number;
  coolDownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitOptions = Object.freeze({ perDestination: 2, openAfter: 3, coolDownMs: 30_000 });

export type Admission = { send: true } | { send: false; retryInMs: number; reason: 'busy' | 'open' };
export type Outcome = 'ok' | 'timeout' | 'refused';

interface Destination {
  inFlight: number;
  failuresInRow: number;
  openUntilMs: number;
  trialInFlight: boolean;
}

export interface DestinationCircuits {
  admit(destination: string, nowMs: number): Admission;
  /** Ends one admitted send: 'timeout' (no answer, no connection) counts toward opening; 'refused' (an HTTP error answer) does not. */
  done(destination: string, outcome: Outcome, nowMs: number): void;
  state(destination: string, nowMs: number): 'closed' | 'open' | 'half-open';
}

/** The part of a URL sends are limited by: "host:port". */
export function destinationOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

export function createDestinationCircuits(options: CircuitOptions = DEFAULT_CIRCUIT): DestinationCircuits {
  const destinations = new Map<string, Destination>();
  const get = (d: string) => {
    let s = destinations.get(d);
    if (!s) destinations.set(d, (s = { inFlight: 0, failuresInRow: 0, openUntilMs: 0, trialInFlight: false }));
    return s;
  };
  return {
    admit(destination, nowMs) {
      const s = get(destination);
      if (s.failuresInRow >= options.openAfter) {
        if (nowMs < s.openUntilMs) return { send: false, retryInMs: s.openUntilMs - nowMs, reason: 'open' };
        // Half-open: one trial at a time.
        if (s.trialInFlight) return { send: false, retryInMs: Math.max(1000, Math.floor(options.coolDownMs / 10)), reason: 'open' };
        s.trialInFlight = true;
        s.inFlight++;
        return { send: true };
      }
      if (s.inFlight >= options.perDestination) return { send: false, retryInMs: 500, reason: 'busy' };
      s.inFlight++;
      return { send: true };
    },
    done(destination, outcome, nowMs) {
      const s = get(destination);
      s.inFlight = Math.max(0, s.inFlight - 1);
      s.trialInFlight = false;
      if (outcome === 'timeout') {
        s.failuresInRow++;
        if (s.failuresInRow >= options.openAfter) s.openUntilMs = nowMs + options.coolDownMs;
      } else {
        s.failuresInRow = 0;
        s.openUntilMs = 0;
      }
      if (s.inFlight === 0 && s.failuresInRow === 0) destinations.delete(destination);
    },
    state(destination, nowMs) {
      const s = destinations.get(destination);
      if (!s || s.failuresInRow < options.openAfter) return 'closed';
      return s.trialInFlight || s.openUntilMs <= nowMs ? 'half-open' : 'open';
    },
  };
}
