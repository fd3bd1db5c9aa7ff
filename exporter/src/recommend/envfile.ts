// Writes sizes into a compose environment file (`KEY=value` lines), keeping every other line and comment.
import { formatCpus, formatMemorySize } from '../sizes.js';
import type { Sizing } from './decide.js';

/** The compose variables of a sizing, in the compose syntax the exporter's flags accept. */
export function sizingVariables(sizing: Sizing): Record<string, string> {
  return {
    MEMORY_LIMIT: formatMemorySize(sizing.memoryLimitBytes),
    CPU_LIMIT: formatCpus(sizing.cpuLimitCores),
    MEMORY_RESERVATION: formatMemorySize(sizing.memoryReservationBytes),
    CPU_RESERVATION: formatCpus(sizing.cpuReservationCores),
  };
}

const ASSIGNMENT = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$/;

/** Sets `variables` in the env file text: replaces their assignments in place (keeping an inline ` # comment`), appends the missing ones. */
export function updateEnvText(text: string, variables: Record<string, string>): string {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text === '' ? [] : text.split(/\r?\n/);
  const trailingNewline = lines.length > 0 && lines[lines.length - 1] === '';
  if (trailingNewline) lines.pop();
  const written = new Set<string>();
  const updated = lines.map((line) => {
    const match = ASSIGNMENT.exec(line);
    if (!match || !(match[2]! in variables)) return line;
    const [, prefix, key, equals, rest] = match as unknown as [string, string, string, string, string];
    const comment = /^[^'"]*?(\s+#.*)$/.exec(rest)?.[1] ?? '';
    written.add(key);
    return `${prefix}${key}${equals}${variables[key]}${comment}`;
  });
  for (const [key, value] of Object.entries(variables)) if (!written.has(key)) updated.push(`${key}=${value}`);
  return updated.join(newline) + newline;
}
