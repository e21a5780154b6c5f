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
 * - A cycle is an error naming it; so is an action that names itself or two
 *   actions with one id.
 */
import { terminal } from '../core/errors.js';
import { type Action, type ActionId, actionId } from './types.js';

/** The link names the action. */
export function linkNames(link: ActionId, id: ActionId): boolean {
  return id === link || id.startsWith(`${link}:`);
}

/** For each action (by index), the indexes of the actions it must come after. */
function edges(actions: readonly Action[]): number[][] {
  const ids = actions.map(actionId);
  const seen = new Set<ActionId>();
  for (const id of ids) {
    if (seen.has(id)) throw terminal(`two actions of one plan are both ${id}`, { fix: 'give each action its own target' });
    seen.add(id);
  }
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
  const before = edges(actions);
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
