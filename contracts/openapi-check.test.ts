import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadContract } from './openapi-check.js';
import type { Contract, Exchange } from './openapi-check.js';

/** A tiny spec in the shape of Cloudflare's: an envelope with allOf, a paged list, a deprecated field. */
const SPEC = `
openapi: 3.0.3
info: { title: tiny, version: '1' }
paths:
  /trash:
    delete:
      operationId: emptyTrash
      requestBody:
        required: true
        content:
          application/json: {}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: { $ref: '#/components/schemas/envelope' }
  /things:
    get:
      operationId: listThings
      parameters:
        - { name: page, in: query, schema: { type: number, minimum: 1 } }
        - { name: name, in: query, schema: { type: string } }
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: { $ref: '#/components/schemas/thing-list' }
        4XX:
          description: failure
          content:
            application/json:
              schema: { $ref: '#/components/schemas/failure' }
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: { type: string, maxLength: 10 }
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                allOf:
                  - $ref: '#/components/schemas/envelope'
                  - properties: { result: { $ref: '#/components/schemas/thing' } }
components:
  schemas:
    envelope:
      type: object
      required: [success, errors]
      properties:
        success: { type: boolean }
        errors: { type: array, items: { $ref: '#/components/schemas/message' } }
    failure:
      allOf:
        - $ref: '#/components/schemas/envelope'
        - properties: { success: { type: boolean, enum: [false] } }
    message:
      type: object
      required: [code, message]
      properties:
        code: { type: integer }
        message: { type: string }
    thing:
      type: object
      properties:
        id: { type: string }
        status: { type: string, enum: [up, down] }
        legs:
          type: array
          deprecated: true
          items: { type: object, properties: { id: { type: string } } }
    thing-list:
      allOf:
        - $ref: '#/components/schemas/envelope'
        - properties:
            result: { type: array, items: { $ref: '#/components/schemas/thing' } }
            result_info:
              type: object
              properties: { page: { type: number }, total_pages: { type: number } }
`;

const OK_LIST: Exchange = {
  method: 'GET',
  path: '/things',
  query: { page: '2', name: 'a' },
  status: 200,
  responseBody: { success: true, errors: [], result: [{ id: 't1', status: 'up', legs: [] }], result_info: { page: 2, total_pages: 2 } },
};

