export {
  type InstrumentSwitchyardOptions,
  instrumentSwitchyard,
  OTEL_ATTRIBUTES,
  OTEL_METRICS,
  OTEL_SCOPE,
  type OtelApi,
  type SwitchyardInstrumentation,
} from './instrument.js';
