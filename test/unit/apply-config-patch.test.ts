/**
 * The patch program's desired-state computation: what it removes from a running configuration,
 * what it never touches, and which slot removals wait for the standby cluster.
 */
import {
  demotes,
  desiredPatch,
  holdSlots,
  hotStandbyWarnings,
  isObject,
  type JsonObject,
  MARKER,
  mismatches,
  prop,
  stringsAt,
} from '../../runtime/apply-config-patch';

/** postgresql.parameters of a patch body (its postgresql section is an object in every case below). */
const parametersOf = (body: JsonObject): unknown => (body.postgresql as JsonObject).parameters;

const running = {
  ttl: 30,
  loop_wait: 10,
  synchronous_mode: true,
  check_timeline: true,
  postgresql: {
    parameters: { work_mem: '64MB', max_connections: 100, hand_set: 'on' },
    pg_hba: ['local all all peer'],
  },
  slots: { link_old: { type: 'physical' }, by_hand: { type: 'physical' } },
};

describe('managed cluster (strict): the running configuration becomes what the topology renders', () => {
  const desired = {
    ttl: 30,
    loop_wait: 10,
    postgresql: { parameters: { max_connections: 100 }, pg_hba: ['local all all peer'] },
    slots: { link_new: { type: 'physical' } },
  };
  const { body, removed } = desiredPatch(desired, running, { strict: true, sections: 'all' });

  test('parameters and slots it does not name are sent as null', () => {
    expect(parametersOf(body)).toEqual({ max_connections: 100, work_mem: null, hand_set: null });
    expect(body.slots).toEqual({ link_new: { type: 'physical' }, link_old: null, by_hand: null });
    expect(removed.sort()).toEqual([
      'postgresql.parameters.hand_set',
      'postgresql.parameters.work_mem',
      'slots.by_hand',
      'slots.link_old',
    ]);
  });
  test('top-level keys it never wrote stay (they are not in the marker)', () => {
    expect('synchronous_mode' in body).toBe(false);
    expect('check_timeline' in body).toBe(false);
  });
  test('the marker records what it owns now', () => {
    expect(body[MARKER]).toEqual({ slots: ['link_new'], parameters: ['max_connections'], keys: ['loop_wait', 'ttl'] });
  });
  test('the desired body itself is not changed', () => {
    expect(desired.slots).toEqual({ link_new: { type: 'physical' } });
  });
});

describe('existing cluster: only what the project wrote before is removed', () => {
  const withMarker = {
    ...running,
    [MARKER]: { slots: ['link_old'], parameters: ['work_mem'], keys: ['synchronous_mode'] },
  };
  const desired = { postgresql: { pg_hba: ['local all all peer'] }, slots: { link_new: { type: 'physical' } } };

  test('its old slot goes, the slot it never wrote stays', () => {
    const { body } = desiredPatch(desired, withMarker, { strict: false, sections: 'all' });
    expect(body.slots).toEqual({ link_new: { type: 'physical' }, link_old: null });
    expect(body.synchronous_mode).toBeNull();
    expect(body.check_timeline).toBeUndefined();
    // no parameters in the body: the project does not own the existing cluster's parameters
    expect(parametersOf(body)).toBeUndefined();
  });
  test('without a marker (never deployed by this project) nothing is removed', () => {
    const { body, removed } = desiredPatch(desired, running, { strict: false, sections: 'all' });
    expect(removed).toEqual([]);
    expect(body.slots).toEqual({ link_new: { type: 'physical' } });
  });
  test('standby_cluster is never removed implicitly, even when the project wrote it', () => {
    const standby = { standby_cluster: { host: 'a' }, [MARKER]: { keys: ['standby_cluster'] } };
    expect(desiredPatch({}, standby, { strict: true, sections: 'all' }).body.standby_cluster).toBeUndefined();
  });
});

describe('slots section only (the standby stack re-asserting the source slots)', () => {
  test('parameters are left alone; the marker keeps its other lists (PATCH merges it)', () => {
    const { body } = desiredPatch({ slots: { link_new: { type: 'physical' } } }, running, {
      strict: true,
      sections: 'slots',
    });
    expect(body).toEqual({
      slots: { link_new: { type: 'physical' }, link_old: null, by_hand: null },
      [MARKER]: { slots: ['link_new'] },
    });
  });
});

test('exact (the detach): the body as it is, nothing removed, no marker', () => {
  const current = { ...running, [MARKER]: { keys: ['synchronous_mode'], slots: ['link_old'] } };
  expect(desiredPatch({ standby_cluster: null }, current, { strict: true, sections: 'exact' })).toEqual({
    body: { standby_cluster: null },
    removed: [],
  });
});

