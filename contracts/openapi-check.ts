/**
 * A contract checker for HTTP exchanges against an OpenAPI 3.0 description.
 *
 * The tests record what the product sends and what a stand-in answers, then hold each
 * exchange to the published contract: the route and method exist, the parameters and
 * body match (a required body is present), the status is documented, the response body matches the schema for that
 * status and carries no field the schema does not name. The fields the product reads
 * are held to the same schemas: a read of a field the schema lacks, or marks
 * `deprecated: true`, is a violation. Validation is openapi-backend's (ajv under it).
 */
import { readFile } from 'node:fs/promises';
import { OpenAPIBackend } from 'openapi-backend';
import type { Operation } from 'openapi-backend';
import { parse } from 'yaml';

/** One request and its response, as recorded on the wire (body already parsed from JSON). */
export interface Exchange {
  method: string;
  /** The path without the query string, e.g. `/client/v4/zones` minus any server prefix the spec's paths lack. */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  requestBody?: unknown;
  status: number;
  responseBody: unknown;
}

/** Where an exchange or a read leaves the contract; `exchange` reads like `GET /x -> 200`. */
export interface Violation {
  exchange: string;
  where: 'route' | 'request' | 'response' | 'field';
  message: string;
}

/**
 * A field the product reads from a response: the operation by method and path template
 * as the spec spells it (`/accounts/{account_id}/cfd_tunnel`), the status whose schema
 * applies, and a dotted path where `[]` steps into array items (`result[].status`; a
 * leading `[].id` reads the items of a response that is itself an array).
 */
export interface FieldRead {
  method: string;
  path: string;
  status: number;
  field: string;
}

export interface Contract {
  /** Every way this exchange leaves the spec; empty when it conforms. */
  check(exchange: Exchange): Violation[];
  /** Every read of a field that the response schema lacks or marks deprecated. */
  checkFieldReads(reads: readonly FieldRead[]): Violation[];
}

/** A JSON schema as it sits in a dereferenced OpenAPI document; only the keywords walked here are named. */
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  additionalProperties?: boolean | Schema;
  deprecated?: boolean;
}

const FORMATS: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i,
  'url-encoded-date-time': /^\d{4}-\d{2}-\d{2}T\d{2}(%3A|:)\d{2}(%3A|:)\d{2}(\.\d+)?(Z|[+-]\d{2}(%3A|:)\d{2})$/i,
  uri: /^[a-z][a-z0-9+.-]*:\S*$/i,
  hostname: /^[a-z0-9*_.-]+$/i,
  email: /^[^@\s]+@[^@\s]+$/,
  ipv4: /^(\d{1,3}\.){3}\d{1,3}$/,
  ipv6: /^[0-9a-f:.]+$/i,
};

interface ResponseObject {
  content?: Record<string, { schema?: Schema }>;
}

/**
 * Loads an OpenAPI 3.0 description (YAML or JSON) and returns its checker.
 * Every operation must carry an operationId (the validators are keyed by it).
 */
export async function loadContract(file: string): Promise<Contract> {
  const text = await readFile(file, 'utf8');
  const document = (file.endsWith('.json') ? JSON.parse(text) : parse(text)) as Record<string, unknown>;
  const api = new OpenAPIBackend({
    definition: document as never,
    strict: false,
    quick: false,
    validate: true,
    coerceTypes: true,
    // The formats the specs use, checked rather than ignored (ajv knows none of them without ajv-formats).
    customizeAjv: (ajv) => {
      for (const [name, pattern] of Object.entries(FORMATS)) ajv.addFormat(name, pattern);
      return ajv;
    },
  });
  await api.init();
  return {
    check: (exchange) => checkExchange(api, exchange),
    checkFieldReads: (reads) => reads.flatMap((read) => checkFieldRead(api, read)),
  };
}

function label(exchange: Pick<Exchange, 'method' | 'path' | 'status'>): string {
  return `${exchange.method.toUpperCase()} ${exchange.path} -> ${exchange.status}`;
}

function checkExchange(api: OpenAPIBackend, exchange: Exchange): Violation[] {
  const name = label(exchange);
  const request = {
    method: exchange.method.toLowerCase(),
    path: exchange.path,
    query: exchange.query ?? {},
    headers: { ...(exchange.requestBody === undefined ? {} : { 'content-type': 'application/json' }), ...(exchange.headers ?? {}) },
    body: exchange.requestBody as never,
  };
  const operation = api.matchOperation(request);
  if (!operation) return [{ exchange: name, where: 'route', message: `no operation ${request.method.toUpperCase()} ${exchange.path} in the spec` }];
  const violations: Violation[] = [];
  const requestResult = api.validateRequest(request, operation);
  for (const error of requestResult.errors ?? []) {
    violations.push({ exchange: name, where: 'request', message: describe(error) });
  }
  if (exchange.requestBody !== undefined && !operation.requestBody) {
    violations.push({ exchange: name, where: 'request', message: 'the operation takes no request body' });
  }
  // openapi-backend checks a required body only through its schema; a media type without one
  // (Cloudflare's DELETEs: `application/json: {}`) is checked here.
  const body = operation.requestBody as { required?: boolean; content?: Record<string, { schema?: unknown }> } | undefined;
  if (exchange.requestBody === undefined && body?.required === true && !Object.values(body.content ?? {}).some((media) => media.schema !== undefined)) {
    violations.push({ exchange: name, where: 'request', message: 'the operation requires a request body' });
  }
  const response = responseFor(operation, exchange.status);
  if (!response) {
    violations.push({ exchange: name, where: 'response', message: `status ${exchange.status} is not documented for ${operation.operationId}` });
    return violations;
  }
  const responseResult = api.validateResponse(exchange.responseBody, operation, exchange.status);
  for (const error of responseResult.errors ?? []) {
    violations.push({ exchange: name, where: 'response', message: describe(error) });
  }
  const schema = response.content?.['application/json']?.schema;
  if (schema) {
    for (const field of undocumentedFields(exchange.responseBody, schema, '')) {
      violations.push({ exchange: name, where: 'response', message: `${field} is not in the response schema` });
    }
  }
  return violations;
}

