/**
 * The plan review (ops/plan-review.ts) on plans made from two synths of the stacks (before and
 * after a topology change): what it says Patroni will do, what it marks for attention, and the
 * Markdown. The end-to-end walkthrough runs it on plans that Terraform saved.
 */
import { stringify } from 'yaml';
import { membersByAddress, needsAttention, reviewMarkdown, reviewPlan, StackReview } from '../../ops/plan-review';
import { parseTopology } from '../../stacks/topology-file';
import { articleTopology, mutate, synthTopology, TfJson } from './helpers';

/** A `terraform show -json` plan between two synthesized stacks (terraform_data values are known at plan). */
function planBetween(before: TfJson | undefined, after: TfJson) {
  const b = before?.resource?.terraform_data ?? {};
  const a = after.resource.terraform_data ?? {};
  const change = (name: string) => {
    const was = b[name] ? { input: b[name].input } : null;
    const now = a[name] ? { input: a[name].input } : null;
    const same = JSON.stringify(was) === JSON.stringify(now);
    const actions = !was ? ['create'] : !now ? ['delete'] : same ? ['no-op'] : ['delete', 'create'];
    return { address: `terraform_data.${name}`, type: 'terraform_data', name, change: { actions, before: was, after: now } };
  };
  return { resource_changes: [...new Set([...Object.keys(b), ...Object.keys(a)])].sort().map(change) };
}

function review(change: (t: any) => void, from = articleTopology(), linkState?: string): { primary: StackReview; standby: StackReview } {
  const before = synthTopology(from);
  const changed = mutate(from, change);
  const after = synthTopology(linkState ? parseTopology(stringify(changed), 'x.yaml', linkState).topology : changed);
  const plans = { primary: planBetween(before.primary, after.primary), standby: planBetween(before.standby, after.standby) };
  const members = membersByAddress([plans.primary, plans.standby]);
  return { primary: reviewPlan('primary', plans.primary, (ip) => members.get(ip)), standby: reviewPlan('standby', plans.standby, (ip) => members.get(ip)) };
}

const texts = (s: StackReview, subject?: string) => s.resources.filter((r) => !subject || r.subject === subject).flatMap((r) => r.findings.map((f) => `${f.attention ? 'ATTENTION ' : ''}${f.text}`));

test('no change: nothing to review, exit 0', () => {
  const r = review(() => undefined);
  expect([r.primary.resources, r.standby.resources]).toEqual([[], []]);
  expect(needsAttention([r.primary, r.standby])).toBe(false);
  expect(reviewMarkdown([r.primary])).toBe("## Patroni plan review\n\nNothing here needs a reviewer's attention.\n\n### Stack `primary`\n\nNo change.\n");
});

test('a reload-only parameter: applied with a reload, nothing for attention', () => {
  const r = review((t) => (t.primary.postgresql.parameters.effective_cache_size = '3GB'));
  expect(texts(r.primary, 'DCS patch')).toEqual(['cluster-wide parameter effective_cache_size set to "3GB": Patroni applies it with a reload']);
  expect(texts(r.primary, 'member so1')).toEqual(['member so1: the file is rewritten, no reload (only its bootstrap part changed, read when a cluster is initialised)']);
  expect(needsAttention([r.primary, r.standby])).toBe(false);
  const patch = r.primary.resources.find((x) => x.subject === 'DCS patch')!.diffs[0].diff;
  expect(patch).toMatch(/^\+ {6}"effective_cache_size": "3GB"/m);
});

test('a parameter that needs a restart is marked, with what Patroni will show', () => {
  const r = review((t) => (t.primary.postgresql.parameters.max_connections = 500));
  expect(texts(r.primary, 'DCS patch')).toEqual([expect.stringMatching(/^ATTENTION cluster-wide parameter max_connections set to 500: needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart/)]);
  expect(needsAttention([r.primary])).toBe(true);
});

test('a member-local parameter in patroni.yml: a reload, or a restart named', () => {
  const r = review((t) => (t.primary.nodes[0].overrides = { postgresql: { parameters: { shared_buffers: '2GB', work_mem: '8MB' } } }));
  const so1 = texts(r.primary, 'member so1');
  expect(so1).toContain('member so1: the file is rewritten and Patroni reloaded (the part it reads at run time changed)');
  expect(so1).toContain('ATTENTION member so1: parameter shared_buffers set to "2GB": needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart until one (patronictl restart)');
  expect(so1).toContain('member so1: parameter work_mem set to "8MB": Patroni applies it with a reload');
  expect(r.primary.resources.find((x) => x.subject === 'member so1')!.diffs[0].diff).toMatch(/^\+ +shared_buffers: "2GB"$/m);
});

test('a renamed link slot: created on the source, the old one removed (for attention)', () => {
  const r = review((t) => (t.link.slotName = 'dr_slot'));
  expect(texts(r.primary, 'DCS patch')).toEqual(expect.arrayContaining(['slot dr_slot created on this cluster: it retains WAL for its consumer from now on']));
  expect(texts(r.standby, "the link's slots on the source").join('\n')).toMatch(/ATTENTION slot my_standby_cluster_slot removed on this cluster|slot dr_slot created/);
  expect(texts(r.standby, 'DCS patch')).toEqual([expect.stringMatching(/^standby_cluster changed: the standby leader follows .* through dr_slot/)]);
});

