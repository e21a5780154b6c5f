import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AdminsDesired, type AdminsObserved, diffAdmins, healthAdmins, parseAdminListing } from './diff.js';
import { parseAdminsSection } from './index.js';
import { frame } from '../../providers/host/facts/fact.js';

const target = (command: string[]) => ({ service: 'blueprint', project: 'acme-blueprint', container: 'blueprint', blueGreen: null, command });
const hook = { service: 'blueprint', hook: 'admins', list: target(['blueprint', 'list-admins', '--json']), grant: target(['blueprint', 'set-role', '--email', '{admin.email}', '--role', 'admin']), remove: target(['blueprint', 'set-role', '--email', '{admin.email}', '--role', 'user']) };
const keep: AdminsDesired = { customer: 'acme', admins: ['cfo@acme.example.com', 'it@acme.example.com'], policy: 'keep', hooks: [hook] };
const listed = (...admins: string[]): AdminsObserved => new Map([['blueprint/admins', { state: 'listed', admins: new Set(admins) }]]);

describe('admins diff', () => {
  test('converged: every listed e-mail is admin, nothing planned, Healthy', () => {
    const observed = listed('it@acme.example.com', 'cfo@acme.example.com');
    assert.deepEqual(diffAdmins(keep, observed), []);
    assert.deepEqual(healthAdmins(keep, observed), { status: 'Healthy', reason: 'Admins', message: '2 admin(s) set in blueprint' });
  });

  test('a missing admin is granted once; an admin not in the list is kept under keep (named in the message)', () => {
    const observed = listed('cfo@acme.example.com', 'owner@acme.example.com');
    const actions = diffAdmins(keep, observed);
    assert.deepEqual(actions.map((a) => [a.op, a.target]), [['grant', 'admin:blueprint/it@acme.example.com']]);
    assert.equal(healthAdmins(keep, observed).reason, 'NotAdmin');
    const converged = listed('cfo@acme.example.com', 'it@acme.example.com', 'owner@acme.example.com');
    assert.deepEqual(diffAdmins(keep, converged), []);
    assert.match(healthAdmins(keep, converged).message, /also admin, kept \(admins_policy keep\): owner@acme\.example\.com in blueprint/);
  });

  test('demote-others: the unlisted admin is demoted, Degraded until then; without a remove command it is Degraded CannotDemote, nothing planned', () => {
    const strict: AdminsDesired = { ...keep, policy: 'demote-others' };
    const observed = listed('cfo@acme.example.com', 'it@acme.example.com', 'owner@acme.example.com');
    assert.deepEqual(diffAdmins(strict, observed).map((a) => [a.op, a.payload.email]), [['demote', 'owner@acme.example.com']]);
    assert.equal(healthAdmins(strict, observed).reason, 'UnlistedAdmin');
    const noRemove: AdminsDesired = { ...strict, hooks: [{ ...hook, remove: null }] };
    assert.deepEqual(diffAdmins(noRemove, observed), []);
    assert.equal(healthAdmins(noRemove, observed).reason, 'CannotDemote');
    // An empty list under demote-others removes every admin.
    assert.deepEqual(diffAdmins({ ...strict, admins: [] }, listed('a@x.io')).map((a) => a.op), ['demote']);
  });

  test('a service not running gets every grant, marked so; a failing list plans nothing and is Degraded', () => {
    const down: AdminsObserved = new Map([['blueprint/admins', { state: 'down' }]]);
    assert.match(diffAdmins(keep, down)[0]!.summary, /\(once blueprint runs\)/);
    assert.equal(healthAdmins(keep, down).reason, 'ServiceDown');
    const failed: AdminsObserved = new Map([['blueprint/admins', { state: 'error', message: 'exit 1' }]]);
    assert.deepEqual(diffAdmins(keep, failed), []);
    assert.equal(healthAdmins(keep, failed).status, 'Degraded');
  });

  test('listings: e-mails or objects with email, lower-cased; the host section parsed per hook', () => {
    assert.deepEqual([...parseAdminListing('["A@x.io",{"email":"b@x.io","role":"admin"},{"x":1}]')], ['a@x.io', 'b@x.io']);
    assert.throws(() => parseAdminListing('{}'), /JSON array/);
    const parsed = parseAdminsSection(frame('blueprint/admins', '[{"email":"cfo@acme.example.com"}]\n'), keep);
    assert.deepEqual(parsed.get('blueprint/admins'), { state: 'listed', admins: new Set(['cfo@acme.example.com']) });
    assert.deepEqual(parseAdminsSection('', keep).get('blueprint/admins'), { state: 'down' });
    assert.deepEqual(parseAdminsSection(frame('blueprint/admins', 'boom\nagain\n', 2), keep).get('blueprint/admins'), { state: 'error', message: 'blueprint list-admins --json failed (exit 2): boom again' });
    assert.match((parseAdminsSection(frame('blueprint/admins', '{}'), keep).get('blueprint/admins') as { message: string }).message, /: the list command did not print a JSON array$/);
  });
});
