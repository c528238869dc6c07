import { readFileSync } from 'node:fs';

/** How often the sampler reads /proc. */
const SAMPLE_INTERVAL_MS = 200;
/** How deep the sampler follows children (a service's worker pool, its helpers). */
const DESCENDANT_DEPTH_MAX = 4;

/** `VmRSS` or `VmHWM` of a process in MB, or null when it is gone (or /proc says nothing). */
function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The process and its descendants, as far as /proc/<pid>/task/<tid>/children tells. */
function processTree(pid: number, depth = 0): number[] {
  if (depth >= DESCENDANT_DEPTH_MAX) return [pid];
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((word) => word.trim() !== '')
      .map(Number);
  } catch {
    // Gone, or a kernel without the children file: the process alone.
  }
  return [pid, ...children.flatMap((child) => processTree(child, depth + 1))];
}

/** The peak resident memory of some processes, each sampled on its own. */
export interface RssSampler {
  /** The largest RSS any one sampled process reached so far, in MB (its VmHWM when it knew). */
  maxMb(): number;
  /** Samples once more (with VmHWM) and stops. */
  stop(): number;
}

/**
 * Samples every SAMPLE_INTERVAL_MS the RSS (`VmRSS` of /proc/<pid>/status) of each of
 * `pids()` and its descendants, keeping the largest of any one process (not their sum:
 * the goal is each process's peak). At the end `VmHWM`, the kernel's own peak, catches
 * a spike between two samples.
 */
export function sampleRss(pids: () => readonly number[]): RssSampler {
  let max = 0;
  const seen = new Set<number>();
  const sample = (field: 'VmRSS' | 'VmHWM'): void => {
    for (const pid of pids().flatMap((root) => processTree(root))) {
      seen.add(pid);
      const mb = memoryMb(pid, field);
      if (mb !== null && mb > max) max = mb;
    }
  };
  sample('VmRSS');
  const timer = setInterval(() => sample('VmRSS'), SAMPLE_INTERVAL_MS);
  timer.unref();
  return {
    maxMb: () => max,
    stop: () => {
      clearInterval(timer);
      sample('VmHWM');
      for (const pid of seen) {
        const mb = memoryMb(pid, 'VmHWM');
        if (mb !== null && mb > max) max = mb;
      }
      return max;
    },
  };
}
