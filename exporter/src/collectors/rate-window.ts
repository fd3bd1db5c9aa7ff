// The average rate of a counter over a fixed window of wall-clock time, built from the samples
// that scrapes take. The reference sample is chosen by age, so the answer does not depend on
// how often (or by how many servers) the exporter is scraped.

export interface Sample { atSeconds: number; value: number }

export class RateWindow {
  private samples: Sample[] = [];

  constructor(readonly windowSeconds: number) {}

  /** Adds a sample and returns the rate per second over the window, or undefined with one sample only. */
  observe(sample: Sample): number | undefined {
    const last = this.samples[this.samples.length - 1];
    if (last && (sample.value < last.value || sample.atSeconds < last.atSeconds)) this.samples = []; // counter reset
    this.samples.push(sample);
    const cutoff = sample.atSeconds - this.windowSeconds;
    // Keep the newest sample at or before the cutoff as the reference; drop the older ones.
    let firstKept = 0;
    while (firstKept + 1 < this.samples.length - 1 && this.samples[firstKept + 1]!.atSeconds <= cutoff) firstKept += 1;
    this.samples = this.samples.slice(firstKept);
    const reference = this.samples[0]!;
    const elapsed = sample.atSeconds - reference.atSeconds;
    if (this.samples.length < 2 || elapsed <= 0) return undefined;
    return (sample.value - reference.value) / elapsed;
  }

  reset(): void {
    this.samples = [];
  }
}