describe('slot removals wait for the standby cluster', () => {
  const body = () => ({
    slots: { link: null, other: null, kept: { type: 'physical' } },
    [MARKER]: { slots: ['kept'] },
  });

  test('a slot the standby names as primary_slot_name is kept, and stays in the marker', () => {
    const b = body();
    expect(holdSlots(b, [{ standby_cluster: { primary_slot_name: 'link' } }])).toEqual(['link']);
    expect(b.slots).toEqual({ other: null, kept: { type: 'physical' } });
    expect(b[MARKER].slots).toEqual(['kept', 'link']);
  });
  test('a detached standby (no standby_cluster) lets every slot go', () => {
    const b = body();
    expect(holdSlots(b, [{ loop_wait: 10 }])).toEqual([]);
    expect(b.slots).toEqual({ link: null, other: null, kept: { type: 'physical' } });
  });
  test('a standby cluster that does not answer holds every removal', () => {
    const b = body();
    expect(holdSlots(b, [undefined])).toEqual(['link', 'other']);
    expect(b.slots).toEqual({ kept: { type: 'physical' } });
  });
  test('with two standby clusters, each one keeps its own slot', () => {
    const b = body();
    expect(
      holdSlots(b, [
        { standby_cluster: { primary_slot_name: 'other' } },
        { standby_cluster: { primary_slot_name: 'link' } },
      ]),
    ).toEqual(['link', 'other']);
  });
  test('nothing to remove: the body is unchanged', () => {
    const b = { slots: { kept: { type: 'physical' } } };
    expect(holdSlots(b, [undefined])).toEqual([]);
    expect(b).toEqual({ slots: { kept: { type: 'physical' } } });
  });
});

