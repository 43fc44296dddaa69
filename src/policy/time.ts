const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp (`2026-04-11T14:35:00Z`, `2026-04-11T16:35:00.123+02:00`) to epoch
 * milliseconds, or returns `null`. Calendar dates are checked (no February 30th); leap seconds are not accepted.
 */
export function parseRfc3339(value: string): number | null {
  const match = RFC3339.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, sign, oh, om] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (sign !== undefined && (Number(oh) > 23 || Number(om) > 59)) return null;
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? null : ms;
}

/** Minutes since local midnight and the local weekday (0 = Sunday) of an instant in a time zone. */
export interface LocalTime {
  minutes: number;
  weekday: number;
}

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Computes the local time of instants in one time zone. Build once per zone: creating the formatter is the slow part. */
export function localTimeReader(timeZone: string): (epochMs: number) => LocalTime {
  if (timeZone === "UTC" || timeZone === "Etc/UTC") {
    return (epochMs) => {
      const date = new Date(epochMs);
      return { minutes: date.getUTCHours() * 60 + date.getUTCMinutes(), weekday: date.getUTCDay() };
    };
  }
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
  // Every offset in use today is a whole number of minutes, so the local time only changes per UTC minute:
  // remember the last minute read (formatToParts is the slow part). This cannot change a result.
  let lastMinute = Number.NaN;
  let last: LocalTime = { minutes: 0, weekday: 0 };
  return (epochMs) => {
    const minute = Math.floor(epochMs / 60_000);
    if (minute === lastMinute) return last;
    last = read(epochMs);
    lastMinute = minute;
    return last;
  };
  function read(epochMs: number): LocalTime {
    let hour = 0;
    let minute = 0;
    let weekday = 0;
    for (const part of format.formatToParts(epochMs)) {
      if (part.type === "hour") hour = Number(part.value) % 24;
      else if (part.type === "minute") minute = Number(part.value);
      else if (part.type === "weekday") weekday = WEEKDAY_INDEX[part.value] ?? -1;
    }
    if (weekday < 0 || Number.isNaN(hour) || Number.isNaN(minute)) {
      throw new Error(`Could not read the local time in time zone '${timeZone}'`);
    }
    return { minutes: hour * 60 + minute, weekday };
  }
}

/** `"HH:MM"` to minutes since midnight. */
export function clockMinutes(value: string): number {
  return Number(value.slice(0, 2)) * 60 + Number(value.slice(3, 5));
}
