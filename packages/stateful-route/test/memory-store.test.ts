import { createMemoryRouteStore } from '../src/index.js';
import { runRouteConformance } from './route-conformance.js';

const store = createMemoryRouteStore();
runRouteConformance({ name: 'memory', store: () => store });
