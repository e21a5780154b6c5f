/**
 * The endpoints reconciler: GETs every public health URL through the edge
 * (`providers.fetchPublic`), in parallel, and reports. It depends on no other
 * kind, so `axe health` costs only these requests.
 */
import { errorLine } from '../../core/errors.js';
import { serviceOrder } from '../../schemas/repo.js';
import type { ResourceReconciler } from '../runtime.js';
import { desiredEndpoints, diffEndpoints, type EndpointsDesired, type EndpointsObserved, healthEndpoints } from './diff.js';

export const endpointsReconciler: ResourceReconciler<EndpointsDesired, EndpointsObserved> = {
  kind: 'endpoints',
  dependsOn: [],
  desired(ctx) {
    const { customers, manifests } = ctx.env.state;
    return desiredEndpoints(customers, manifests, ctx.id, serviceOrder(manifests), ctx.env.services);
  },
  async observe(ctx, desired) {
    const results = await Promise.all(
      desired.endpoints.map(async (e): Promise<[string, { status: number; detail: string }]> => {
        try {
          const res = await ctx.env.providers.fetchPublic(e.url, 5000);
          return [e.url, { status: res.status, detail: `HTTP ${res.status}` }];
        } catch (error) {
          return [e.url, { status: 0, detail: errorLine(error) }];
        }
      }),
    );
    return new Map(results);
  },
  diff: () => diffEndpoints(),
  health: healthEndpoints,
  async act() {
    // Endpoints are reported, never changed.
  },
  reads: [],
};
