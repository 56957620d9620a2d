import type { K8sEmulator } from '@switchyard/testkit/emulators/k8s';
import { slice } from './helpers.js';

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Pod {
  pod: string;
  ready: boolean;
}

/**
 * The truth: a service's slices as the test wrote them to the emulator. Random changes add and
 * remove pods, flip readiness, create and delete slices; `expected()` is what a watcher with the
 * default filter (passing only) must end up seeing.
 */
export class Churn {
  readonly #k8s: K8sEmulator;
  readonly #ns: string;
  readonly #service: string;
  readonly #random: () => number;
  readonly #slices = new Map<string, Pod[]>();
  #next = 0;
  changes = 0;

  constructor(k8s: K8sEmulator, namespace: string, service: string, seed: number) {
    this.#k8s = k8s;
    this.#ns = namespace;
    this.#service = service;
    this.#random = prng(seed);
  }

  #write(name: string): void {
    const pods = this.#slices.get(name);
    if (pods === undefined) this.#k8s.remove('EndpointSlice', this.#ns, name);
    else
      this.#k8s.apply(
        slice(
          this.#ns,
          this.#service,
          name,
          pods.map((p) => ({ pod: p.pod, ready: p.ready })),
        ),
      );
    this.changes++;
  }

  /** Creates `slices` slices of `pods` ready pods each. */
  seed(slices: number, pods: number): void {
    for (let s = 0; s < slices; s++) {
      const name = `${this.#service}-${s}`;
      this.#slices.set(
        name,
        Array.from({ length: pods }, () => ({ pod: `pod-${++this.#next}`, ready: true })),
      );
      this.#write(name);
    }
  }

  /** One random change. */
  step(): void {
    const names = [...this.#slices.keys()];
    const r = this.#random();
    const name = names[Math.floor(this.#random() * names.length)];
    if (name === undefined || r < 0.08) {
      const fresh = `${this.#service}-n${++this.#next}`;
      this.#slices.set(fresh, [{ pod: `pod-${++this.#next}`, ready: true }]);
      this.#write(fresh);
      return;
    }
    const pods = this.#slices.get(name)!;
    if (r < 0.12 && names.length > 1) this.#slices.delete(name);
    else if (r < 0.45) pods.push({ pod: `pod-${++this.#next}`, ready: this.#random() < 0.8 });
    else if (r < 0.7 && pods.length > 0) pods.splice(Math.floor(this.#random() * pods.length), 1);
    else if (pods.length > 0) {
      const p = pods[Math.floor(this.#random() * pods.length)]!;
      p.ready = !p.ready;
    } else pods.push({ pod: `pod-${++this.#next}`, ready: true });
    this.#write(name);
  }

  expected(): string[] {
    return [...this.#slices.values()]
      .flat()
      .filter((p) => p.ready)
      .map((p) => p.pod)
      .sort();
  }
}
