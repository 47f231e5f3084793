// jsforce against the Portico emulator over https.
//
// Run by tests/tests/suite/clients.rs with node, NODE_EXTRA_CA_CERTS set to the emulator's
// certificate, and the emulator's address and credentials in the environment
// (PORTICO_EMULATOR_URL, PORTICO_CLIENT_ID, PORTICO_CLIENT_SECRET). jsforce comes from
// tests/node_modules (tests/package.json). Exits non-zero with a readable message at the
// first failed check.

import jsforce from 'jsforce';

const VERSION = '62.0';
const LOAD = 2100; // over one batch of 2,000, so paging is exercised

class Failed extends Error {}

function check(condition, message) {
  if (!condition) throw new Failed(message);
}

const show = (v) => JSON.stringify(v).slice(0, 400);

async function expectError(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    check(e.errorCode === code, `${what}: expected ${code}, got ${e.errorCode}: ${e.message}`);
    return e;
  }
  throw new Failed(`${what}: expected ${code}, but it succeeded`);
}

async function connect(base, clientId, clientSecret) {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
  const answer = await fetch(`${base}/services/oauth2/token`, { method: 'POST', body: form });
  const token = await answer.json();
  check(answer.status === 200, `token endpoint answered ${answer.status}: ${show(token)}`);
  return new jsforce.Connection({ instanceUrl: token.instance_url, accessToken: token.access_token, version: VERSION });
}

