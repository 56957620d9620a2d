import type { Writable } from 'node:stream';
import Table from 'cli-table3';
import pc from 'picocolors';
import { toJson } from './json.js';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Where a command writes: human tables (colour only on a TTY, `NO_COLOR` / `FORCE_COLOR`
 * honoured) or, with `--json`, one JSON document per result on stdout. Diagnostics go to stderr.
 */
export class Output {
  readonly json: boolean;
  readonly color: Colors;
  readonly #out: Writable;
  readonly #err: Writable;

  constructor(options: { json: boolean; stdout?: Writable; stderr?: Writable; color?: boolean }) {
    this.json = options.json;
    this.#out = options.stdout ?? process.stdout;
    this.#err = options.stderr ?? process.stderr;
    const tty = (this.#out as { isTTY?: boolean }).isTTY === true;
    const enabled = options.color ?? (!('NO_COLOR' in process.env) && (tty || 'FORCE_COLOR' in process.env));
    this.color = pc.createColors(enabled && !this.json);
  }

  /** Whether stdout is an interactive terminal (live tables redraw in place only there). */
  get interactive(): boolean {
    return !this.json && (this.#out as { isTTY?: boolean }).isTTY === true;
  }

  /** `--json`: the value as one line; otherwise `human()` for people. */
  result(value: unknown, human: () => string): void {
    this.#out.write(`${this.json ? toJson(value) : human()}\n`);
  }

  line(text: string): void {
    this.#out.write(`${text}\n`);
  }

  /** A note for people on stderr (never mixed into `--json` stdout). */
  note(text: string): void {
    this.#err.write(`${text}\n`);
  }

  table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
    if (rows.length === 0) return this.color.dim('(none)');
    const t = new Table({
      head: head.map((h) => this.color.bold(h)),
      style: { head: [], border: [] },
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    });
    for (const row of rows) t.push(row.map((c) => (c === undefined || c === null ? '' : String(c))));
    return t.toString();
  }

  /** Clears the terminal before a live table's next frame (TTY only). */
  clearScreen(): void {
    if (this.interactive) this.#out.write('\x1b[2J\x1b[H');
  }
}
