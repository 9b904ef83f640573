#!/usr/bin/env node
// The pipeline's part of a re-seed of the standby cluster (`link.reseed`, constructs/reseed.ts):
//
//   gate  before anything is touched: refuses unless the cluster is a standby cluster (no
//         read-write member, a standby_cluster block in its DCS) whose standby leader does not
//         stream, or streams through a slot the source has invalidated, and the source has a
//         reachable leader to clone from; prints what the standby had and where each member's
//         data directory goes; renews an invalidated link slot on the source (through the
//         source's DCS: removed, then declared again, so that it holds WAL from now on and the
//         new standby leader streams through it after its base backup);
//   wait  after the members were started with empty data directories: until the new standby
//         leader streams from a source member, on the source's system, and every other member
//         from it (timeoutSeconds).
//
// RESEED_CONFIG (JSON, no password): constructs/planners/reseed.ts. Database access as status's:
// PGPASSWORD or a pgpass file for health.user; REST credentials as the role step's.
'use strict';

const health = require('./link-health.cjs');
const { realIo } = require('./switchover.cjs');

function log(msg) {
  process.stdout.write(`[re-seed] ${new Date().toISOString()} ${msg}\n`);
}

function fail(msg) {
  throw Object.assign(new Error(msg), { refused: true });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

const standbyNodes = (cfg, report) => report.nodes.filter((n) => n.cluster === cfg.health.standby.name);

async function slotRow(cfg, leader) {
  const node = cfg.health.source.nodes.find((n) => n.name === leader);
  const rows = await health.query(node, cfg.health, 'select wal_status from pg_replication_slots where slot_name = $1', [cfg.slotName]);
  return rows[0];
}

async function until(what, seconds, check) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() >= deadline) fail(`${what} did not happen within ${seconds} s`);
    await sleep(500);
  }
}

/**
 * An invalidated slot cannot be used again: it is removed from the source's DCS configuration
 * (Patroni drops it on every member), then declared again as it was (Patroni creates it, holding
 * WAL from the current position).
 */
async function renewSlot(cfg, leader, io) {
  const look = await io.look(cfg.source);
  const value = look.reachable && look.config && look.config.slots ? look.config.slots[cfg.slotName] : undefined;
  if (!value) fail(`REFUSED: the link slot ${cfg.slotName} is lost on ${cfg.source.name} and is not in its DCS configuration (slots) to be created again: deploy ${cfg.source.name}'s stack first. Nothing was touched`);
  log(`the link slot ${cfg.slotName} on ${cfg.source.name} is invalidated (wal_status lost): renewing it through ${cfg.source.name}'s DCS configuration`);
  await io.patch(cfg.source, { slots: { [cfg.slotName]: null } }, leader);
  await until(`the removal of ${cfg.slotName} on ${leader}`, 60, async () => (await slotRow(cfg, leader)) === undefined);
  await io.patch(cfg.source, { slots: { [cfg.slotName]: value } }, leader);
  const row = await until(`the new ${cfg.slotName} on ${leader}`, 60, async () => {
    const r = await slotRow(cfg, leader);
    return r && r.wal_status !== 'lost' ? r : undefined;
  });
  log(`the link slot ${cfg.slotName} is back on ${leader} (wal_status ${row.wal_status}): it holds the WAL the new standby leader streams after its base backup`);
}

