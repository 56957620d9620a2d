import type { Output } from './output.js';

/**
 * A one-line progress bar on stderr for bulk work (`[#####-----] 5/10 key`), redrawn in place, only
 * when stdout is a terminal and there is more than one step; silent otherwise (scripts, `--json`).
 */
export class Progress {
  readonly #total: number;
  readonly #enabled: boolean;
  #n = 0;

  constructor(out: Output, total: number) {
    this.#total = total;
    this.#enabled = out.interactive && total > 1;
  }

  step(label: string): void {
    this.#n++;
    if (!this.#enabled) return;
    const width = 20;
    const filled = Math.round((this.#n / this.#total) * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    process.stderr.write(`\r\x1b[2K[${bar}] ${this.#n}/${this.#total} ${label.slice(0, 60)}`);
  }

  done(): void {
    if (this.#enabled) process.stderr.write('\r\x1b[2K');
  }
}
