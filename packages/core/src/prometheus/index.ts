export {
  createPrometheusExporter,
  DEFAULT_SECONDS_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusExporter,
  type PrometheusExporterOptions,
} from './prometheus-exporter.js';
