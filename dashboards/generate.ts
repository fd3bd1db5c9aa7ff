// Writes the dashboards' JSON, the Grafana provisioning files and the recommendation's recording rules
// (run from the repository root: `make generate`).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './src/files.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
for (const [file, contents] of Object.entries(generatedFiles())) {
  const target = path.join(root, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, contents);
  process.stdout.write(`wrote ${file}\n`);
}
