// The webhook's path, shared by the routes, the access guard and the Alertmanager configuration.
export const AUTOSIZE_WEBHOOK_PATH = '/autosize/alertmanager';
