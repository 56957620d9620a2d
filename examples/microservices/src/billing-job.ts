import { type LockLease, SwitchyardError, withLock } from '@switchyard/core';
import type { Clients } from './cluster.js';

/**
 * A resource protected by fencing tokens: it remembers the highest token it has seen and rejects
 * writes carrying an older one, which is what makes a lock safe when a holder stalls.
 */
export class FencedLedger {
  #highest = 0n;
  readonly entries: string[] = [];

  write(token: bigint, entry: string): void {
    if (token < this.#highest) {
      throw new SwitchyardError(
        'CONFLICT',
        `[demo] stale fencing token ${token} (ledger has seen ${this.#highest})`,
      );
    }
    this.#highest = token;
    this.entries.push(`${entry} (token ${token})`);
  }
}

/** Two billing workers race for the nightly job; the lock admits one at a time, in order. */
export async function runBillingWorkers(
  workers: Clients[],
  ledger: FencedLedger,
  log: (line: string) => void,
) {
  const tokens: bigint[] = [];
  await Promise.all(
    workers.map((clients, n) =>
      withLock(
        clients.locks,
        'jobs/nightly-billing',
        async (signal, lease: LockLease) => {
          tokens.push(lease.token);
          log(`  worker-${n}: holds the billing lock with fencing token ${lease.token}`);
          await new Promise((r) => setTimeout(r, 50));
          if (!signal.aborted) ledger.write(lease.token, `invoice batch by worker-${n}`);
        },
        { ttl: 2000, wait: 5000 },
      ),
    ),
  );
  return tokens;
}

/** A holder that stops renewing loses the lock; its late write is refused by the ledger. */
export async function demonstrateStaleHolder(
  a: Clients,
  b: Clients,
  ledger: FencedLedger,
  log: (line: string) => void,
) {
  const stalled = await a.locks.acquire('jobs/reconcile', { ttl: 200, autoRenew: false });
  log(`  worker-a: holds reconcile lock (token ${stalled.token}) and stalls past its TTL...`);
  const next = await b.locks.acquire('jobs/reconcile', { ttl: 2000, wait: 2000 });
  log(
    `  worker-b: took over with token ${next.token}; worker-a's lease signal aborted: ${stalled.signal.aborted}`,
  );
  ledger.write(next.token, 'reconcile by worker-b');
  let refused = false;
  try {
    ledger.write(stalled.token, 'late reconcile by worker-a');
  } catch (error) {
    refused = SwitchyardError.is(error, 'CONFLICT');
    log(`  ledger: refused worker-a's late write: ${(error as Error).message}`);
  }
  await next.release();
  return { refused, stalledToken: stalled.token, nextToken: next.token };
}