describe('openapi-check', () => {
  let dir = '';
  let contract: Contract;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'axe-openapi-check-'));
    const file = join(dir, 'spec.yaml');
    await writeFile(file, SPEC);
    contract = await loadContract(file);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes a conforming request and response, with the query coerced from strings', () => {
    assert.deepEqual(contract.check(OK_LIST), []);
    assert.deepEqual(contract.check({ method: 'POST', path: '/things', requestBody: { name: 'x' }, status: 200, responseBody: { success: true, errors: [], result: { id: 't2' } } }), []);
  });

  it('passes a documented error envelope under a 4XX range', () => {
    assert.deepEqual(contract.check({ method: 'GET', path: '/things', status: 429, responseBody: { success: false, errors: [{ code: 10000, message: 'slow down' }] } }), []);
  });

  it('fails an unknown route and an unknown method', () => {
    assert.deepEqual(contract.check({ ...OK_LIST, path: '/nothings' }).map((v) => v.where), ['route']);
    assert.deepEqual(contract.check({ ...OK_LIST, method: 'DELETE' }).map((v) => v.where), ['route']);
  });

  it('fails an undeclared query parameter and one of the wrong type', () => {
    const unknown = contract.check({ ...OK_LIST, query: { per_page: '5' } });
    assert.equal(unknown.length, 1);
    assert.equal(unknown[0]?.where, 'request');
    assert.match(unknown[0]?.message ?? '', /additional properties.*per_page/);
    const wrong = contract.check({ ...OK_LIST, query: { page: 'two' } });
    assert.equal(wrong[0]?.where, 'request');
    assert.match(wrong[0]?.message ?? '', /query\/page must be number/);
  });

  it('fails a request body that breaks its schema, and a body sent where none is taken', () => {
    const bad = contract.check({ method: 'POST', path: '/things', requestBody: { name: 'far too long a name' }, status: 200, responseBody: { success: true, errors: [] } });
    assert.deepEqual(bad.map((v) => v.where), ['request']);
    assert.match(bad[0]?.message ?? '', /requestBody\/name must NOT have more than 10 characters/);
    const missing = contract.check({ method: 'POST', path: '/things', requestBody: {}, status: 200, responseBody: { success: true, errors: [] } });
    assert.match(missing[0]?.message ?? '', /must have required property 'name'/);
    const stray = contract.check({ ...OK_LIST, requestBody: { name: 'x' } });
    assert.deepEqual(stray.map((v) => v.message), ['the operation takes no request body']);
  });

  it('fails a request without the body its operation requires, with a body schema or without one', () => {
    const none = contract.check({ method: 'POST', path: '/things', status: 200, responseBody: { success: true, errors: [] } });
    assert.deepEqual(
      none.map((v) => [v.where, v.message]),
      [['request', `/ must have required property 'requestBody' {"missingProperty":"requestBody"}`]],
    );
    // A required JSON body whose media type names no schema (Cloudflare's DELETEs: `application/json: {}`).
    const bare = contract.check({ method: 'DELETE', path: '/trash', status: 200, responseBody: { success: true, errors: [] } });
    assert.deepEqual(
      bare.map((v) => [v.where, v.message]),
      [['request', 'the operation requires a request body']],
    );
    assert.deepEqual(contract.check({ method: 'DELETE', path: '/trash', requestBody: {}, status: 200, responseBody: { success: true, errors: [] } }), []);
  });

  it('fails a response field of the wrong type, a missing envelope field and an undocumented field', () => {
    const wrongType = contract.check({ ...OK_LIST, responseBody: { success: true, errors: [], result: [{ id: 7 }] } });
    assert.deepEqual(wrongType.map((v) => v.where), ['response']);
    assert.match(wrongType[0]?.message ?? '', /\/result\/0\/id must be string/);
    const badEnum = contract.check({ ...OK_LIST, responseBody: { success: true, errors: [], result: [{ status: 'sideways' }] } });
    assert.match(badEnum[0]?.message ?? '', /\/result\/0\/status must be equal to one of the allowed values/);
    const noErrors = contract.check({ ...OK_LIST, responseBody: { success: true, result: [] } });
    assert.match(noErrors[0]?.message ?? '', /must have required property 'errors'/);
    const extra = contract.check({ ...OK_LIST, responseBody: { success: true, errors: [], result: [{ id: 't1', colour: 'red' }] } });
    assert.deepEqual(extra.map((v) => v.message), ['result[0].colour is not in the response schema']);
  });

  it('fails a status the operation does not document', () => {
    const violations = contract.check({ method: 'POST', path: '/things', requestBody: { name: 'x' }, status: 409, responseBody: { success: false, errors: [] } });
    assert.deepEqual(violations, [{ exchange: 'POST /things -> 409', where: 'response', message: 'status 409 is not documented for createThing' }]);
  });

  it('passes reads of documented fields through envelopes and arrays', () => {
    assert.deepEqual(
      contract.checkFieldReads([
        { method: 'GET', path: '/things', status: 200, field: 'result[].status' },
        { method: 'GET', path: '/things', status: 200, field: 'result_info.total_pages' },
        { method: 'GET', path: '/things', status: 429, field: 'errors[].code' },
        { method: 'POST', path: '/things', status: 200, field: 'result.id' },
      ]),
      [],
    );
  });

  it('fails a read of a deprecated field, a missing field, and a field under an unknown operation', () => {
    const violations = contract.checkFieldReads([
      { method: 'GET', path: '/things', status: 200, field: 'result[].legs' },
      { method: 'GET', path: '/things', status: 200, field: 'result[].colour' },
      { method: 'GET', path: '/things', status: 200, field: 'result_info.count' },
      { method: 'PUT', path: '/things', status: 200, field: 'result.id' },
    ]);
    assert.deepEqual(violations, [
      { exchange: 'GET /things -> 200', where: 'field', message: 'result[].legs is deprecated in the spec' },
      { exchange: 'GET /things -> 200', where: 'field', message: 'result[].colour is not in the response schema' },
      { exchange: 'GET /things -> 200', where: 'field', message: 'result_info.count is not in the response schema' },
      { exchange: 'PUT /things -> 200', where: 'route', message: 'no operation PUT /things in the spec' },
    ]);
  });
});
