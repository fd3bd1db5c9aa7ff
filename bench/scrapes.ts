// Sequential scrapes of one exporter on one keep-alive connection: latency, CPU per scrape, RSS, series.
import type { RunningExporter } from './exporters.js';
import { countSeries, cpuSecondsPer1000, summarizeLatencies } from './measure.js';
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
    const ticksBefore = readCpuTicks(exporter.pid);
    // Up to plan.scrapes, but a slow exporter stops after plan.stepSeconds once it has plan.minScrapes.
    const deadline = performance.now() + plan.stepSeconds * 1000;
    while (latencies.length < plan.scrapes && (latencies.length < plan.minScrapes || performance.now() < deadline)) {
      const scrape = await client.get();
      latencies.push(scrape.ms);
      lastBody = scrape.body;
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
      },
      lastBody,
    };
  } finally {
    client.close();
  }
}

