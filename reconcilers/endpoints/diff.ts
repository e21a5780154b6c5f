/**
 * Public endpoints: each declared service's public health path answers 200
 * through the customer's tunnel (`https://{public_domain}{path}`), the
 * runbook's D+1 `axe health`. Status only: nothing is ever changed.
 */
import type { CustomersFile } from '../../schemas/customers.js';
import type { ServiceManifest } from '../../schemas/service-manifest.js';
import type { Action, Health } from '../types.js';

export interface EndpointsDesired {
  customer: string;
  endpoints: Array<{ service: string; url: string }>;
}

export type EndpointsObserved = Map<string, { status: number; detail: string }>;

/** The public health URLs of the customer's declared services (optionally only `services`), in service order. */
export function desiredEndpoints(customers: CustomersFile, manifests: Map<string, ServiceManifest>, id: string, order: readonly string[], services?: readonly string[]): EndpointsDesired | null {
  const customer = customers.customers[id];
  if (!customer) return null;
  const endpoints = order.flatMap((service) => {
    const path = manifests.get(service)?.health.public?.path;
    if (!path || !customers.services[service]?.[id] || (services && !services.includes(service))) return [];
    return [{ service, url: `https://${customer.public_domain}${path}` }];
  });
  return endpoints.length ? { customer: id, endpoints } : null;
}

/** Never anything to do: endpoints are observed and reported. */
export function diffEndpoints(): Action[] {
  return [];
}

export function healthEndpoints(desired: EndpointsDesired, observed: EndpointsObserved | null): Health {
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'not checked' };
  const failed = desired.endpoints.filter((e) => observed.get(e.url)?.status !== 200);
  if (failed.length) {
    return { status: 'Degraded', reason: 'EndpointDown', message: failed.map((e) => `${e.url}: ${observed.get(e.url)?.detail ?? 'not checked'}`).join('; ') };
  }
  return { status: 'Healthy', reason: 'Answering', message: `${desired.endpoints.length} public endpoint(s) answer 200: ${desired.endpoints.map((e) => e.service).join(', ')}` };
}
