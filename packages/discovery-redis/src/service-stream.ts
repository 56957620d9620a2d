import { AsyncChannel } from '@switchyard/core';
import { type WatchBatch, type WatchChange, watchResetError } from '@switchyard/core/driver';
import { decodeInstance, PKG } from './instance-record.js';

/** An entry as ioredis returns it: `[id, [field, value, …]]`. */
export type StreamEntry = [id: string, fields: string[]];

/**
 * One driver `watch()` of one service: its position in the service's stream and the channel the
 * kit reads. Entries must follow each other by revision (one per change, same epoch): a gap means
 * the stream was trimmed past this reader (reset: the kit relists and diffs), another epoch means
 * the data was lost and recreated (the kit relists and replaces its view).
 */
export class ServiceStream {
  readonly service: string;
  readonly log: string;
  readonly channel: AsyncChannel<WatchBatch>;
  /** Stream id of the last entry delivered ('0-0' before the first). */
  lastId = '0-0';
  lastRev = 0;
  epoch = '';
  /** Sweeps in a row that saw a revision this reader has not delivered yet. */
  lagging = 0;
  /** Cluster mode: a fetch is running / another one was asked for meanwhile. */
  fetching = false;
  refetch = false;
  #started = false;
  readonly #onDone: (stream: ServiceStream) => void;

  constructor(service: string, log: string, onDone: (stream: ServiceStream) => void) {
    this.service = service;
    this.log = log;
    this.#onDone = onDone;
    this.channel = new AsyncChannel<WatchBatch>({ onReturn: () => this.#onDone(this) });
  }

  get done(): boolean {
    return this.channel.closed;
  }

  get started(): boolean {
    return this.#started && !this.done;
  }

  start(cursor: string, revision: number, epoch: string): void {
    this.lastId = cursor;
    this.lastRev = revision;
    this.epoch = epoch;
    this.#started = true;
  }

  /** Applies entries read after `lastId`. */
  accept(entries: readonly StreamEntry[]): void {
    if (this.done) return;
    const changes: WatchChange[] = [];
    for (const [id, fields] of entries) {
      let rev = Number.NaN;
      let epoch = '';
      let kind = '';
      let iid = '';
      let json: string | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const value = fields[i + 1]!;
        switch (fields[i]) {
          case 'r':
            rev = Number(value);
            break;
          case 'e':
            epoch = value;
            break;
          case 'k':
            kind = value;
            break;
          case 'i':
            iid = value;
            break;
          case 'v':
            json = value;
            break;
        }
      }
      if (epoch !== this.epoch) {
        this.#push(changes);
        this.regress(epoch, rev);
        return;
      }
      if (rev !== this.lastRev + 1) {
        this.#push(changes);
        this.fail(
          watchResetError(
            PKG,
            `the stream of ${this.service} holds revision ${rev} after ${this.lastRev} (trimmed past this reader)`,
          ),
        );
        return;
      }
      const instance =
        kind === 'p' && json !== undefined ? decodeInstance(this.service, iid, json) : undefined;
      changes.push(instance ? { type: 'put', instance } : { type: 'delete', id: iid });
      this.lastRev = rev;
      this.lastId = id;
    }
    this.#push(changes);
  }

  /** The service's epoch is not the one this reader follows: hand the kit the new one (it relists). */
  regress(epoch: string, revision: number): void {
    if (this.done) return;
    this.channel.push({ revision: Number.isFinite(revision) ? revision : 0, epoch });
    this.close();
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.channel.fail(error);
    this.#onDone(this);
  }

  close(): void {
    if (this.done) return;
    this.channel.close();
    this.#onDone(this);
  }

  #push(changes: WatchChange[]): void {
    if (changes.length === 0) return;
    this.channel.push({ changes, revision: this.lastRev, epoch: this.epoch, cursor: this.lastId });
  }
}
