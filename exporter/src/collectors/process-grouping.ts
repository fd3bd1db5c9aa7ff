// Pure grouping of per-process figures by command name: the top N groups by CPU, the rest as "other".

export interface ProcessFigures { name: string; cpuSeconds: number; residentBytes: number }
export interface GroupFigures { groupname: string; cpuSeconds: number; residentBytes: number; processes: number }

export const OTHER_GROUP = 'other';

export function groupProcesses(processes: readonly ProcessFigures[], top: number): GroupFigures[] {
  const byName = new Map<string, GroupFigures>();
  for (const process of processes) {
    const group = byName.get(process.name) ?? { groupname: process.name, cpuSeconds: 0, residentBytes: 0, processes: 0 };
    group.cpuSeconds += process.cpuSeconds;
    group.residentBytes += process.residentBytes;
    group.processes += 1;
    byName.set(process.name, group);
  }
  // A command really named "other" is folded into the "other" group rather than colliding with it.
  const ranked = [...byName.values()].filter((group) => group.groupname !== OTHER_GROUP).sort((a, b) => b.cpuSeconds - a.cpuSeconds || a.groupname.localeCompare(b.groupname));
  const kept = ranked.slice(0, top);
  const rest = ranked.slice(top);
  const namedOther = byName.get(OTHER_GROUP);
  if (namedOther) rest.push(namedOther);
  if (rest.length > 0) {
    kept.push(rest.reduce<GroupFigures>((sum, group) => ({
      groupname: OTHER_GROUP,
      cpuSeconds: sum.cpuSeconds + group.cpuSeconds,
      residentBytes: sum.residentBytes + group.residentBytes,
      processes: sum.processes + group.processes,
    }), { groupname: OTHER_GROUP, cpuSeconds: 0, residentBytes: 0, processes: 0 }));
  }
  return kept;
}
