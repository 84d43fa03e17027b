// Forwards to test/support/test-log.ts for test/hub/backup-plan.test.ts, which still imports it from
// here; remove once that import names test/support.
export * from '../support/test-log.ts';
