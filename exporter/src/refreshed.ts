// The last result of an asynchronous read that may be slow or hang (a health probe, a database query),
// so that /metrics never waits on it for long: one read at a time, each bounded by its timeout.

export interface Reading<T> {
  value: T;
  /** performance.now() when the read finished. */
  at: number;
}

export class Refreshed<T> {
  private last: Reading<T> | undefined;
  private running: Promise<Reading<T>> | undefined;
  private runningSince = 0;

  /**
   * `read` must settle (bound it with a timeout); a rejection is turned into a value by `onError`.
   * A read starts when asked and the last one finished more than `maxAgeMs` ago, or there is none.
   */
  constructor(
    private readonly read: () => Promise<T>,
    private readonly onError: (error: unknown) => T,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  latest(): Reading<T> | undefined {
    return this.last;
  }

  /** Starts a read, or joins the one under way, and waits for it. */
  refresh(): Promise<Reading<T>> {
    if (!this.running) this.runningSince = this.now();
    this.running ??= this.read().then((value) => value, this.onError).then((value) => {
      this.last = { value, at: this.now() };
      return this.last;
    }).finally(() => { this.running = undefined; });
    return this.running;
  }

  /**
   * The latest reading, refreshed first when it is older than maxAgeMs: a new read is waited for at most
   * `budgetMs`, then the answer is what there is (undefined before the first read ends) while the read goes
   * on in the background. A read already under way is not waited for: it is slow, and callers would queue.
   */
  async current(budgetMs: number): Promise<Reading<T> | undefined> {
    const stale = this.last === undefined || this.now() - this.last.at > this.maxAgeMs;
    if (!stale) return this.last;
    // A read started within the budget is joined for what is left of it (prom-client collects gauges
    // concurrently: the second joins the first's read); an older one is slow, and is not waited for.
    const waitMs = this.running ? budgetMs - (this.now() - this.runningSince) : budgetMs;
    const reading = this.refresh();
    if (waitMs <= 0) return this.last;
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), waitMs); });
    try {
      return (await Promise.race([reading, budget])) ?? this.last;
    } finally {
      clearTimeout(timer);
    }
  }
}