describe('hot-standby parameters against the running source (apply time)', () => {
  test('a standby value below the source running value: one warning naming both and the fix', () => {
    expect(hotStandbyWarnings({ max_connections: 40 }, { max_connections: '100' })).toEqual([
      "max_connections 40 on the standby is below the source's running 100: Patroni starts the standby with 100 and shows a pending restart; set max_connections: 100 or more on the standby cluster",
    ]);
  });
  test("what the source does not set is PostgreSQL's default there; the issue's case (both 40) is quiet", () => {
    expect(hotStandbyWarnings({ max_connections: 40 }, { max_connections: 40 })).toEqual([]);
    expect(hotStandbyWarnings({ max_wal_senders: 5 }, {})).toEqual([
      expect.stringMatching(/^max_wal_senders 5 on the standby is below the source's running 10:/),
    ]);
    expect(hotStandbyWarnings({ max_connections: 500 }, undefined)).toEqual([]);
  });
  test('equal or higher values and non-numbers say nothing', () => {
    expect(
      hotStandbyWarnings(
        { max_locks_per_transaction: 128, max_prepared_transactions: 'x' },
        { max_locks_per_transaction: 64, max_prepared_transactions: 10 },
      ),
    ).toEqual([]);
  });
});

describe('a patch never demotes a running primary (only a role change does, after its gate)', () => {
  const block = { host: '10.0.2.1,10.0.2.2', port: 5432 };
  test('standby_cluster into a cluster that has none: refused, naming the role change', () => {
    expect(demotes({ standby_cluster: block }, { loop_wait: 10 })).toMatch(
      /^this patch would make a running primary cluster a standby cluster \(standby_cluster -> 10\.0\.2\.1,10\.0\.2\.2\): a role change runs only in the new source's role resource/,
    );
  });
  test('a standby cluster keeps getting its block; a primary without the block is left alone; a detach is no demotion', () => {
    expect(demotes({ standby_cluster: block }, { standby_cluster: { host: 'x' } })).toBeUndefined();
    expect(demotes({ loop_wait: 10 }, { loop_wait: 10 })).toBeUndefined();
    expect(demotes({ standby_cluster: null }, { standby_cluster: { host: 'x' } })).toBeUndefined();
    expect(demotes({ standby_cluster: block }, undefined)).toBeUndefined();
  });
});

describe('edges of the removal and the marker', () => {
  test('a marked key or parameter that the running configuration no longer has is not sent again', () => {
    const current = {
      loop_wait: 10,
      postgresql: { parameters: { a: '1' } },
      slots: {},
      [MARKER]: { parameters: ['a', 'gone'], keys: ['loop_wait', 'ttl'], slots: ['old'] },
    };
    const { body, removed } = desiredPatch({ postgresql: { parameters: { b: '2' } } }, current, {
      strict: false,
      sections: 'all',
    });
    expect(removed).toEqual(['postgresql.parameters.a', 'loop_wait']);
    expect(parametersOf(body)).toEqual({ b: '2', a: null });
    expect(body.slots).toBeUndefined();
  });

  test('a slot the topology still has is kept; the marker lists only the slots, parameters and keys it sets, sorted', () => {
    const current = { slots: { keep: { type: 'physical' }, drop: { type: 'physical' } } };
    const desired = {
      ttl: 30,
      loop_wait: null,
      slots: { zeta: { type: 'physical' }, keep: { type: 'physical' }, alpha: null },
      postgresql: { parameters: { z: '1', a: '2', n: null } },
    };
    const { body, removed } = desiredPatch(desired, current, { strict: true, sections: 'all' });
    expect(body.slots).toEqual({ zeta: { type: 'physical' }, keep: { type: 'physical' }, alpha: null, drop: null });
    expect(removed).toEqual(['slots.drop']);
    expect(body[MARKER]).toEqual({ slots: ['keep', 'zeta'], parameters: ['a', 'z'], keys: ['ttl'] });
  });

  test('the slots section alone touches no parameter and no top-level key, even strict', () => {
    const current = { ttl: 30, postgresql: { parameters: { a: '1' } }, [MARKER]: { keys: ['ttl'], parameters: ['a'] } };
    const { body, removed } = desiredPatch({ postgresql: { parameters: {} }, slots: {} }, current, {
      strict: true,
      sections: 'slots',
    });
    expect(removed).toEqual([]);
    expect(body).toEqual({ postgresql: { parameters: {} }, slots: {}, [MARKER]: { slots: [] } });
  });

  test('a marker that is not an object counts as none', () => {
    const { removed } = desiredPatch({}, { ttl: 30, [MARKER]: 'x' }, { strict: false, sections: 'all' });
    expect(removed).toEqual([]);
  });

  test('holding the last removal leaves no empty slots section; a held slot already in the marker is listed once', () => {
    const b: JsonObject = { slots: { link: null }, [MARKER]: { slots: ['link'] } };
    expect(holdSlots(b, [{ standby_cluster: { primary_slot_name: 'link' } }])).toEqual(['link']);
    expect(b).toEqual({ [MARKER]: { slots: ['link'] } });
    const noSlots = { loop_wait: 5 };
    expect(holdSlots(noSlots, [undefined])).toEqual([]);
    expect(noSlots).toEqual({ loop_wait: 5 });
  });

  test('one standby cluster that answers and one that does not: every removal waits', () => {
    const b = { slots: { link: null, other: null } };
    expect(holdSlots(b, [{ standby_cluster: { primary_slot_name: 'link' } }, undefined])).toEqual(['link', 'other']);
  });
});

describe('reading JSON of unknown shape', () => {
  test('isObject: only a JSON object, not null, an array or a string', () => {
    expect([isObject({}), isObject(null), isObject([]), isObject('{}')]).toEqual([true, false, false, false]);
  });

  test("prop: a property of an object or an array; nothing of a string's or of null", () => {
    expect([prop({ a: 1 }, 'a'), prop([5], '0'), prop('text', 'length'), prop(null, 'a')]).toEqual([
      1,
      5,
      undefined,
      undefined,
    ]);
  });

  test("stringsAt: a marker list's strings; a list of another type counts as none", () => {
    expect(stringsAt({ slots: ['a', 5, null, 'b'] }, 'slots')).toEqual(['a', 'b']);
    expect(stringsAt({ slots: 'a' }, 'slots')).toEqual([]);
    expect(stringsAt({}, 'slots')).toEqual([]);
  });
});

describe('more edges of the removal, the marker and the verification', () => {
  test('a marker whose lists are not lists owns nothing: nothing is removed', () => {
    const current = { ttl: 30, slots: { old: {} }, [MARKER]: { slots: 'old', keys: 'ttl' } };
    expect(desiredPatch({ loop_wait: 5 }, current, { strict: false, sections: 'all' }).removed).toEqual([]);
  });

  test('strict, a body without parameters: the running parameters are left alone, the marker owns none', () => {
    const current = { postgresql: { parameters: { work_mem: '8MB' } } };
    const { body, removed } = desiredPatch({ ttl: 30 }, current, { strict: true, sections: 'all' });
    expect(removed).toEqual([]);
    expect(body).toEqual({ ttl: 30, [MARKER]: { slots: [], parameters: [], keys: ['ttl'] } });
  });

  test('the marker keys are sorted, whatever the order of the body', () => {
    const { body } = desiredPatch(
      { ttl: 30, loop_wait: 5, check_timeline: true },
      {},
      { strict: true, sections: 'all' },
    );
    expect(body[MARKER]).toEqual({ slots: [], parameters: [], keys: ['check_timeline', 'loop_wait', 'ttl'] });
  });

  test('a held slot joins the marker in order', () => {
    const b: JsonObject = { slots: { alpha: null, zeta: {} }, [MARKER]: { slots: ['zeta'] } };
    expect(holdSlots(b, [undefined])).toEqual(['alpha']);
    expect(b).toEqual({ slots: { zeta: {} }, [MARKER]: { slots: ['alpha', 'zeta'] } });
  });

  test('verification: a null key absent (or null) is as wanted; a number given back as text is the same', () => {
    expect(mismatches({ a: null, b: null, c: 5, d: true }, { b: null, c: '5', d: 'true' }, '')).toEqual([]);
  });

  test("a standby that does not set a hot-standby parameter runs PostgreSQL's default: compared so", () => {
    expect(hotStandbyWarnings({}, { max_connections: 200 })).toEqual([
      "max_connections 100 on the standby is below the source's running 200: Patroni starts the standby with 200 and shows a pending restart; set max_connections: 200 or more on the standby cluster",
    ]);
    expect(hotStandbyWarnings({ max_connections: null }, { max_connections: 100 })).toEqual([]);
  });
});
