// What a detail request can fail with, as the API answers it (routes.ts): kept apart so that the routes load
// no Prometheus client unless --ui.prometheus-url asks for one.

/** A range the server does not offer: 400. */
export class UnknownRangeError extends Error {}

/** Several instances have series of that container in Prometheus: 409. */
export class AmbiguousSeriesError extends Error {}

/** Prometheus did not answer, or not as expected: 502. */
export class PrometheusUnavailableError extends Error {}