async function gate(cfg, io = realIo) {
  const name = cfg.standby.name;
  const src = cfg.source.name;
  const report = await health.collect(cfg.health);
  const nodes = standbyNodes(cfg, report);
  const writable = nodes.find((n) => n.reachable && n.inRecovery === false);
  if (writable) fail(`REFUSED: ${writable.member} of ${name} is read-write: ${name} is a primary, not a standby cluster, and a re-seed would throw its writes away. Nothing was touched`);
  const look = await io.look(cfg.standby);
  if (!look.reachable) fail(`REFUSED: no member of ${name} answers on its REST API, so nothing shows that it is a standby cluster: start its members and deploy again. Nothing was touched`);
  if (!look.config || !look.config.standby_cluster) fail(`REFUSED: ${name}'s DCS configuration has no standby_cluster block: it is not a standby cluster. Nothing was touched`);
  if (!report.source.leader) fail(`REFUSED: the source ${src} has no reachable read-write leader to clone from. Nothing was touched`);
  const leader = nodes.find((n) => n.member === report.standby.leader);
  const slotLost = Boolean(report.slot && report.slot.present && report.slot.walStatus === 'lost');
  if (leader && leader.receiverStatus === 'streaming' && !slotLost && leader.systemId === report.nodes.find((n) => n.member === report.source.leader && n.cluster === src).systemId) {
    fail(`REFUSED: nothing to re-seed: ${name}'s standby leader ${leader.member} streams from ${leader.senderHost} (lag ${leader.lagBytes === null ? 'unknown' : `${leader.lagBytes} bytes`}), and a re-seed would throw a working copy away. Remove link.reseed (or set it back to the generation it had). Nothing was touched`);
  }
  const why = [
    leader ? `standby leader ${leader.member}: wal receiver ${leader.receiverStatus || 'none'}, received up to ${leader.receiveLsn || '-'}, replayed up to ${leader.replayLsn || '-'}` : `no standby leader`,
    report.slot ? (report.slot.present ? `link slot ${report.slot.name}: wal_status ${report.slot.walStatus || '-'}` : `link slot ${report.slot.name}: missing`) : undefined,
  ].filter(Boolean);
  log(`re-seeding ${name} (generation ${cfg.generation}) from ${src} (leader ${report.source.leader}, at ${report.source.currentLsn}): ${why.join('; ')}`);
  for (const [member, dir] of Object.entries(cfg.setAside)) log(`${member}: its data directory will be set aside as ${dir} (not deleted)`);
  if (cfg.slotName && slotLost) await renewSlot(cfg, report.source.leader, io);
  log('gate passed: the members are stopped and cloned anew next');
}

async function wait(cfg) {
  const t0 = Date.now();
  const name = cfg.standby.name;
  const sourceHosts = cfg.health.source.nodes.map((n) => n.host);
  let last = '';
  let lastLog = 0;
  for (;;) {
    const report = await health.collect(cfg.health).catch((err) => ({ error: err.message }));
    if (!report.error) {
      const nodes = standbyNodes(cfg, report);
      const srcLeader = report.nodes.find((n) => n.cluster === cfg.source.name && n.member === report.source.leader);
      const leader = nodes.find((n) => n.member === report.standby.leader);
      const missing = [];
      if (!leader) missing.push('no standby leader yet');
      else {
        if (leader.receiverStatus !== 'streaming' || !sourceHosts.includes(leader.senderHost)) missing.push(`${leader.member} not streaming from the source yet (${leader.receiverStatus || 'no wal receiver'})`);
        if (srcLeader && leader.systemId !== srcLeader.systemId) missing.push(`${leader.member} has system ${leader.systemId}, the source ${srcLeader.systemId}`);
      }
      for (const n of nodes) {
        if (leader && n === leader) continue;
        if (!n.reachable || n.receiverStatus !== 'streaming' || (leader && n.senderHost !== leader.host)) missing.push(`${n.member} not streaming from the standby leader yet (${n.state || 'down'})`);
      }
      if (missing.length === 0) {
        log(`re-seeded in ${Math.round((Date.now() - t0) / 1000)} s: ${leader.member} streams from ${leader.senderHost}, ${nodes.filter((n) => n !== leader).map((n) => n.member).join(', ') || 'no other member'} from it`);
        log(`the old data directories stay where they were set aside (${Object.values(cfg.setAside).join(', ')}): remove them once you no longer need them`);
        return;
      }
      last = missing.join('; ');
    } else last = report.error;
    if (Date.now() - lastLog > 30000) {
      lastLog = Date.now();
      log(`waiting for ${name}: ${last}`);
    }
    if (Date.now() - t0 > cfg.timeoutSeconds * 1000) fail(`${name} is not streaming again after ${cfg.timeoutSeconds} s (${last}): look at its members' Patroni logs; deploy again to wait again`);
    await sleep(1000);
  }
}

module.exports = { gate, wait };

if (require.main === module) {
  const phase = process.argv[2];
  const cfg = JSON.parse(process.env.RESEED_CONFIG || '{}');
  (phase === 'gate' ? gate(cfg) : phase === 'wait' ? wait(cfg) : Promise.reject(new Error(`usage: reseed.cjs gate|wait (got ${phase})`))).catch((err) => {
    process.stderr.write(`[re-seed] ${err.refused ? '' : 'FAILED: '}${err.message}\n`);
    process.exit(1);
  });
}
