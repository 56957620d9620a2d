// Benchmark of @switchyard/discovery-dns against the peers a user would pick instead, in the same run,
// printing ratios (see packages/testkit/src/bench and docs/writing-a-backend.md).
import { nsPerOp } from '@switchyard/testkit/bench';

console.log('discovery-dns: write the benchmark', typeof nsPerOp);
