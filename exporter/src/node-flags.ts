// The V8 flags the exporter runs with, wherever it starts: the bin's shebang (cli.ts), `make run`, the
// image's ENTRYPOINT, the tests and the benchmark (a unit test holds them all to this list).
// Measured (make bench, docs/performance.md): a 1 MiB young generation instead of V8's 16 MiB, and no
// optimizing or baseline compiler, whose code pages and compiled code cost more memory than the few
// milliseconds a scrape saves with them. --lite-mode would save more, but it removes WebAssembly, which
// Node's fetch() needs (the target probe, headroom recommend).
export const NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size', '--no-turbofan', '--no-sparkplug'] as const;

/**
 * Host mode's: the compilers stay on. Its scrape reads a dozen files and sets some thirty series for every
 * container, and interpreted it took twice the CPU (200 containers: 130 ms against 70 ms a scrape,
 * make bench-docker); one process for a whole host spends the memory they cost once.
 */
export const HOST_MODE_NODE_FLAGS = ['--max-semi-space-size=1'] as const;
