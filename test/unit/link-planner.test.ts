/**
 * The link's planner, exactly: the standby_cluster block (unset keys as null, so that a patch
 * removes what the topology dropped), the slot's release on a detach, each side's contribution,
 * the configuration of status and the gate, and the role change's.
 */
import {
  linkHealthConfig,
  primaryContribution,
  releasesSlot,
  roleConfig,
  standbyClusterBlock,
  standbyContribution,
} from '../../constructs/planners/link';
import { resolveCluster, resolveLink } from '../../constructs/resolve';
import { articleTopology, mutate } from './helpers';

const t = articleTopology();
const primary = resolveCluster(t.primary);
const standby = resolveCluster(t.standby);
const link = (change: (l: any) => void = () => undefined) =>
  resolveLink(mutate(t, (x) => change(x.link)).link, primary);

describe('the standby_cluster block', () => {
  test('unset optional keys are null', () => {
    expect(standbyClusterBlock(link(), primary)).toEqual({
      host: '192.168.122.237,192.168.122.93,192.168.122.128',
      port: 5432,
      primary_slot_name: 'my_standby_cluster_slot',
      create_replica_methods: ['basebackup'],
      restore_command: null,
      archive_cleanup_command: null,
      recovery_min_apply_delay: null,
    });
  });

  test('set, they are there; the role change leaves the nulls out', () => {
    const l = link((x) =>
      Object.assign(x, {
        restoreCommand: 'cp /a/%f %p',
        archiveCleanupCommand: 'pg_archivecleanup /a %r',
        recoveryMinApplyDelay: '5min',
      }),
    );
    expect(standbyClusterBlock(l, primary)).toMatchObject({
      restore_command: 'cp /a/%f %p',
      archive_cleanup_command: 'pg_archivecleanup /a %r',
      recovery_min_apply_delay: '5min',
    });
    const plain = roleConfig(link(), 'source', standby, primary, { me: 'standby', other: 'primary' });
    expect(Object.keys(plain.block)).toEqual(['host', 'port', 'primary_slot_name', 'create_replica_methods']);
  });
});

describe('a detach', () => {
  test('releases the slot unless kept, and only when there is one', () => {
    expect(releasesSlot(link())).toBe(false);
    expect(releasesSlot(link((x) => (x.state = 'detached')))).toBe(true);
    expect(
      releasesSlot(link((x) => Object.assign(x, { state: 'detached', promotion: { keepSourceSlot: true } }))),
    ).toBe(false);
    expect(
      primaryContribution(
        link((x) => (x.state = 'detached')),
        primary,
        standby,
      ).slots,
    ).toEqual({ my_standby_cluster_slot: null });
    expect(primaryContribution(link(), primary, standby).slots).toEqual({
      my_standby_cluster_slot: { type: 'physical' },
    });
  });

  test('the standby side: the block while following, null once detached', () => {
    expect(standbyContribution(link(), primary, standby).standbyCluster).toEqual(standbyClusterBlock(link(), primary));
    expect(
      standbyContribution(
        link((x) => (x.state = 'detached')),
        primary,
        standby,
      ).standbyCluster,
    ).toBeNull();
  });
});

describe('what the programs get', () => {
  test("status and the gate: both clusters' members by name, the promotion's settings", () => {
    const cfg = linkHealthConfig(link(), primary, standby, { primary: 'dc1', standby: 'dc2' });
    expect(cfg.source.name).toBe('dc1');
    expect(cfg.standby).toEqual({ name: 'dc2', ttl: 30, nodes: cfg.standby.nodes });
    expect(cfg.standby.nodes.map((n) => n.name)).toEqual(['ta1', 'ta2', 'ta3']);
    expect(cfg.source.nodes.map((n) => n.name)).toEqual(['so1', 'so2', 'so3']);
  });

  test("the role change's block points at the source: this cluster as the source, the other as the standby", () => {
    expect(roleConfig(link(), 'source', standby, primary, { me: 'dc2', other: 'dc1' }).block.host).toBe(
      '192.168.122.97,192.168.122.198,192.168.122.172',
    );
    expect(roleConfig(link(), 'standby', standby, primary, { me: 'dc2', other: 'dc1' }).block.host).toBe(
      '192.168.122.237,192.168.122.93,192.168.122.128',
    );
  });
});
