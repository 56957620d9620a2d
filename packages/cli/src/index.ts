export { type LockSpaceStats, lockSpaceStats } from './commands/locks.js';
export type { GlobalOptions } from './connect/global-options.js';
export { CliError, EXIT, type ExitCode, exitCodeOf } from './exit-codes.js';
export { CLI_VERSION, createProgram, runCli } from './program.js';
