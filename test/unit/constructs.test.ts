import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { parse } from 'yaml';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from '../../constructs/patroni-cluster';
import { StandbyLink } from '../../constructs/standby-link';
import { renderedFilesOf } from '../../stacks/rendered-files';
import { parseConfig, PatchConfig } from '../../runtime/contract';
import { articleTopology, byPath, forSnapshot, mutate, resourcesOf, synthTopology, TfJson } from './helpers';

// Synthesized in beforeAll, not while the file is collected: a run that selects none of a
// block's tests (mutation testing runs only the covering ones) does not pay for its synth.
/** The patch program's configuration a patch resource hands it (runtime/contract.ts), parsed by the contract. */
function patchConfigOf(resource: Record<string, any>): PatchConfig {
  return parseConfig(
    'patch',
    resource.provisioner[0]['local-exec'].environment.PATRONI_PATCH_CONFIG.replace(/\$\$\{/g, '${'),
  );
}

describe('article topology, following', () => {
  let primary: TfJson, standby: TfJson, app: ReturnType<typeof synthTopology>['app'];
  beforeAll(() => ({ primary, standby, app } = synthTopology(articleTopology())));

  test('standby nodes carry the article standby_cluster block and pg_hba', () => {
    const ta1 = parse(byPath(standby, 'cluster/node-ta1/config').input.patroni_yml);
    expect(ta1.name).toBe('ta1');
    expect(ta1.scope).toBe('pgcluster');
    expect(ta1.namespace).toBe('/service/patroni/');
    expect(ta1.etcd3).toEqual({
      hosts: ['192.168.122.97:2379', '192.168.122.198:2379', '192.168.122.172:2379'],
      protocol: 'http',
    });
    expect(ta1.bootstrap.dcs.standby_cluster).toEqual({
      host: '192.168.122.237,192.168.122.93,192.168.122.128',
      port: 5432,
      primary_slot_name: 'my_standby_cluster_slot',
      create_replica_methods: ['basebackup'],
    });
    expect(ta1.postgresql).toMatchObject({
      listen: '192.168.122.97:5432',
      data_dir: '/var/lib/pgsql/16/pgcluster',
      bin_dir: '/usr/pgsql-16/bin',
      pgpass: '/etc/patroni/pgcluster.pgpass',
      authentication: {
        replication: { username: 'replicator' },
        superuser: { username: 'postgres' },
        rewind: { username: 'rewinder' },
      },
    });
    expect(ta1.bootstrap.dcs).toMatchObject({
      ttl: 30,
      loop_wait: 10,
      retry_timeout: 10,
      maximum_lag_on_failover: 1048576,
    });
    expect(ta1.bootstrap.dcs.postgresql.pg_hba).toContain('host all postgres all reject');
    expect(ta1.tags).toEqual({ clonefrom: false, noloadbalance: false, nosync: false });
  });

  test('the primary patch adds the permanent slot and every standby node to pg_hba, in the article order', () => {
    const patch = JSON.parse(byPath(primary, 'cluster/dcs-patch/apply').input.patch_json);
    expect(patch.slots).toEqual({ my_standby_cluster_slot: { type: 'physical' } });
    const hba: string[] = patch.postgresql.pg_hba;
    const added = [
      'host replication replicator 192.168.122.97/32 scram-sha-256',
      'host replication replicator 192.168.122.198/32 scram-sha-256',
      'host replication replicator 192.168.122.172/32 scram-sha-256',
      'host postgres rewinder 192.168.122.97/32 scram-sha-256',
      'host postgres rewinder 192.168.122.198/32 scram-sha-256',
      'host postgres rewinder 192.168.122.172/32 scram-sha-256',
    ];
    const start = hba.indexOf(added[0]);
    expect(hba.slice(start, start + 6)).toEqual(added);
    expect(hba[hba.length - 1]).toBe('host all postgres all reject');
  });

  test('order: the role change, then the members and the patch side by side (a member down does not hold back the patch); the standby stack waits for the primary stack', () => {
    const patch = byPath(primary, 'cluster/dcs-patch/apply');
    // the cluster's role change comes first: members and patch wait for it, not for each other
    expect(patch.depends_on).toEqual([expect.stringMatching(/^terraform_data\.cluster_role_apply_/)]);
    expect(byPath(primary, 'cluster/node-so1/config').depends_on).toEqual([
      expect.stringMatching(/^terraform_data\.cluster_role_apply_/),
    ]);
    expect((app.node.findChild('standby') as TerraformStack).dependencies.map((d) => d.node.id)).toEqual(['primary']);
  });

  test('node resources: YAML as input, replaced by its hash, ssh delivery, start or reload', () => {
    const so1 = byPath(primary, 'cluster/node-so1/config');
    expect(Object.keys(so1.input).sort()).toEqual(['config_path', 'host', 'member', 'patroni_yml', 'runtime_sha256']);
    expect(so1.triggers_replace.config_sha256).toMatch(/^[0-9a-f]{64}$/);
    // the replacement hash is the sha256 of the rendered file, the runtime hash that of the file without bootstrap
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    expect(so1.triggers_replace.config_sha256).toBe(sha(so1.input.patroni_yml));
    const runtimeText = so1.input.patroni_yml.replace(/^bootstrap:\n( .*\n)*/m, '');
    const { bootstrap, ...runtime } = parse(so1.input.patroni_yml);
    expect(bootstrap.dcs.postgresql.parameters).toBeDefined();
    expect(parse(runtimeText)).toEqual(runtime);
    expect(so1.input.runtime_sha256).toBe(sha(runtimeText));
    expect(so1.connection).toEqual({ type: 'ssh', host: '${self.input.host}', user: 'root', agent: 'true' });
    expect(so1.input.config_path).toBe('/etc/patroni/16-pgcluster.yml');
    const remote = so1.provisioner[2]['remote-exec'].inline.join('\n');
    expect(remote).toContain('if systemctl is-active --quiet patroni@16-pgcluster.service; then');
    expect(remote).toContain('systemctl reload patroni@16-pgcluster.service');
    expect(remote).toContain('systemctl start patroni@16-pgcluster.service');
    expect(remote).not.toMatch(/rm -rf|initdb|pg_ctl/);
  });

  test('plans that change one member touch one member; bootstrap-time changes refresh files without a reload', () => {
    const nodes = (json: TfJson) =>
      Object.fromEntries(
        Object.entries(resourcesOf(json))
          .filter(([k]) => k.includes('_config_'))
          .map(([k, r]) => [k.replace(/_[0-9A-F]{8}$/, ''), r]),
      );
    const changed = (a: TfJson, b: TfJson, key: 'config_sha256' | 'runtime_sha256') => {
      const [x, y] = [nodes(a), nodes(b)];
      return Object.keys(x)
        .filter((k) =>
          key === 'config_sha256'
            ? x[k].triggers_replace[key] !== y[k].triggers_replace[key]
            : x[k].input[key] !== y[k].input[key],
        )
        .map((k) => k.replace(/^.*node-([a-z0-9]+)_config$/, '$1'))
        .sort();
    };
    const base = synthTopology(articleTopology());
    // a tag of one member: that member only (file and reload)
    const tagged = synthTopology(mutate(articleTopology(), (t) => (t.standby.nodes[1].tags = { nofailover: true })));
    expect([
      changed(base.primary, tagged.primary, 'config_sha256'),
      changed(base.standby, tagged.standby, 'config_sha256'),
    ]).toEqual([[], ['ta2']]);
    expect(changed(base.standby, tagged.standby, 'runtime_sha256')).toEqual(['ta2']);
    // a parameter: every file of the cluster is refreshed (bootstrap.dcs), none is reloaded (the DCS patch carries it)
    const param = synthTopology(mutate(articleTopology(), (t) => (t.primary.postgresql.parameters.work_mem = '8MB')));
    expect(changed(base.primary, param.primary, 'config_sha256')).toEqual(['so1', 'so2', 'so3']);
    expect(changed(base.primary, param.primary, 'runtime_sha256')).toEqual([]);
    // the standby's provisioner skips the reload when the runtime hash on the node is unchanged
    const remote = byPath(base.standby, 'cluster/node-ta1/config').provisioner[2]['remote-exec'].inline.join('\n');
    expect(remote).toContain(
      `if [ "$(cat "/etc/patroni/16-pgcluster.yml.runtime-sha256" 2>/dev/null)" = "\${self.input.runtime_sha256}" ]; then echo "patroni runs; only bootstrap-time settings changed: file refreshed, no reload"; else echo "patroni runs: reloading"; systemctl reload patroni@16-pgcluster.service; fi;`,
    );
    expect(remote).toContain(
      `printf '%s' "\${self.input.runtime_sha256}" > "/etc/patroni/16-pgcluster.yml.runtime-sha256"`,
    );
  });

  test('no destroy-time stop unless asked', () => {
    expect(JSON.stringify(primary)).not.toContain('"when"');
  });

  test('rendered files: every node and both patches', () => {
    expect(renderedFilesOf(app).map((f) => f.path)).toEqual([
      'primary/cluster/dcs-patch.json',
      'primary/cluster/so1.patroni.yml',
      'primary/cluster/so2.patroni.yml',
      'primary/cluster/so3.patroni.yml',
      'standby/cluster/dcs-patch.json',
      'standby/cluster/ta1.patroni.yml',
      'standby/cluster/ta2.patroni.yml',
      'standby/cluster/ta3.patroni.yml',
    ]);
  });

  // the snapshots synthesize inside the test, so that mutation testing counts them for every
  // planner they cover (what beforeAll runs is attributed to no test)
  test('snapshot (following)', () => {
    const fresh = synthTopology(articleTopology());
    expect(forSnapshot({ primary: fresh.primary, standby: fresh.standby })).toMatchSnapshot();
  });
});

describe('promotion variant (detached)', () => {
  let following: ReturnType<typeof synthTopology>, detached: ReturnType<typeof synthTopology>;
  beforeAll(() => {
    following = synthTopology(articleTopology());
    detached = synthTopology(articleTopology('detached'));
  });

  test('snapshot (detached)', () => {
    const fresh = synthTopology(articleTopology('detached'));
    expect(forSnapshot({ primary: fresh.primary, standby: fresh.standby })).toMatchSnapshot();
  });

  test('same stacks; the standby stack adds the detach, nothing is removed', () => {
    const strip = (keys: string[]) => keys.map((k) => k.replace(/_[0-9A-F]{8}$/, '')).sort();
    expect(strip(Object.keys(resourcesOf(detached.primary)))).toEqual(
      strip(Object.keys(resourcesOf(following.primary))),
    );
    expect(strip(Object.keys(resourcesOf(detached.standby)))).toEqual(
      [...strip(Object.keys(resourcesOf(following.standby))), 'cluster_promotion_detach_apply'].sort(),
    );
  });

  test('primary stack: only the link slot goes (set to null); pg_hba and everything else stay', () => {
    const before = JSON.parse(byPath(following.primary, 'dcs-patch/apply').input.patch_json);
    const after = JSON.parse(byPath(detached.primary, 'dcs-patch/apply').input.patch_json);
    expect(before.slots).toEqual({ my_standby_cluster_slot: { type: 'physical' } });
    expect(after.slots).toEqual({ my_standby_cluster_slot: null });
    expect({ ...after, slots: 0 }).toEqual({ ...before, slots: 0 });
    const node = parse(byPath(detached.primary, 'node-so1/config').input.patroni_yml);
    expect(node.bootstrap.dcs.slots).toBeUndefined();
  });

  test('the primary patch never removes a slot the standby still names: it asks the standby cluster first', () => {
    for (const variant of [following, detached]) {
      const config = patchConfigOf(byPath(variant.primary, 'dcs-patch/apply'));
      expect(config.guardStandby).toEqual([
        ['http://192.168.122.97:8008', 'http://192.168.122.198:8008', 'http://192.168.122.172:8008'],
      ]);
      expect(config.strict).toBe(true);
    }
  });

  test('keepSourceSlot: the primary stack does not change at all and the link-slots step keeps the slot', () => {
    const keep = synthTopology(
      mutate(articleTopology('detached'), (t) => (t.link.promotion = { keepSourceSlot: true })),
    );
    expect(keep.primary).toEqual(following.primary);
    expect(JSON.parse(byPath(keep.standby, 'cluster/link-slots/apply').input.patch_json)).toEqual({
      slots: { my_standby_cluster_slot: { type: 'physical' } },
    });
  });

  test('the gate runs in the detach, first; the members and the patch follow the detach; the link-slots step after the patch', () => {
    const keys = Object.keys(resourcesOf(detached.standby));
    const key = (prefix: string) => `terraform_data.${keys.find((k) => k.startsWith(prefix))}`;
    const detach = byPath(detached.standby, 'promotion/detach/apply');
    expect(JSON.parse(detach.input.patch_json)).toEqual({ standby_cluster: null });
    const config = JSON.parse(detach.input.gate_config);
    expect(config).toMatchObject({
      state: 'detached',
      slotName: 'my_standby_cluster_slot',
      user: 'monitor',
      disaster: false,
      settleSeconds: 3,
      catchUpTimeoutSeconds: 30,
    });
    expect(config.source.nodes.map((n: { host: string }) => n.host)).toEqual([
      '192.168.122.237',
      '192.168.122.93',
      '192.168.122.128',
    ]);
    // one provisioner: the gate, then (only when it passed) the patch; a retry runs both again
    expect(detach.provisioner).toHaveLength(1);
    const exec = detach.provisioner[0]['local-exec'];
    expect(exec.command).toMatch(
      /^node "assets\/.*\/link-health\.cjs" gate && node "assets\/.*\/apply-config-patch\.cjs"$/,
    );
    expect(exec.environment).toMatchObject({
      LINK_HEALTH_CONFIG: '${self.input.gate_config}',
      PATRONI_PATCH: '${self.input.patch_json}',
    });
    expect(patchConfigOf(detach).sections).toBe('exact');
    expect(detach.triggers_replace.gate_config_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(detach.depends_on ?? []).toEqual([]);
    for (const name of ['ta1', 'ta2', 'ta3']) {
      const file = byPath(detached.standby, `node-${name}/config`);
      expect(file.depends_on).toEqual([key('cluster_promotion_detach_apply'), key('cluster_role_apply')]);
      expect(JSON.stringify(file.provisioner)).toContain('systemctl reload patroni@16-pgcluster.service');
    }
    // the cluster's patch (which carries standby_cluster: null too) runs the gate as well, after the detach
    const patch = byPath(detached.standby, 'dcs-patch/apply');
    expect(patch.provisioner[0]['local-exec'].command).toMatch(/link-health\.cjs" gate && node /);
    expect(patch.depends_on).toEqual([key('cluster_promotion_detach_apply'), key('cluster_role_apply')]);
    expect(byPath(following.standby, 'dcs-patch/apply').provisioner[0]['local-exec'].command).not.toContain(
      'link-health',
    );
    const release = byPath(detached.standby, 'cluster/link-slots/apply');
    expect(JSON.parse(release.input.patch_json)).toEqual({ slots: { my_standby_cluster_slot: null } });
    expect(JSON.parse(byPath(following.standby, 'cluster/link-slots/apply').input.patch_json)).toEqual({
      slots: { my_standby_cluster_slot: { type: 'physical' } },
    });
    expect(release.input.endpoints).toBe(
      'http://192.168.122.237:8008,http://192.168.122.93:8008,http://192.168.122.128:8008',
    );
    expect(release.depends_on).toEqual([key('cluster_dcs-patch_apply')]);
    expect(patchConfigOf(release)).toMatchObject({
      optional: true,
      sections: 'slots',
      guardStandby: [['http://192.168.122.97:8008', 'http://192.168.122.198:8008', 'http://192.168.122.172:8008']],
    });
  });

  test('a disaster promotion is visible in the plan', () => {
    const disaster = synthTopology(mutate(articleTopology('detached'), (t) => (t.link.promotion = { disaster: true })));
    expect(JSON.parse(byPath(disaster.standby, 'promotion/detach/apply').input.gate_config).disaster).toBe(true);
    expect(JSON.parse(byPath(detached.standby, 'promotion/detach/apply').input.gate_config).disaster).toBe(false);
  });

  test('standby: only the standby_cluster block goes away (nodes) and the patch sets it to null', () => {
    for (const name of ['ta1', 'ta2', 'ta3']) {
      const before = parse(byPath(following.standby, `node-${name}/config`).input.patroni_yml);
      const after = parse(byPath(detached.standby, `node-${name}/config`).input.patroni_yml);
      expect(after.bootstrap.dcs.standby_cluster).toBeUndefined();
      delete before.bootstrap.dcs.standby_cluster;
      expect(after).toEqual(before);
    }
    const patchBefore = JSON.parse(byPath(following.standby, 'dcs-patch/apply').input.patch_json);
    const patchAfter = JSON.parse(byPath(detached.standby, 'dcs-patch/apply').input.patch_json);
    expect(patchAfter.standby_cluster).toBeNull();
    expect({ ...patchAfter, standby_cluster: 'x' }).toEqual({ ...patchBefore, standby_cluster: 'x' });
  });

  test('nothing in the variant stops, re-initializes or wipes a node', () => {
    const text = JSON.stringify(detached.standby);
    expect(text).not.toMatch(/systemctl (stop|restart)|rm -rf|initdb |pg_ctl/);
  });
});

describe('determinism and secrets', () => {
  test("cdktf's own validations pass (terraform_data needs Terraform >= 1.4: the machine's terraform answers)", () => {
    expect(() => synthTopology(articleTopology(), true)).not.toThrow();
  });
  test('two synths of the same input are identical', () => {
    expect(JSON.stringify(synthTopology(articleTopology()).standby)).toBe(
      JSON.stringify(synthTopology(articleTopology()).standby),
    );
  });
  test('no password field anywhere in the output', () => {
    const { primary, standby } = synthTopology(articleTopology());
    expect(JSON.stringify([primary, standby])).not.toMatch(/password:|"password"/i);
  });
});

describe('constructs from TypeScript', () => {
  const t = articleTopology();

  test('defaults: managed, ssh, terraform_data, 8008, namespace /service/', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const c = new PrimaryPatroniCluster(stack, 'db', {
      scope: 'x',
      dcs: { type: 'etcd3', hosts: ['10.0.0.9:2379'] },
      nodes: [{ name: 'a1', host: '10.0.0.1' }],
    });
    expect(c.resolved.mode).toBe('managed');
    expect(c.resolved.deploy).toMatchObject({ transport: 'ssh', resourceKind: 'terraform_data', configName: '16-x' });
    expect(c.restEndpoints).toEqual(['http://10.0.0.1:8008']);
    expect(c.namespace).toBe('/service/');
  });

  test('one stack: standby nodes depend on the primary patch', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    const primary = new PrimaryPatroniCluster(stack, 'dc1', t.primary);
    const standby = new StandbyPatroniCluster(stack, 'dc2', t.standby);
    new StandbyLink(stack, 'link', { primary, standby, ...t.link });
    const json = JSON.parse(Testing.synth(stack));
    const ta1 = byPath(json, 'dc2/node-ta1/config');
    expect(ta1.depends_on).toEqual([
      expect.stringMatching(/^terraform_data\.dc2_role_apply_/),
      expect.stringMatching(/^terraform_data\.dc1_dcs-patch_apply_/),
    ]);
  });

  test('existing primary: no node resources, a patch with its declared pg_hba, slot and no timing keys', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    const primary = new PrimaryPatroniCluster(stack, 'dc1', {
      ...t.primary,
      mode: 'existing',
      postgresql: {
        ...t.primary.postgresql,
        pgHba: ['local all postgres peer', 'host replication replicator 192.168.122.237/32 scram-sha-256'],
      },
    });
    const standby = new StandbyPatroniCluster(stack, 'dc2', t.standby);
    new StandbyLink(stack, 'link', { primary, standby, ...t.link });
    const json = JSON.parse(Testing.synth(stack));
    expect(Object.keys(resourcesOf(json)).filter((k) => k.startsWith('dc1_'))).toEqual([
      expect.stringMatching(/^dc1_dcs-patch_apply_/),
      expect.stringMatching(/^dc1_link-slots_apply_/),
      expect.stringMatching(/^dc1_role_apply_/),
    ]);
    // the source's link-slots step runs nothing while it is the source
    expect(byPath(json, 'dc1/link-slots/apply')).toMatchObject({
      input: { role: 'source' },
      triggers_replace: { role: 'source' },
    });
    expect(byPath(json, 'dc1/link-slots/apply').provisioner).toBeUndefined();
    const patch = JSON.parse(byPath(json, 'dc1/dcs-patch/apply').input.patch_json);
    expect(Object.keys(patch).sort()).toEqual(['postgresql', 'slots']);
    expect(patch.postgresql.pg_hba.slice(0, 2)).toEqual([
      'local all postgres peer',
      'host replication replicator 192.168.122.237/32 scram-sha-256',
    ]);
    expect(patch.postgresql.pg_hba).toHaveLength(9);
  });

  test('local transport, null_resource and stopOnDestroy', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    new PrimaryPatroniCluster(stack, 'db', {
      ...t.primary,
      deploy: {
        transport: 'local',
        resourceKind: 'null_resource',
        stopOnDestroy: true,
        startCommand: 'start-{name}',
        statusCommand: 'running-{name}',
        reloadCommand: 'reload-{name}',
        stopCommand: 'stop-{name}',
      },
    });
    const json = JSON.parse(Testing.synth(stack));
    expect(json.provider?.null).toBeDefined();
    const so1 = byPath(json, 'db/node-so1/config', 'null_resource');
    expect(so1.triggers.patroni_yml).toContain('name: so1');
    const local = so1.provisioner[0]['local-exec'];
    expect(local.environment).toEqual({
      FILE_PATH: '${self.triggers.config_path}',
      FILE_CONTENT: '${self.triggers.patroni_yml}',
      RUNTIME_SHA256: '${self.triggers.runtime_sha256}',
    });
    expect(local.command).toContain('if running-so1; then');
    const stop = byPath(json, 'db/node-so1/stop-on-destroy', 'null_resource');
    expect(stop.provisioner[0]['local-exec']).toMatchObject({
      when: 'destroy',
      command: '${self.triggers.stop_command}',
    });
    expect(stop.triggers.stop_command).toBe('stop-so1');
  });

  test('the delivery command, run by sh: starts a stopped Patroni, reloads only when the runtime part changed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deliver-'));
    try {
      const log = path.join(dir, 'log');
      const stack = new TerraformStack(Testing.app(), 'env');
      new PrimaryPatroniCluster(stack, 'db', {
        ...t.primary,
        deploy: {
          transport: 'local',
          configPath: `${dir}/{name}.yml`,
          statusCommand: `test -f ${dir}/running`,
          startCommand: `touch ${dir}/running; echo start >> ${log}`,
          reloadCommand: `echo reload >> ${log}`,
        },
      });
      const so1 = byPath(JSON.parse(Testing.synth(stack)), 'db/node-so1/config');
      const run = (runtime: string, yml: string) => {
        const res = spawnSync('/bin/sh', ['-c', so1.provisioner[0]['local-exec'].command], {
          env: {
            PATH: process.env.PATH,
            FILE_PATH: `${dir}/so1.yml`,
            FILE_CONTENT: yml,
            RUNTIME_SHA256: runtime,
          },
          encoding: 'utf8',
        });
        expect(res.stderr).toBe('');
        expect(res.status).toBe(0);
        return res.stdout.trim();
      };
      expect(run('aaa', 'one')).toBe('patroni stopped: starting');
      expect(run('aaa', 'two')).toBe('patroni runs; only bootstrap-time settings changed: file refreshed, no reload');
      expect(fs.readFileSync(`${dir}/so1.yml`, 'utf8')).toBe('two');
      expect(run('bbb', 'three')).toBe('patroni runs: reloading');
      expect(fs.readFileSync(log, 'utf8')).toBe('start\nreload\n');
      expect(fs.readFileSync(`${dir}/so1.yml.runtime-sha256`, 'utf8')).toBe('bbb');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ssh: port, pinned host keys (per node, else the CA), bastion port and key', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8xpOHc2Yxv8n3JZkO5e9Jw4cQmQm6c1n8nXH3m2k1A';
    const ca = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPq2b8c7dQp1mNw0Yk4z3c1VbW5x9sQe2fR7tU6yH8jL host-ca';
    new PrimaryPatroniCluster(stack, 'db', {
      ...t.primary,
      nodes: t.primary.nodes.map((n, i) => (i === 0 ? { ...n, sshHostKey: key } : n)),
      deploy: {
        sshPort: 2222,
        sshCertificateAuthority: ca,
        sshBastionHost: 'jump.dc1',
        sshBastionPort: 2200,
        sshBastionHostKey: key,
      },
    });
    const json = JSON.parse(Testing.synth(stack));
    expect(byPath(json, 'db/node-so1/config').connection).toEqual({
      type: 'ssh',
      host: '${self.input.host}',
      user: 'root',
      port: 2222,
      host_key: key,
      agent: 'true',
      bastion_host: 'jump.dc1',
      bastion_user: 'root',
      bastion_port: 2200,
      bastion_host_key: key,
    });
    expect(byPath(json, 'db/node-so2/config').connection.host_key).toBe(ca);
  });

  test('REST API over HTTPS: restapi certfile/keyfile/cafile/verify_client on the nodes, https endpoints for the programs', () => {
    const topo = mutate(articleTopology(), (x) => {
      x.standby.patroni = {
        ...x.standby.patroni,
        restApiTls: {
          certFile: '/etc/patroni/tls/node.pem',
          keyFile: '/etc/patroni/tls/node.key',
          caFile: '/etc/patroni/tls/ca.pem',
          verifyClient: 'required',
        },
      };
    });
    const { standby, primary } = synthTopology(topo);
    const yml = parse(byPath(standby, 'cluster/node-ta1/config').input.patroni_yml);
    expect(yml.restapi).toEqual({
      listen: '192.168.122.97:8008',
      connect_address: '192.168.122.97:8008',
      certfile: '/etc/patroni/tls/node.pem',
      keyfile: '/etc/patroni/tls/node.key',
      cafile: '/etc/patroni/tls/ca.pem',
      verify_client: 'required',
    });
    expect(byPath(standby, 'cluster/dcs-patch/apply').input.endpoints).toBe(
      'https://192.168.122.97:8008,https://192.168.122.198:8008,https://192.168.122.172:8008',
    );
    // the primary keeps plain HTTP; its slot guard asks the standby over HTTPS
    expect(byPath(primary, 'cluster/dcs-patch/apply').input.endpoints).toMatch(/^http:\/\/192\.168\.122\.237:8008,/);
    expect(patchConfigOf(byPath(primary, 'cluster/dcs-patch/apply')).guardStandby[0][0]).toBe(
      'https://192.168.122.97:8008',
    );
  });

  test('IPv6 nodes: bracketed listen/connect addresses and URLs, /128 pg_hba lines, bare hosts for libpq', () => {
    const topo = mutate(articleTopology(), (x) => {
      x.standby.nodes = [
        { name: 'ta1', host: 'fd00:2::1' },
        { name: 'ta2', host: 'fd00:2::2' },
        { name: 'ta3', host: 'fd00:2::3' },
      ];
      x.primary.nodes = [
        { name: 'so1', host: 'fd00:1::1' },
        { name: 'so2', host: 'fd00:1::2' },
        { name: 'so3', host: 'fd00:1::3' },
      ];
      x.link.monitoring.addresses = ['fd00:9::10'];
    });
    const { standby, primary } = synthTopology(topo);
    const yml = parse(byPath(standby, 'cluster/node-ta1/config').input.patroni_yml);
    expect([
      yml.restapi.listen,
      yml.restapi.connect_address,
      yml.postgresql.listen,
      yml.postgresql.connect_address,
    ]).toEqual(['[fd00:2::1]:8008', '[fd00:2::1]:8008', '[fd00:2::1]:5432', '[fd00:2::1]:5432']);
    expect(yml.bootstrap.dcs.standby_cluster.host).toBe('fd00:1::1,fd00:1::2,fd00:1::3');
    expect(byPath(standby, 'cluster/dcs-patch/apply').input.endpoints).toBe(
      'http://[fd00:2::1]:8008,http://[fd00:2::2]:8008,http://[fd00:2::3]:8008',
    );
    const hba = JSON.parse(byPath(primary, 'cluster/dcs-patch/apply').input.patch_json).postgresql.pg_hba as string[];
    expect(hba).toContain('host replication replicator fd00:2::1/128 scram-sha-256');
    expect(hba).toContain('host postgres monitor fd00:9::10/128 scram-sha-256');
    const gate = JSON.parse(
      byPath(synthTopology(mutate(topo, (x) => (x.link.state = 'detached'))).standby, 'cluster/promotion/detach/apply')
        .input.gate_config,
    );
    expect(gate.source.nodes[0]).toEqual({
      name: 'so1',
      host: 'fd00:1::1',
      port: 5432,
      rest: 'http://[fd00:1::1]:8008',
    });
  });

  test('deploy.secrets: ephemeral sensitive variables, one env-file step per node before its config, nothing secret in the plan', () => {
    const { standby } = synthTopology(
      mutate(articleTopology(), (x) => {
        x.standby.deploy = { secrets: { envFile: '/etc/patroni/{configName}.env', version: 2 } };
        x.standby.patroni = { restApiUsername: 'patroni', restApiPasswordEnv: 'PATRONI_RESTAPI_PASSWORD_DC2' };
      }),
    );
    expect(Object.keys(standby.variable).sort()).toEqual([
      'patroni_replication_password',
      'patroni_restapi_password_dc2',
      'patroni_rewind_password',
      'patroni_superuser_password',
    ]);
    for (const v of Object.values(standby.variable) as Record<string, unknown>[])
      expect(v).toMatchObject({ ephemeral: true, sensitive: true, nullable: false, type: 'string' });
    const step = byPath(standby, 'cluster/node-ta1/secrets');
    expect(step.input).toEqual({
      member: 'ta1',
      host: '192.168.122.97',
      env_file: '/etc/patroni/16-pgcluster.env',
      version: '2',
    });
    expect(step.triggers_replace).toEqual({
      version: '2',
      host: '192.168.122.97',
      env_file: '/etc/patroni/16-pgcluster.env',
    });
    // ssh: staged in a mode-700 folder, then moved into place; the values only as variable references
    const [prepare, file, place] = step.provisioner;
    expect(prepare['remote-exec'].inline).toEqual(['set -eu', "install -d -m 0700 '/etc/patroni/.patroni-secrets-tf'"]);
    expect(file.file).toEqual({
      content:
        "PATRONI_SUPERUSER_PASSWORD='${var.patroni_superuser_password}'\nPATRONI_REPLICATION_PASSWORD='${var.patroni_replication_password}'\nPATRONI_REWIND_PASSWORD='${var.patroni_rewind_password}'\nPATRONI_RESTAPI_PASSWORD='${var.patroni_restapi_password_dc2}'\n",
      destination: '/etc/patroni/.patroni-secrets-tf/16-pgcluster.env',
    });
    expect(place['remote-exec'].inline.slice(1, 3)).toEqual([
      "chmod 0600 '/etc/patroni/.patroni-secrets-tf/16-pgcluster.env'",
      "mv -f '/etc/patroni/.patroni-secrets-tf/16-pgcluster.env' '/etc/patroni/16-pgcluster.env'",
    ]);
    expect(byPath(standby, 'cluster/node-ta1/config').depends_on).toEqual([
      expect.stringMatching(/^terraform_data\.cluster_node-ta1_secrets_/),
      expect.stringMatching(/^terraform_data\.cluster_role_apply_/),
    ]);
    // no variable is read anywhere else (never into an input, a trigger or an output)
    const withoutProvisioners = Object.values(
      standby.resource as Record<string, Record<string, Record<string, unknown>>>,
    ).flatMap((byType) => Object.values(byType).map(({ provisioner: _provisioner, ...rest }) => rest));
    expect(JSON.stringify([withoutProvisioners, standby.output])).not.toMatch(/var\.patroni_/);
    expect(JSON.stringify(standby.resource)).toMatch(/var\.patroni_superuser_password/);
  });

  test("the standby patch compares the hot-standby parameters with the source's running configuration, while following", () => {
    const source = (json: TfJson) => patchConfigOf(byPath(json, 'cluster/dcs-patch/apply')).hotStandbySource;
    expect(source(synthTopology(articleTopology()).standby)).toEqual([
      'http://192.168.122.237:8008',
      'http://192.168.122.93:8008',
      'http://192.168.122.128:8008',
    ]);
    expect(source(synthTopology(articleTopology()).primary)).toEqual([]);
    expect(source(synthTopology(articleTopology('detached')).standby)).toEqual([]);
  });

  test('ssh stopOnDestroy runs at destroy only', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    new PrimaryPatroniCluster(stack, 'db', { ...t.primary, deploy: { stopOnDestroy: true } });
    const json = JSON.parse(Testing.synth(stack));
    const stop = byPath(json, 'db/node-so1/stop-on-destroy');
    expect(stop.provisioner).toEqual([{ 'remote-exec': { inline: ['${self.input.stop_command}'], when: 'destroy' } }]);
    expect(stop.input.stop_command).toBe('systemctl stop patroni@16-pgcluster.service');
    expect(stop.connection.host).toBe('${self.input.host}');
  });

  test('a Terraform token as host: rendered into the YAML, checked by a precondition', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    const ip = new TerraformVariable(stack, 'ip', { type: 'string' });
    new PrimaryPatroniCluster(stack, 'db', {
      scope: 'x',
      dcs: { type: 'etcd3', hosts: ['10.0.0.9:2379'] },
      nodes: [{ name: 'a1', host: ip.stringValue }],
    });
    const json = JSON.parse(Testing.synth(stack));
    const a1 = byPath(json, 'db/node-a1/config');
    expect(a1.input.patroni_yml).toContain('listen: "${var.ip}:8008"');
    expect(a1.triggers_replace.config_sha256).toContain('name: a1');
    expect(a1.lifecycle.precondition[0].condition).toContain('regex');
  });

  test('template sequences in a parameter reach the node unchanged', () => {
    const { primary } = synthTopology(
      mutate(t, (x) => (x.primary.postgresql.parameters.archive_command = 'test ! -f ${ARCHIVE}/%f && echo %{x}')),
    );
    // Terraform reads ${ and %{ as template syntax: both are escaped ($${, %%{) so that the node gets them as written
    expect(byPath(primary, 'node-so1/config').input.patroni_yml).toContain(
      'archive_command: "test ! -f $${ARCHIVE}/%f && echo %%{x}"',
    );
    expect(
      JSON.parse(
        byPath(primary, 'dcs-patch/apply')
          .input.patch_json.replace(/\$\$\{/g, '${')
          .replace(/%%\{/g, '%{'),
      ).postgresql.parameters.archive_command,
    ).toBe('test ! -f ${ARCHIVE}/%f && echo %{x}');
  });
});
