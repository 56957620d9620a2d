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
