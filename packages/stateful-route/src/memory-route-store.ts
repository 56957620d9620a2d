import {
  type Clock,
  closedError,
  invalidArgument,
  SwitchyardError,
  systemClock,
  throwIfAborted,
} from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import {
  acceptsNewUsers,
  judgeLink,
  type LinkRecord,
  PKG,
  type PodRecord,
  pickPod,
  placementCost,
} from './route-model.js';
import type { JudgedLink, PodPublication, RouteChange, RouteStore } from './route-store.js';

interface ServiceState {
  seq: number;
  pods: Map<string, Omit<PodRecord, 'links'>>;
  counts: Map<string, number>;
  links: Map<string, Map<string, LinkRecord>>;
  moves: { used: number; until: number };
}

export interface MemoryRouteStoreOptions {
  /** Store time (default the system clock). */
  clock?: Clock;
}

/**
 * The in-memory route store: the embedded default for one process (tests, single-node setups).
 * Same rules as the Redis store (route-model.ts), same conformance suite.
 */
export function createMemoryRouteStore(options: MemoryRouteStoreOptions = {}): RouteStore {
  const o = parseOptions(PKG, options, { clock: opt.clock().default(systemClock) });
  const clock = o.clock;
  const state = new Map<string, ServiceState>();
  const listeners = new Set<(change: RouteChange) => void>();
  let closed = false;

  const svc = (service: string): ServiceState => {
    let s = state.get(service);
    if (!s) {
      s = { seq: 0, pods: new Map(), counts: new Map(), links: new Map(), moves: { used: 0, until: 0 } };
      state.set(service, s);
    }
    return s;
  };
  const linksOf = (s: ServiceState, namespace: string) => {
    let m = s.links.get(namespace);
    if (!m) {
      m = new Map();
      s.links.set(namespace, m);
    }
    return m;
  };
  const full = (s: ServiceState, p: Omit<PodRecord, 'links'>): PodRecord => ({
    ...p,
    links: s.counts.get(`${p.pod}|${p.epoch}`) ?? 0,
  });
  const addCount = (s: ServiceState, pod: string, epoch: number, by: number) => {
    const f = `${pod}|${epoch}`;
    const n = (s.counts.get(f) ?? 0) + by;
    if (n <= 0) s.counts.delete(f);
    else s.counts.set(f, n);
  };
  const notify = (change: RouteChange) => {
    for (const l of listeners) queueMicrotask(() => l(change));
  };
  const announce = (service: string) => notify({ kind: 'pod', service });
  const enter = (signal?: AbortSignal) => {
    if (closed) throw closedError(PKG, 'route store');
    throwIfAborted(PKG, signal);
  };
  const record = (pod: string, epoch: number, p: PodPublication, now: number) => ({
    pod,
    epoch,
    state: p.state,
    load: p.load,
    capacity: p.capacity,
    deadline: now + p.ttl,
    ttl: p.ttl,
    move: p.move,
  });

  const store: RouteStore = {
    name: 'memory',
    async registerPod(service, pod, p, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      s.seq = Math.max(s.seq + 1, now);
      s.pods.set(pod, record(pod, s.seq, p, now));
      announce(service);
      return s.seq;
    },
    async heartbeatPod(service, pod, epoch, p, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      const cur = s.pods.get(pod);
      if (!cur || cur.epoch !== epoch || cur.deadline <= now) return false;
      s.pods.set(pod, record(pod, epoch, p, now));
      if (cur.state !== p.state || cur.move !== p.move) announce(service);
      return true;
    },
    async removePod(service, pod, epoch, signal) {
      enter(signal);
      const s = svc(service);
      if (s.pods.get(pod)?.epoch === epoch) {
        s.pods.delete(pod);
        announce(service);
      }
    },
    async listPods(service, signal) {
      enter(signal);
      const s = svc(service);
      return { now: clock.now(), pods: [...s.pods.values()].map((p) => full(s, p)) };
    },
    async suspectPod(service, pod, grace, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      const p = s.pods.get(pod);
      if (!p || p.deadline <= now) return true;
      if (now - (p.deadline - p.ttl) <= Math.max(grace, p.ttl / 2)) return false;
      s.pods.set(pod, { ...p, deadline: now });
      announce(service);
      return true;
    },
    async claim(namespace, service, uid, req, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      const links = linksOf(s, namespace);
      const link = links.get(uid);
      let from: string | undefined;
      let reason: ReturnType<typeof judgeLink> | undefined;
      if (link) {
        const p = s.pods.get(link.pod);
        let v = judgeLink(link, p && full(s, p), now);
        const spend = () => {
          if (s.moves.until <= now) s.moves = { used: 0, until: now + req.moveInterval };
          s.moves.used += 1;
          return s.moves.used <= req.moveBudget;
        };
        if (v === 'drain' && !spend()) v = 'ok';
        if (v === 'ok' && req.rebalance > 0 && link.till === 0 && p?.state === 'NORMAL') {
          const candidates = [...s.pods.values()]
            .map((x) => full(s, x))
            .filter((x) => acceptsNewUsers(x, now));
          const best = pickPod(candidates, req.strategy, req.r1, req.r2);
          const mine = full(s, p);
          const cost = (mine.links / mine.capacity) * (1 + mine.load / 100);
          if (best && best.pod !== link.pod && cost > req.rebalance * placementCost(best) && spend()) {
            addCount(s, link.pod, link.epoch, -1);
            links.set(uid, { pod: best.pod, epoch: best.epoch, till: 0 });
            addCount(s, best.pod, best.epoch, 1);
            return {
              pod: best.pod,
              epoch: best.epoch,
              outcome: 'moved',
              from: link.pod,
              reason: 'rebalance',
            };
          }
        }
        if (v === 'ok') {
          if (link.till !== 0) {
            links.set(uid, { ...link, till: 0 });
            addCount(s, link.pod, link.epoch, 1);
          }
          return { pod: link.pod, epoch: link.epoch, outcome: 'hit' };
        }
        if (v !== 'expired') {
          from = link.pod;
          reason = v;
          if (link.till === 0) addCount(s, link.pod, link.epoch, -1);
        }
      }
      const candidates = [...s.pods.values()].map((p) => full(s, p)).filter((p) => acceptsNewUsers(p, now));
      const best = pickPod(candidates, req.strategy, req.r1, req.r2);
      if (!best) {
        if (from !== undefined) links.delete(uid);
        return undefined;
      }
      links.set(uid, { pod: best.pod, epoch: best.epoch, till: 0 });
      addCount(s, best.pod, best.epoch, 1);
      if (from !== undefined) {
        return { pod: best.pod, epoch: best.epoch, outcome: 'moved', from, reason: reason as never };
      }
      return { pod: best.pod, epoch: best.epoch, outcome: 'created' };
    },
    async getLinks(namespace, service, uids, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      const links = linksOf(s, namespace);
      return uids.map((uid): JudgedLink | undefined => {
        const link = links.get(uid);
        if (!link || (link.till !== 0 && link.till <= now)) return undefined;
        const p = s.pods.get(link.pod);
        const v = judgeLink(link, p && full(s, p), now);
        return { ...link, valid: v === 'ok' || v === 'drain' };
      });
    },
    async setLink(namespace, service, uid, pod, mode, expect, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      const tp = s.pods.get(pod);
      if (!tp) throw invalidArgument(PKG, 'pod', `"${pod}" is not a pod of service "${service}"`);
      const links = linksOf(s, namespace);
      const link = links.get(uid);
      let current = '';
      let v: ReturnType<typeof judgeLink> | 'none' = 'none';
      if (link) {
        const lp = s.pods.get(link.pod);
        v = judgeLink(link, lp && full(s, lp), now);
        if (v === 'ok' || v === 'drain') current = link.pod;
      }
      if (mode === 'absent' && current !== '' && link) {
        return { pod: link.pod, epoch: link.epoch, changed: false, previous: link.pod };
      }
      if (mode === 'cas' && current !== expect) {
        if (!link || current === '') return { pod: '', epoch: 0, changed: false };
        return { pod: link.pod, epoch: link.epoch, changed: false, previous: link.pod };
      }
      if (tp.deadline <= now || tp.state === 'FORBIDDEN' || (mode === 'absent' && tp.state !== 'NORMAL')) {
        throw new SwitchyardError('CONFLICT', `[${PKG}] pod "${pod}" is not routable`);
      }
      if (link && current === pod && link.epoch === tp.epoch && link.till === 0) {
        return { pod, epoch: link.epoch, changed: false, previous: pod };
      }
      if (link && link.till === 0 && v !== 'expired') addCount(s, link.pod, link.epoch, -1);
      links.set(uid, { pod, epoch: tp.epoch, till: 0 });
      addCount(s, pod, tp.epoch, 1);
      if (current !== '' && current !== pod) notify({ kind: 'link', namespace, service, uid });
      return { pod, epoch: tp.epoch, changed: true, previous: current === '' ? undefined : current };
    },
    async removeLink(namespace, service, uid, pod, persistMs, signal) {
      enter(signal);
      const s = svc(service);
      const now = clock.now();
      const links = linksOf(s, namespace);
      const link = links.get(uid);
      if (!link || (pod !== '' && link.pod !== pod)) return false;
      if (link.till !== 0) {
        if (link.till <= now || persistMs === 0) links.delete(uid);
        return link.till > now;
      }
      addCount(s, link.pod, link.epoch, -1);
      if (persistMs > 0) links.set(uid, { ...link, till: now + persistMs });
      else links.delete(uid);
      notify({ kind: 'link', namespace, service, uid });
      return true;
    },
    async services(signal) {
      enter(signal);
      return [...state.keys()].filter((k) => state.get(k)!.seq > 0);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      closed = true;
      listeners.clear();
    },
    [Symbol.asyncDispose]() {
      return store.close();
    },
  };
  return store;
}
