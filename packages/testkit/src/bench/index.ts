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