async function run(base, clientId, clientSecret) {
  const conn = await connect(base, clientId, clientSecret);

  // Versions and describes.
  const versions = await conn.request('/services/data/');
  check(versions.some((v) => v.version === VERSION), `versions list lacks ${VERSION}`);
  const global = await conn.describeGlobal();
  check(global.sobjects.some((o) => o.name === 'Lead'), 'global describe lacks Lead');
  const lead = conn.sobject('Lead');
  const describe = await lead.describe();
  check(describe.fields.some((f) => f.name === 'Email'), 'Lead describe lacks Email');

  // One record: create, retrieve, update, destroy.
  const created = await lead.create({ LastName: 'Lovelace', Company: 'Analytical Engines' });
  check(created.success && created.id.startsWith('00Q'), `create: ${show(created)}`);
  const got = await lead.retrieve(created.id);
  check(got.LastName === 'Lovelace' && got.attributes.type === 'Lead', `retrieve: ${show(got)}`);
  const updated = await lead.update({ Id: created.id, Company: 'Difference Engines' });
  check(updated.success, `update: ${show(updated)}`);
  check((await lead.retrieve(created.id)).Company === 'Difference Engines', 'update took effect');
  const destroyed = await lead.destroy(created.id);
  check(destroyed.success, `destroy: ${show(destroyed)}`);
  await expectError(lead.retrieve(created.id), 'NOT_FOUND', 'retrieve after destroy');

  // Upsert by external id (Event.Booking_Id__c).
  const event = conn.sobject('Event');
  const first = await event.upsert(
    { Booking_Id__c: 'bk-js-1', Subject: 'Intro', StartDateTime: '2026-12-01T10:00:00.000Z', DurationInMinutes: 30 },
    'Booking_Id__c',
  );
  check(first.success && first.created === true, `upsert creates: ${show(first)}`);
  const second = await event.upsert({ Booking_Id__c: 'bk-js-1', Subject: 'Moved' }, 'Booking_Id__c');
  check(second.success && second.created === false, `upsert updates: ${show(second)}`);

  // Load through sObject Collections (jsforce splits arrays into 200s), then query it.
  const companies = ['Alpha', 'Beta', 'Gamma'];
  const records = Array.from({ length: LOAD }, (_, i) => ({
    LastName: `JsLoad-${String(i).padStart(4, '0')}`,
    Company: companies[i % 3],
  }));
  const results = await lead.create(records, { allOrNone: true, allowRecursive: true });
  check(results.length === LOAD && results.every((r) => r.success), `collections create: ${show(results.slice(0, 2))}`);
  const ids = results.map((r) => r.id);
  const tooMany = Array.from({ length: 201 }, () => ({ LastName: 'x', Company: 'c' }));
  await expectError(lead.create(tooMany, { allOrNone: true }), 'EXCEEDED_ID_LIMIT', '201 records');

  const picked = await conn.query(
    "SELECT Id, LastName FROM Lead WHERE Company IN ('Alpha', 'Beta') AND LastName LIKE 'JsLoad-01%' " +
      'ORDER BY LastName DESC LIMIT 5',
  );
  const names = picked.records.map((r) => r.LastName);
  check(
    show(names) === show(['JsLoad-0199', 'JsLoad-0198', 'JsLoad-0196', 'JsLoad-0195', 'JsLoad-0193']),
    `IN/LIKE/ORDER BY/LIMIT: ${show(names)}`,
  );
  const soql = "SELECT Id FROM Lead WHERE LastName LIKE 'JsLoad-%'";
  const page = await conn.query(soql);
  check(!page.done && page.records.length === 2000 && page.totalSize === LOAD, `first page: ${page.records.length}`);
  const more = await conn.queryMore(page.nextRecordsUrl);
  check(more.done && more.records.length === LOAD - 2000, `queryMore: ${more.records.length}`);
  const all = await conn.query(soql).run({ autoFetch: true, maxFetch: 10000 });
  check(all.records.length === LOAD, `autoFetch: ${all.records.length}`);
  const count = await lead.count({ LastName: { $like: 'JsLoad-%' } });
  check(count === LOAD, `count(): ${count}`);
  const today = await conn.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'JsLoad-%' AND CreatedDate = LAST_N_DAYS:1");
  check(today.totalSize === LOAD, `date literal: ${today.totalSize}`);

  // Collections update with allOrNone: one bad record rolls both back.
  const rolled = await lead.update(
    [
      { Id: ids[0], Company: 'Renamed' },
      { Id: ids[1], NoSuchField__c: 'x' },
    ],
    { allOrNone: true },
  );
  check(rolled.every((r) => !r.success), `allOrNone update: ${show(rolled)}`);
  check(rolled[0].errors[0].statusCode === 'ALL_OR_NONE_OPERATION_ROLLED_BACK', `rolled back: ${show(rolled[0])}`);
  check(rolled[1].errors[0].statusCode === 'INVALID_FIELD', `the bad record's own error: ${show(rolled[1])}`);
  const fetched = await lead.retrieve(ids.slice(0, 2), { fields: ['Company'] });
  check(fetched[0].Company === 'Alpha', `the valid record was rolled back: ${show(fetched)}`);

  // Collections delete, then queryAll sees the tombstones.
  const deleted = await lead.destroy(ids.slice(0, 3), { allOrNone: true });
  check(deleted.length === 3 && deleted.every((r) => r.success), `collections delete: ${show(deleted)}`);
  const live = await lead.count({ LastName: { $like: 'JsLoad-%' } });
  check(live === LOAD - 3, `live after delete: ${live}`);
  const withDeleted = await conn.query("SELECT Id, IsDeleted FROM Lead WHERE LastName LIKE 'JsLoad-%' AND IsDeleted = true", { scanAll: true });
  check(withDeleted.totalSize === 3 && withDeleted.records.every((r) => r.IsDeleted), `queryAll: ${show(withDeleted)}`);

  // Composite, Composite Batch and Composite Graph through raw requests.
  const composite = await conn.requestPost('/composite', {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `/services/data/v${VERSION}/sobjects/Lead`, referenceId: 'NewLead', body: { LastName: 'Hopper', Company: 'Navy' } },
      { method: 'GET', url: `/services/data/v${VERSION}/sobjects/Lead/@{NewLead.id}?fields=LastName`, referenceId: 'ReadBack' },
    ],
  });
  const statuses = composite.compositeResponse.map((a) => a.httpStatusCode);
  check(show(statuses) === '[201,200]' && composite.compositeResponse[1].body.LastName === 'Hopper', `composite: ${show(composite)}`);
  const batch = await conn.requestPost('/composite/batch', {
    haltOnError: true,
    batchRequests: [
      { method: 'GET', url: `v${VERSION}/sobjects/Lead/${ids[5]}?fields=LastName` },
      { method: 'GET', url: `v${VERSION}/sobjects/Lead/${ids[0]}` },
      { method: 'GET', url: `v${VERSION}/limits` },
    ],
  });
  check(batch.hasErrors && show(batch.results.map((r) => r.statusCode)) === '[200,404,412]', `batch: ${show(batch)}`);
  const graph = await conn.requestPost('/composite/graph', {
    graphs: [
      { graphId: 'ok', compositeRequest: [{ method: 'POST', url: `/services/data/v${VERSION}/sobjects/Lead`, referenceId: 'L', body: { LastName: 'Graph', Company: 'Ok' } }] },
      { graphId: 'bad', compositeRequest: [{ method: 'POST', url: `/services/data/v${VERSION}/sobjects/Lead`, referenceId: 'L', body: { LastName: 'Graph' } }] },
    ],
  });
  check(show(graph.graphs.map((g) => g.isSuccessful)) === '[true,false]', `graph: ${show(graph)}`);

  // Refusals jsforce surfaces with Salesforce's error codes.
  await expectError(conn.query('SELECT Bogus FROM Lead'), 'INVALID_FIELD', 'bad field');
  await expectError(conn.query('SELECT Id FROM Nope'), 'INVALID_TYPE', 'bad object');
  await expectError(conn.query('SELECT Id FORM Lead'), 'MALFORMED_QUERY', 'bad syntax');
  await expectError(lead.create({ LastName: 'NoCompany' }), 'REQUIRED_FIELD_MISSING', 'missing Company');

  // API usage, as jsforce reads it from Sforce-Limit-Info.
  const usage = conn.limitInfo.apiUsage;
  check(usage && usage.used > 20 && usage.limit === 15000, `limitInfo: ${show(conn.limitInfo)}`);
}

const env = process.env;
try {
  await run(env.PORTICO_EMULATOR_URL, env.PORTICO_CLIENT_ID, env.PORTICO_CLIENT_SECRET);
  console.log('jsforce suite passed');
} catch (e) {
  console.error(`jsforce suite FAILED: ${e instanceof Failed ? e.message : e.stack || e}`);
  process.exit(1);
}
