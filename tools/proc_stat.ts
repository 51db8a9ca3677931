/**
 * CPU time and memory of another process (the server under test), from
 * Linux's /proc, read with cat(1): Deno grants reading /proc/<pid> only with
 * --allow-all, and --allow-run is needed anyway to start the process
 * measured. Every figure is null where /proc is not there (not Linux) or the
 * process is gone.
 */

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86-64

async function cat(path: string): Promise<string | null> {
  try {
    const { stdout, success } = await new Deno.Command("cat", {
      args: [path],
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout) : null;
  } catch {
    return null;
  }
}

/** User plus system CPU seconds process `pid` has used so far, or null when unknown. */
export async function readCpuSeconds(pid: number): Promise<number | null> {
  const stat = await cat(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Fields after the command name (which may hold spaces) start at field 3, "state".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Current (VmRSS) and peak (VmHWM) resident memory of `pid` in MiB, or null. */
export async function readMemoryMiB(
  pid: number,
): Promise<{ rssMiB: number; peakMiB: number } | null> {
  const status = await cat(`/proc/${pid}/status`);
  const rss = status && /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  const peak = status && /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!rss || !peak) return null;
  return { rssMiB: Number(rss) / 1024, peakMiB: Number(peak) / 1024 };
}

/** Peak resident memory (VmHWM) of `pid` in MiB, or null. */
export async function readPeakRssMiB(pid: number): Promise<number | null> {
  return (await readMemoryMiB(pid))?.peakMiB ?? null;
}

/** CPU seconds of several processes, summed (null when any is unknown). */
export async function readCpuSecondsOf(pids: number[]): Promise<number | null> {
  const all = await Promise.all(pids.map(readCpuSeconds));
  return all.some((s) => s === null) ? null : all.reduce<number>((a, s) => a + s!, 0);
}
