/**
 * Where a benchmark's CPU time goes: sums the self time of a V8 `.cpuprofile` (written by
 * BENCH_PROFILE_DIR=<dir> npm run bench:…) by function (file:function:line) and by area
 * (an npm package, a Node module, a folder of ours, V8's own entries such as the garbage
 * collector and idle), and prints the top of both.
 *   node -r @swc-node/register scripts/bench/cpu-profile-top.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '../..');
const TOP_DEFAULT = 25;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A frame's file: relative to the repository, `node:` modules as such. */
function fileOf(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith('/') ? relative(REPO_ROOT, path) : path;
}

/** V8's own entries, which have no caller worth charging: idle, GC, program, root. */
function isV8Entry(frame: CallFrame): boolean {
  return frame.url === '' && frame.functionName.startsWith('(');
}

/** The area a frame belongs to: an npm package, a Node module, a folder of ours, or V8. */
function areaOf(frame: CallFrame): string {
  const file = fileOf(frame.url);
  if (file === '') return frame.functionName.startsWith('(') ? frame.functionName : 'V8 builtin';
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = file.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') === true
      ? `${parts[0]}/${parts[1] ?? ''}`
      : (parts[0] ?? file);
  }
  if (file.startsWith('node:')) return file;
  return file.split('/').slice(0, 3).join('/');
}

function nameOf(frame: CallFrame): string {
  const file = fileOf(frame.url) || '(native)';
  return `${file}:${frame.functionName || '(anonymous)'}:${frame.lineNumber + 1}`;
}

/** A frame of ours or of an npm package (not V8, not Node's own modules). */
function isUserland(frame: CallFrame): boolean {
  return frame.url !== '' && !frame.url.startsWith('node:');
}

/**
 * For each node, the nearest frame (itself or a caller) that `owns` says owns the time,
 * or a V8 entry (idle, GC) as it is: so native work such as `writev` or `JSON.stringify`
 * is charged to the code that called it.
 */
function owners(profile: CpuProfile, owns: (frame: CallFrame) => boolean): Map<number, CallFrame> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const result = new Map<number, CallFrame>();
  for (const node of profile.nodes) {
    let id: number | undefined = node.id;
    let frame: CallFrame | undefined = node.callFrame;
    while (frame !== undefined && !owns(frame) && !isV8Entry(frame)) {
      id = parent.get(id ?? -1);
      frame = id === undefined ? undefined : frames.get(id);
    }
    result.set(node.id, frame ?? node.callFrame);
  }
  return result;
}

function top(totals: Map<string, number>, count: number, allUs: number): string[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, us]) =>
        `${(us / 1_000).toFixed(0).padStart(8)} ms ${((100 * us) / allUs).toFixed(1).padStart(5)}%  ${name}`,
    );
}

function main(): void {
  const [file, countArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: cpu-profile-top.ts <file.cpuprofile> [top]');
  const count = Number(countArg ?? TOP_DEFAULT);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const callers = owners(profile, (frame) => frame.url !== '');
  const userland = owners(profile, isUserland);
  const byFunction = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const byArea = new Map<string, number>();
  const add = (totals: Map<string, number>, key: string, us: number): void => {
    totals.set(key, (totals.get(key) ?? 0) + us);
  };
  let allUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const caller = callers.get(id);
    const owner = userland.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (frame === undefined || caller === undefined || owner === undefined) return;
    add(byFunction, nameOf(frame), us);
    add(byCaller, nameOf(caller), us);
    add(byArea, areaOf(owner), us);
    allUs += us;
  });
  const idleUs = byArea.get('(idle)') ?? 0;
  console.log(
    `${file}: ${(allUs / 1_000_000).toFixed(1)} s sampled, ${(idleUs / 1_000_000).toFixed(1)} s idle, ` +
      `${((allUs - idleUs) / 1_000_000).toFixed(1)} s busy`,
  );
  console.log(`\ntop ${count} functions by self time:`);
  console.log(top(byFunction, count, allUs).join('\n'));
  console.log(`\ntop ${count} by self time, native work charged to its script caller:`);
  console.log(top(byCaller, count, allUs).join('\n'));
  console.log(`\nby area (Node's and V8's work charged to the package or code that called it):`);
  console.log(top(byArea, count, allUs).join('\n'));
}

main();
