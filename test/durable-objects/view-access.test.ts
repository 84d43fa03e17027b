// Link-key checks of a public view (durable-objects/view-access.ts).
import { describe, expect, it } from 'vitest';
import { linkKeyHash, mayWatch, presentedKeyHash, sameKeyHash } from '../../durable-objects/view-access.ts';

describe('link access', () => {
  it('admits the secret whose SHA-256 is the keyHash, nothing else', async () => {
    const keyHash = await linkKeyHash('s3cret-abc');
    expect(keyHash).toMatch(/^[0-9a-f]{64}$/);
    const link = { access: 'link' as const, keyHash };
    expect(mayWatch(link, await presentedKeyHash('s3cret-abc'))).toBe(true);
    expect(mayWatch(link, await presentedKeyHash('s3cret-abd'))).toBe(false);
    expect(mayWatch(link, await presentedKeyHash(undefined))).toBe(false);
    expect(mayWatch(link, await presentedKeyHash('x'.repeat(257)))).toBe(false);
    expect(mayWatch({ access: 'public', keyHash: null }, null)).toBe(true);
    expect(mayWatch(null, null)).toBe(false);
    expect(sameKeyHash('ab', 'abc')).toBe(false);
  });
});
