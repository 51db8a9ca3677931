/** Peak memory of another process, from Linux's /proc. */

/**
 * The peak resident set size (VmHWM) of process `pid` in MiB, or null where
 * /proc is not available (not Linux) or the process is gone. Read with
 * cat(1): Deno grants reading /proc/<pid> only with --allow-all, and
 * --allow-run is needed anyway to start the server being measured.
 */
export async function readPeakRssMiB(pid: number): Promise<number | null> {
  try {
    const { stdout, success } = await new Deno.Command("cat", {
      args: [`/proc/${pid}/status`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(new TextDecoder().decode(stdout))?.[1];
    return success && kib !== undefined ? Number(kib) / 1024 : null;
  } catch {
    return null;
  }
}
