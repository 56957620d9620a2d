import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('../fixtures/cache-worker.ts', import.meta.url));
const TSX = new URL('../../../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** A cache in another OS process, driven by request/response over IPC. */
export interface Worker {
  call<T>(cmd: Record<string, unknown>, timeout?: number): Promise<T>;
  kill(): void;
  exit(): Promise<void>;
}

export async function startWorker(url: string, name: string, heartbeat = 200): Promise<Worker> {
  const child: ChildProcess = fork(WORKER, [url, name, String(heartbeat)], {
    execArgv: ['--import', TSX, '--conditions=switchyard-source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let onReady!: () => void;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    if (m.id === 0) return onReady();
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.result);
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('worker exited'));
    pending.clear();
  });
  await ready;
  const worker: Worker = {
    call<T>(cmd: Record<string, unknown>, timeout = 30_000) {
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`worker: no reply to ${String(cmd.cmd)}`));
        }, timeout);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ ...cmd, id });
      });
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    async exit() {
      if (child.exitCode !== null || !child.connected) return;
      await worker.call({ cmd: 'exit' }, 10_000).catch(() => {});
      if (child.exitCode === null) {
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r();
          }, 3000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
  return worker;
}
