// The run's system metrics (`system/cpu_percent`, `system/gpu0_util`, ...): which keys they are and
// how the System section groups them. Kept free of the DOM so jest can check it.

/** The prefix every system metric's key starts with. */
export const SYSTEM_PREFIX = 'system/';

/** Whether `key` is a system metric (kept out of default metric lists, shown in the System section). */
export function isSystemMetric(key: string): boolean {
  return key.startsWith(SYSTEM_PREFIX);
}

/** A group of system metrics charted together: CPU, memory, disk, network, one per GPU, other. */
export interface SystemGroup {
  /** Stable id: 'cpu', 'memory', 'disk', 'network', 'gpu0', 'gpu1', ..., 'other'. */
  id: string;
  /** For GPUs, the device index; null otherwise. */
  gpu: number | null;
  /** Metric keys of the group (full keys, with the prefix), in natural order. */
  keys: string[];
}

const FIXED = ['cpu', 'memory', 'disk', 'network'];

/** The group id of a system metric's name (the part after `system/`). */
function groupOf(name: string): string {
  const gpu = /^gpu(\d+)(?:[_/.]|$)/i.exec(name);
  if (gpu) {
    return `gpu${Number(gpu[1])}`;
  }
  if (/^cpu/i.test(name)) {
    return 'cpu';
  }
  if (/^(memory|mem|ram|swap)/i.test(name)) {
    return 'memory';
  }
  if (/^disk/i.test(name)) {
    return 'disk';
  }
  if (/^(net|network)/i.test(name)) {
    return 'network';
  }
  return 'other';
}

/** The system metrics among `keys`, grouped: CPU, memory, disk, network, GPUs by index, then other. */
export function systemGroups(keys: readonly string[]): SystemGroup[] {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    if (!isSystemMetric(key)) {
      continue;
    }
    const id = groupOf(key.slice(SYSTEM_PREFIX.length));
    groups.set(id, [...(groups.get(id) ?? []), key]);
  }
  const rank = (id: string): number => {
    const fixed = FIXED.indexOf(id);
    if (fixed >= 0) {
      return fixed;
    }
    return id === 'other' ? Number.MAX_SAFE_INTEGER : FIXED.length + Number(id.slice(3));
  };
  return Array.from(groups, ([id, members]) => ({
    id,
    gpu: id.startsWith('gpu') ? Number(id.slice(3)) : null,
    keys: members.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  })).sort((a, b) => rank(a.id) - rank(b.id));
}
