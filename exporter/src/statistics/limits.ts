// The usage report's size limits and the rejection shape, apart from the zod schema (loaded at the first POST).

/** Largest accepted request body; larger bodies are answered 413 before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Extra numeric fields under `metrics`: at most this many, names up to 64 characters. */
export const MAX_EXTRA_METRICS = 32;

export interface Rejection { error: string; field: string | null }
