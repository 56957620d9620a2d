import type { LinkRecord, LinkVerdict, PodRecord, RoutingState } from '@switchyard/stateful-route';

/*
 * The routing rules of @switchyard/stateful-route (`route-model.ts`), restated here because the
 * console imports only types from the packages it drives (the user passes the store in, so the
 * console never loads a package it was not given). `test/routes-page.test.ts` checks these against
 * the package's own `judgeLink`, `acceptsNewUsers` and `placementCost` on every combination.
 */

export const ROUTING_STATES: readonly RoutingState[] = ['NORMAL', 'DRAINING', 'FORBIDDEN'];

/** Same as the package's `judgeLink`: why a stored link is (not) used as it is. */
export function judgeLink(link: LinkRecord, pod: PodRecord | undefined, now: number): LinkVerdict {
  if (link.till !== 0 && link.till <= now) return 'expired';
  if (pod === undefined || pod.deadline <= now) return 'dead';
  if (pod.epoch !== link.epoch) return 'epoch';
  if (pod.state === 'FORBIDDEN') return 'forbidden';
  if (pod.state === 'DRAINING' && pod.move) return 'drain';
  return 'ok';
}

/** Same as the package's `acceptsNewUsers`: live and `NORMAL` (and some capacity). */
export const acceptsNewUsers = (p: PodRecord, now: number): boolean =>
  p.deadline > now && p.state === 'NORMAL' && p.capacity > 0;

/** Same as the package's `placementCost`. */
export const placementCost = (p: PodRecord): number => ((p.links + 1) / p.capacity) * (1 + p.load / 100);

/** What a claim for a user without a valid link would do under the default `least-loaded` strategy. */
export interface NextPick {
  readonly strategy: 'least-loaded';
  /** The pods of lowest placement cost (a claim takes one of them: ties rotate). Empty: none accepts users. */
  readonly pods: readonly string[];
  readonly cost: number | null;
}

export function nextPick(pods: readonly PodRecord[], now: number): NextPick {
  let best: string[] = [];
  let cost = Number.POSITIVE_INFINITY;
  for (const p of pods) {
    if (!acceptsNewUsers(p, now)) continue;
    const c = placementCost(p);
    if (c < cost) {
      cost = c;
      best = [p.pod];
    } else if (c === cost) best.push(p.pod);
  }
  return { strategy: 'least-loaded', pods: best.sort(), cost: best.length ? cost : null };
}

/** What setting a pod's routing state does, in the package's own terms (README "Drain"). */
export function stateEffect(state: RoutingState, move: boolean, links: number): string {
  const users = `${links} linked user${links === 1 ? '' : 's'}`;
  if (state === 'NORMAL') return `takes new users again; its ${users} stay linked`;
  if (state === 'FORBIDDEN') {
    return `is never routed to: no new users, and its ${users} move to other pods at their next request`;
  }
  return move
    ? `takes no new users; its ${users} move at their next request (at most the callers' moveBudget per interval per service; the rest keep being served by it)`
    : `takes no new users; its ${users} stay on it until the pod releases them (removeLinkedPod), then the count goes down`;
}
