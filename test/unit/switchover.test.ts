/**
 * The pure part of programs/switchover.cjs: where two clusters' timeline histories part (the
 * bytes a rejoin throws away are counted from there).
 */
import { programPath } from '../../constructs/scripts';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { divergencePoint } = require(programPath('switchover.cjs'));

// Patroni's GET /history rows: [timeline, end LSN, reason, timestamp, new leader]
const row = (tl: number, lsn: number) => [tl, lsn, 'no recovery target specified', '2026-11-26T10:00:00+00:00', 'x'];

describe('divergence point of two timeline histories', () => {
  test('the promoted side left timeline 3 at 500; the other went on on 3: they part at 500', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 500)], [row(1, 100), row(2, 300)])).toBe(500n);
  });
  test('both left timeline 3, at different points (the lost side restarted and promoted itself): the lower end', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 500)], [row(1, 100), row(2, 300), row(3, 800)])).toBe(500n);
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 900)], [row(1, 100), row(2, 300), row(3, 800)])).toBe(800n);
  });
  test('an earlier difference wins over later ones', () => {
    expect(divergencePoint([row(1, 100), row(2, 300)], [row(1, 150), row(2, 300)])).toBe(100n);
  });
  test('LSNs beyond 32 bits stay exact', () => {
    expect(divergencePoint([row(1, 2 ** 40 + 5)], [])).toBe(BigInt(2 ** 40 + 5));
  });
  test('the same history on both sides: no fork', () => {
    expect(divergencePoint([row(1, 100)], [row(1, 100)])).toBeUndefined();
  });
});
