/**
 * The engine's order over a plan's `after` links (pure): a topological order
 * of the actions, each after every action its links name.
 *
 * Rules:
 * - A link names an action (`kind:op:target`), every action of a kind and op
 *   (`kind:op`) or every action of a kind (`kind`); a link naming no action
 *   of the plan holds (nothing is left to do there).
 * - Among the actions whose links all hold, the one first in the plan goes
 *   first: the same plan always runs in the same order, and the links only
 *   move an action later.
 * - A cycle is an error naming it; so is an action linked after itself.
 */
import { AxeError, terminal, transient } from '../core/errors.js';
import { type Action, type ActionId, actionId } from './types.js';

/** The link names the action. */
export function linkNames(link: ActionId, id: ActionId): boolean {
  return id === link || id.startsWith(`${link}:`);
}

/** For each action (by index), the indexes of the actions it must come after. */
function edges(actions: readonly Action[]): number[][] {
  const ids = actions.map(actionId);
  return actions.map((a, i) => {
    const before = new Set<number>();
    for (const link of a.after ?? []) {
      ids.forEach((id, j) => {
        if (!linkNames(link, id)) return;
        if (j === i) {
          // A kind-wide link (`kind`, `kind:op`) naming its own action too is not a cycle; an exact self-link is.
          if (link === id) throw terminal(`the action ${id} is linked after itself`, { fix: 'remove the link from its after list' });
          return;
        }
        before.add(j);
      });
    }
    return [...before];
  });
}

/** The actions in the order their links allow, plan order among the free ones; throws on a cycle. */
export function orderActions<A extends Action>(actions: readonly A[]): A[] {
  return orderBy(actions, edges(actions));
}

/** orderActions over edges already computed. */
function orderBy<A extends Action>(actions: readonly A[], before: number[][]): A[] {
  const waiting = before.map((b) => b.length);
  const next: number[][] = actions.map(() => []);
  before.forEach((b, i) => b.forEach((j) => next[j]!.push(i)));
  const done = new Set<number>();
  const out: A[] = [];
  while (out.length < actions.length) {
    const i = waiting.findIndex((w, k) => w === 0 && !done.has(k));
    if (i < 0) throw terminal(`the actions' after links form a cycle: ${describeCycle(actions, before, done)}`, { fix: 'remove one of the links of the cycle' });
    done.add(i);
    out.push(actions[i]!);
    for (const k of next[i]!) waiting[k]!--;
  }
  return out;
}

/** One cycle among the actions not done, as `a → b → a` (each waits for the next). */
function describeCycle(actions: readonly Action[], before: number[][], done: Set<number>): string {
  let at = before.findIndex((_, k) => !done.has(k));
  const path: number[] = [];
  while (!path.includes(at)) {
    path.push(at);
    at = before[at]!.find((j) => !done.has(j))!;
  }
  const cycle = [...path.slice(path.indexOf(at)), at];
  return cycle.map((k) => actionId(actions[k]!)).join(' → ');
}

/**
 * A step run beside a plan's actions (the engine's observations after them):
 * it starts once every action its links name has succeeded, and never when
 * one of them failed. It must not throw.
 */
export interface FollowUp {
  after: ActionId[];
  run: () => Promise<void>;
}

/**
 * Runs a plan by its links: an action starts once every action it is linked
 * after has succeeded, so independent chains run side by side. An action
 * without `after` comes after the one before it in the plan (a plan without
 * links runs one action at a time, in plan order). An action linked after one
 * that failed is not started. Every started action (and follow-up) settles
 * before the first failure (in plan order) is thrown; when several failed and
 * the first is an AxeError, the others' messages are appended to it
 * (`…; also …`), terminal when any of them is.
 */
export async function runByLinks<A extends Action>(actions: readonly A[], run: (action: A) => Promise<void>, followUps: readonly FollowUp[] = []): Promise<void> {
  const linked = actions.map((a, i): A => (a.after !== undefined || i === 0 ? a : { ...a, after: [actionId(actions[i - 1]!)] }));
  const before = edges(linked);
  orderBy(linked, before); // a cycle throws before anything starts
  const outcome = new Map<number, Promise<boolean>>();
  const failures: Array<{ at: number; error: unknown }> = [];
  const start = (i: number): Promise<boolean> => {
    let p = outcome.get(i);
    if (!p) {
      p = (async () => {
        const ok = await Promise.all(before[i]!.map(start));
        if (!ok.every(Boolean)) return false;
        try {
          await run(actions[i]!);
          return true;
        } catch (error) {
          failures.push({ at: i, error });
          return false;
        }
      })();
      outcome.set(i, p);
    }
    return p;
  };
  const ids = linked.map(actionId);
  const following = followUps.map(async (f) => {
    const waits = ids.flatMap((id, i) => (f.after.some((link) => linkNames(link, id)) ? [start(i)] : []));
    if ((await Promise.all(waits)).every(Boolean)) await f.run();
  });
  await Promise.all([...actions.map((_, i) => start(i)), ...following]);
  if (failures.length > 0) throw combined(failures.sort((a, b) => a.at - b.at).map((f) => f.error));
}

/** The first failure, with the others' messages appended when it is an AxeError. */
function combined([first, ...rest]: unknown[]): unknown {
  if (rest.length === 0 || !(first instanceof AxeError)) return first;
  const others = rest.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  const make = first.class === 'terminal' || rest.some((e) => e instanceof AxeError && e.class === 'terminal') ? terminal : transient;
  return make(`${first.message}; also ${others}`, { ...(first.customer ? { customer: first.customer } : {}), ...(first.resource ? { resource: first.resource } : {}), ...(first.fix ? { fix: first.fix } : {}) });
}
