import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  // A crashed test worker or an interrupted benchmark must not leave servers behind.
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // `once` removes the listener before it runs, so re-raising gives the default behaviour
    // (exit) unless the host installed its own handler.
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `switchyard-${prefix}-`));
}

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: () => string[];
  /** Resolves when the server answers; rejects or times out otherwise. */
  ready: (signal: AbortSignal) => Promise<void>;
  readyTimeout?: number;
  /** Directory removed on `stop()`. */
  dataDir?: string;
}

/**
 * One server process with the fault operations tests need: kill (SIGKILL), stop (SIGTERM),
 * restart (same port and data dir), pause (SIGSTOP) and resume (SIGCONT).
 */
export class ManagedProcess {
  readonly name: string;
  readonly #options: ManagedProcessOptions;
  #child: ChildProcess | undefined;
  #output = '';
  #paused = false;

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.#options = options;
    installExitHook();
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The last 8 KiB of the server's stdout/stderr, for failure messages. */
  get output(): string {
    return this.#output;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(this.#options.command, this.#options.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    live.add(child);
    const append = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-8192);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.on('exit', () => live.delete(child));
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `[testkit] ${this.name} exited during start (code ${code}, signal ${signal}):\n${this.#output}`,
          ),
        ),
      );
      child.once('error', (err) =>
        reject(new Error(`[testkit] could not start ${this.name}: ${err.message}`)),
      );
    });
    exited.catch(() => {});
    const timeout = this.#options.readyTimeout ?? 20_000;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeout);
    try {
      await Promise.race([this.#options.ready(ac.signal), exited]);
    } catch (error) {
      await this.kill();
      if (ac.signal.aborted)
        throw new Error(`[testkit] ${this.name} was not ready within ${timeout} ms:\n${this.#output}`);
      throw error;
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  }

  /** SIGKILL and wait for exit: an abrupt crash. */
  async kill(): Promise<void> {
    await this.#signalAndWait('SIGKILL');
  }

  /** SIGTERM and wait for exit: a clean shutdown. */
  async terminate(): Promise<void> {
    await this.#signalAndWait('SIGTERM');
  }

  async restart(options: { graceful?: boolean } = {}): Promise<void> {
    if (options.graceful) await this.terminate();
    else await this.kill();
    await this.start();
  }

  /** SIGSTOP: the process stays alive but answers nothing (a GC pause, a VM freeze). */
  /**
   * Stops the process (SIGSTOP) and returns once the kernel reports it stopped: a signal to a
   * process running on another core lands a little later, and a request sent in between would
   * still be answered (seen under load).
   */
  pause(): void {
    if (!this.running || this.#paused) return;
    this.#child!.kill('SIGSTOP');
    this.#paused = true;
    waitUntilStopped(this.#child!.pid);
  }

  resume(): void {
    if (!this.running || !this.#paused) return;
    this.#child!.kill('SIGCONT');
    this.#paused = false;
  }

  /** Kills the process and removes its data directory. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.#options.dataDir) rmSync(this.#options.dataDir, { recursive: true, force: true });
  }

  async #signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (this.#paused && signal !== 'SIGKILL') child.kill('SIGCONT');
    this.#paused = false;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  }
}

/** Polls `probe` until it resolves true or `signal` fires. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  signal: AbortSignal,
  intervalMs = 50,
): Promise<void> {
  while (!signal.aborted) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error('aborted');
}

/** Polls `/proc/<pid>/stat` (Linux) until the state is stopped, for at most 500 ms. */
function waitUntilStopped(pid: number | undefined): void {
  if (pid === undefined) return;
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 500; i++) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return; // not Linux, or the process is gone
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'T' || state === 't') return;
    Atomics.wait(tick, 0, 0, 1);
  }
}