test('a standby member removed: the member, and the source no longer admitting its replication', () => {
  const r = review((t) => (t.standby.nodes = t.standby.nodes.slice(0, 2)));
  expect(texts(r.standby, 'member ta3')).toEqual(['ATTENTION member ta3 (192.168.122.172) removed from the stack: its Patroni keeps running (deploy.stopOnDestroy is off); stop it and remove it from the cluster by hand']);
  expect(texts(r.primary, 'DCS patch')).toContain('ATTENTION pg_hba stops admitting replication as replicator from member ta3 (192.168.122.172): `host replication replicator 192.168.122.172/32 scram-sha-256` is removed and no line matches any more; a standby or replica there can no longer stream');
});

test('a member added', () => {
  const r = review((t) => t.primary.nodes.push({ name: 'so4', host: '192.168.122.44' }));
  expect(texts(r.primary, 'member so4')).toEqual(['ATTENTION member so4 (192.168.122.44) added: its file is written and Patroni started on it; it joins as a replica (cloned from the leader)']);
  expect(texts(r.standby, 'DCS patch').join('\n')).toContain('pg_hba line added: `host replication replicator 192.168.122.44/32 scram-sha-256`');
});

test('the promotion variant: the detach and its gate; a disaster promotion says what is lost', () => {
  const r = review(() => undefined, articleTopology(), 'detached');
  expect(texts(r.standby, 'promotion (detach)')).toEqual([expect.stringMatching(/^ATTENTION PROMOTION: the standby cluster is detached .* no write on the source for 3 s, no open write or prepared transaction/)]);
  expect(texts(r.standby, "the link's slots on the source")).toEqual(['ATTENTION slot my_standby_cluster_slot removed on this cluster: the WAL it retained is released; a standby that streams through it must have moved to another slot (removals wait while a standby cluster still names it)']);
  const d = review((t) => (t.link.promotion = { disaster: true }), articleTopology(), 'detached');
  expect(texts(d.standby, 'promotion (detach)')).toEqual([expect.stringMatching(/^ATTENTION DISASTER PROMOTION .* Writes the source made after that are lost$/)]);
});

test('a switchover in the clusters: layout: the new source\'s role step, with its gate and undo', () => {
  const layout = (source: string) => ({ clusters: { dc1: articleTopology().primary, dc2: articleTopology().standby }, link: { ...articleTopology().link, source } });
  const before = parseTopology(stringify(layout('dc1')), 'dc.yaml').topology;
  const after = parseTopology(stringify(layout('dc2')), 'dc.yaml').topology;
  const b = synthTopology(before);
  const a = synthTopology(after);
  // the stacks keep their data center's name: dc2 was the standby stack, it is now the primary one
  const dc2 = reviewPlan('dc2', planBetween(b.standby, a.primary));
  const dc1 = reviewPlan('dc1', planBetween(b.primary, a.standby));
  expect(texts(dc2, 'role step')).toEqual([expect.stringMatching(/^ATTENTION SWITCHOVER: this cluster becomes the source \(role standby -> source\)\. .*fences the old primary .*else the fence is undone.*nothing re-cloned.*refused unless roleChange\.acceptDataLoss$/)]);
  expect(texts(dc1, 'role step')).toEqual(['ATTENTION this cluster becomes the standby (role source -> standby): the new source\'s role step demotes it and makes it follow']);
  const md = reviewMarkdown([dc1, dc2]);
  expect(md).toMatch(/^\*\*\d+ changes need a reviewer's attention\.\*\*$/m);
  expect(md).toContain('### Stack `dc2`');
  expect(md).toContain('#### role step: replace');
});

test('a promotion undone (the link follows again): the standby\'s role step, marked with the rejoin it may run', () => {
  const r = review((t) => (t.link.state = 'following'), articleTopology('detached'));
  expect(texts(r.standby, 'role step')).toEqual(['ATTENTION the link follows again after a promotion: if this cluster is a primary, its role step REJOINS it as the standby of primary (pg_rewind; its replicas re-cloned), which throws away what it wrote since the promotion, refused unless roleChange.acceptDataLoss']);
  // the source's stack has no role change for it
  expect(texts(r.primary, 'role step')).toEqual([]);
});

test('Markdown: attention first, diffs folded', () => {
  const r = review((t) => { t.primary.postgresql.parameters.max_connections = 500; t.primary.postgresql.parameters.effective_cache_size = '3GB'; });
  const md = reviewMarkdown([r.primary]);
  expect(md).toContain('**1 change needs a reviewer\'s attention.**');
  const patch = md.slice(md.indexOf('#### DCS patch'));
  expect(patch.indexOf('**attention**: cluster-wide parameter max_connections')).toBeLessThan(patch.indexOf('cluster-wide parameter effective_cache_size'));
  expect(md).toMatch(/<details><summary>DCS patch<\/summary>\n\n```diff\n@@ /);
  expect(md).toMatch(/<details><summary>so1: patroni\.yml<\/summary>/);
});
