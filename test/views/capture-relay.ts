// Forwards to test/support/capture-relay.ts for test/web/views-page.test.ts, which still imports it
// from here; remove once that import names test/support.
export * from '../support/capture-relay.ts';
