// Sequential scrapes of one exporter on one keep-alive connection: latency, CPU per scrape, RSS, series.
import type { RunningExporter } from './exporters.js';
import { collectorMilliseconds, countSeries, cpuSecondsPer1000, summarizeLatencies } from './measure.js';
import { readCpuTicks, readRssBytes } from './proc.js';
import type { ScrapeRecord } from './report.js';
import { ScrapeClient } from './scrape-client.js';

/** Up to `scrapes` after `warmup`, but a slow exporter stops after `stepSeconds` once it has `minScrapes`. */
export interface ScrapePlan { scrapes: number; minScrapes: number; stepSeconds: number; warmup: number }

export async function measureScrapes(exporter: RunningExporter, processes: number, plan: ScrapePlan): Promise<{ record: ScrapeRecord; lastBody: string }> {
  const client = new ScrapeClient(exporter.metricsUrl);
  try {
    for (let index = 0; index < plan.warmup; index += 1) await client.get();
    const latencies: number[] = [];
    let lastBody = '';
    // headroom's own timing of each collector, summed over the scrapes.
    const collectorTotals: Record<string, number> = {};
    const ticksBefore = readCpuTicks(exporter.pid);
    // Up to plan.scrapes, but a slow exporter stops after plan.stepSeconds once it has plan.minScrapes.
    const deadline = performance.now() + plan.stepSeconds * 1000;
    while (latencies.length < plan.scrapes && (latencies.length < plan.minScrapes || performance.now() < deadline)) {
      const scrape = await client.get();
      latencies.push(scrape.ms);
      lastBody = scrape.body;
      if (exporter.name === 'headroom') {
        for (const [collector, ms] of Object.entries(collectorMilliseconds(scrape.body))) collectorTotals[collector] = (collectorTotals[collector] ?? 0) + ms;
      }
    }
    const ticks = readCpuTicks(exporter.pid) - ticksBefore;
    const { p50, p99 } = summarizeLatencies(latencies);
    return {
      record: {
        exporter: exporter.name,
        processes,
        scrapes: latencies.length,
        p50_ms: p50,
        p99_ms: p99,
        cpu_seconds_per_1000_scrapes: cpuSecondsPer1000(ticks, latencies.length),
        rss_bytes: readRssBytes(exporter.pid),
        series: countSeries(lastBody),
        ...(exporter.name === 'headroom' ? { collector_ms: Object.fromEntries(Object.entries(collectorTotals).map(([collector, total]) => [collector, total / latencies.length])) } : {}),
      },
      lastBody,
    };
  } finally {
    client.close();
  }
}

