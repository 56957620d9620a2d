export {
  distributedLockPeer,
  type LockBenchOptions,
  type LockBenchPeer,
  type LockBenchResult,
  lockBenchTable,
  runLockBench,
} from './lock-harness.js';
export { measurePropagation, type PropagationOptions } from './propagation.js';
export {
  fmt,
  type LatencySummary,
  markdownTable,
  median,
  nsPerOp,
  percentile,
  ratio,
  summarize,
  timeOps,
} from './stats.js';
