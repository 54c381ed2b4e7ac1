// The alerting module's public surface, for api/index.ts and api/app.ts.
export { createAlerting, AlertingInputError, type Alerting, type AlertingDeps, type AlertingStatus } from './alerting.ts';
export { alertingRoutes, type AlertingRole, type AlertingRouteDeps } from './routes.ts';
export { parseAlertingConfig, AlertingConfigError, DEV_WEBHOOK_SECRET, starterRulesDir, type AlertingConfig } from './config.ts';
export { signBody, type NotificationPayload } from './notifier.ts';