function describe(error: { instancePath?: string; message?: string; params?: unknown }): string {
  const params = error.params && typeof error.params === 'object' && Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
  return `${error.instancePath || '/'} ${error.message ?? 'is invalid'}${params}`;
}

/** The response object for a status: the exact code, then `4XX`-style ranges, then `default`. */
function responseFor(operation: Operation, status: number): ResponseObject | undefined {
  const responses = (operation.responses ?? {}) as Record<string, ResponseObject>;
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses[`${String(status)[0]}xx`] ?? responses.default;
}

/** The branches a schema stands for: itself plus, recursively, its allOf/oneOf/anyOf members. */
function branches(schema: Schema): Schema[] {
  return [schema, ...[...(schema.allOf ?? []), ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].flatMap(branches)];
}

/**
 * Object keys in `value` that no branch of `schema` names, where the schema names its
 * properties and does not allow others. Free-form objects (no properties listed, or
 * additionalProperties allowed) are not walked.
 */
function undocumentedFields(value: unknown, schema: Schema, at: string): string[] {
  if (Array.isArray(value)) {
    const itemSchemas = branches(schema).flatMap((branch) => (branch.items ? [branch.items] : []));
    if (itemSchemas.length === 0) return [];
    return value.flatMap((item, index) => undocumentedFields(item, { anyOf: itemSchemas }, `${at}[${index}]`));
  }
  if (value === null || typeof value !== 'object') return [];
  const all = branches(schema);
  const named = new Map<string, Schema[]>();
  let freeForm = true;
  for (const branch of all) {
    if (typeof branch.additionalProperties === 'object' || branch.additionalProperties === true) return [];
    if (!branch.properties) continue;
    freeForm = false;
    for (const [key, property] of Object.entries(branch.properties)) named.set(key, [...(named.get(key) ?? []), property]);
  }
  if (freeForm) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = at ? `${at}.${key}` : key;
    const schemas = named.get(key);
    if (!schemas) return [path];
    return undocumentedFields(child, { anyOf: schemas }, path);
  });
}

function checkFieldRead(api: OpenAPIBackend, read: FieldRead): Violation[] {
  const name = `${read.method.toUpperCase()} ${read.path} -> ${read.status}`;
  const operation = api.getOperations().find((candidate) => candidate.method === read.method.toLowerCase() && candidate.path === read.path);
  if (!operation) return [{ exchange: name, where: 'route', message: `no operation ${read.method.toUpperCase()} ${read.path} in the spec` }];
  const schema = responseFor(operation, read.status)?.content?.['application/json']?.schema;
  if (!schema) return [{ exchange: name, where: 'field', message: `status ${read.status} has no JSON response schema, so ${read.field} cannot be read from it` }];
  let current: Schema[] = [schema];
  const steps = read.field.split('.');
  for (const [index, step] of steps.entries()) {
    const isArray = step.endsWith('[]');
    const key = isArray ? step.slice(0, -2) : step;
    if (key === '' && isArray) {
      // A leading `[]`: the response itself is an array (`[].id`).
      current = current.flatMap(branches).flatMap((branch) => (branch.items ? [branch.items] : []));
      if (current.length === 0) return [{ exchange: name, where: 'field', message: 'the response is not an array in the schema' }];
      continue;
    }
    const found = current.flatMap(branches).flatMap((branch) => (branch.properties?.[key] ? [branch.properties[key]] : []));
    const soFar = [...steps.slice(0, index), key].join('.');
    if (found.length === 0) return [{ exchange: name, where: 'field', message: `${soFar} is not in the response schema` }];
    if (found.flatMap(branches).some((branch) => branch.deprecated === true)) {
      return [{ exchange: name, where: 'field', message: `${soFar} is deprecated in the spec` }];
    }
    current = isArray ? found.flatMap(branches).flatMap((branch) => (branch.items ? [branch.items] : [])) : found;
    if (isArray && current.length === 0) return [{ exchange: name, where: 'field', message: `${soFar} is not an array in the response schema` }];
  }
  return [];
}
