// Where a measurement's CPU went, read from Linux's /proc: this process's, PostgreSQL's backends' on this machine,
// and how busy the machine was. Elsewhere, or where /proc cannot be read, the figures are left out.
import { readdirSync, readFileSync } from "node:fs";

/** Started after a run's warm-up; `stop` gives the figures per operation of the measured phase. */
export interface CpuProbe {
  stop(operations: number): Record<string, number>;
}

/** A probe of this process's CPU, the machine's, and (with `postgres`) the local PostgreSQL processes'. */
export function startCpuProbe(options: { postgres?: boolean } = {}): CpuProbe {
  const process0 = process.cpuUsage();
  const machine0 = machineTicks();
  const postgres0 = options.postgres ? postgresMicros() : undefined;
  return {
    stop(operations) {
      const used = process.cpuUsage(process0);
      const figures: Record<string, number> = {
        cpu_us_per_op: Math.round((used.user + used.system) / operations),
      };
      const machine1 = machineTicks();
      if (machine0 && machine1 && machine1.all > machine0.all) {
        figures.machine_busy_pct = Math.round((100 * (machine1.busy - machine0.busy)) / (machine1.all - machine0.all));
      }
      const postgres1 = options.postgres ? postgresMicros() : undefined;
      if (postgres0 !== undefined && postgres1 !== undefined && postgres1 > 0) {
        figures.postgres_cpu_us_per_op = Math.round((postgres1 - postgres0) / operations);
      }
      return figures;
    },
  };
}

/** Clock ticks since boot, over all cores: busy (user, nice, system, irq, softirq, steal) and in all. */
function machineTicks(): { busy: number; all: number } | undefined {
  try {
    const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] as string).trim().split(/\s+/).slice(1);
    const ticks = fields.map(Number);
    const at = (i: number) => ticks[i] ?? 0;
    return { busy: at(0) + at(1) + at(2) + at(5) + at(6) + at(7), all: ticks.reduce((sum, n) => sum + n, 0) };
  } catch {
    return undefined;
  }
}

/** The CPU time, in µs, of every process named `postgres` that this user may read. */
function postgresMicros(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const microsPerTick = 1e6 / CLOCK_TICKS_PER_SECOND;
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The name is in parentheses and may hold spaces; the fields after it are space-separated.
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== "postgres") continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) * microsPerTick;
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

// USER_HZ: 100 on every Linux architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;
