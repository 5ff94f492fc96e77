export { httpMetrics } from './http-metrics.js';
export { HubMetrics, type HubMetricsDeps, type MetricsSources } from './hub-metrics.js';
export { metricsRoutes } from './metrics-routes.js';
export { requestLog } from './request-log.js';
export { UNMATCHED_ROUTE } from './route-label.js';
