import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A fixture process spoken to by lines on stdin/stdout. */
export class FixtureProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  #waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  #buffer = '';
  #stderr = '';

  constructor(fixture: string, args: string[]) {
    const file = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=switchyard-source', file, ...args],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let i = this.#buffer.indexOf('\n');
      while (i >= 0) {
        const line = this.#buffer.slice(0, i);
        this.#buffer = this.#buffer.slice(i + 1);
        const w = this.#waiters.findIndex((x) => line.startsWith(x.prefix));
        if (w >= 0) this.#waiters.splice(w, 1)[0]!.resolve(line);
        else this.lines.push(line);
        i = this.#buffer.indexOf('\n');
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
  }

  /** The next line starting with `prefix` (one already received counts), rejected on exit or timeout. */
  next(prefix: string, timeout = 45_000): Promise<string> {
    const have = this.lines.findIndex((l) => l.startsWith(prefix));
    if (have >= 0) return Promise.resolve(this.lines.splice(have, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${prefix}" in ${timeout} ms: ${this.#stderr}`)),
        timeout,
      );
      const onExit = (code: number | null) =>
        reject(new Error(`exited (${code}) before "${prefix}": ${this.#stderr}`));
      this.child.once('exit', onExit);
      this.#waiters.push({
        prefix,
        resolve: (line) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(line);
        },
      });
    });
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  async json<T>(command: string, prefix: string, timeout?: number): Promise<T> {
    this.send(command);
    const line = await this.next(prefix, timeout);
    return JSON.parse(line.slice(prefix.length + 1)) as T;
  }

  /** SIGKILL (or another signal) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }
}
