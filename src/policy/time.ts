/** The shape of an RFC 3339 timestamp (calendar and clock ranges are checked by `parseRfc3339`). */
export const RFC3339_SHAPE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

const MS_PER_DAY = 86_400_000;
// Days in 400 Gregorian years: `Date.UTC` reads years 0-99 as 1900-1999, so those are computed 400 years later.
const DAYS_PER_400_YEARS = 146_097;

/**
 * Parses an RFC 3339 timestamp (`2026-04-11T14:35:00Z`, `2026-04-11T16:35:00.123+02:00`) to epoch
 * milliseconds, or returns `null`. Calendar dates are checked (no February 30th); leap seconds are not accepted.
 * Digits past the milliseconds are dropped, as `Date.parse` drops them. Every evaluation with a time rule and every
 * replayed record parses one, so the fields are read by position after one shape check, with no allocation.
 */
export function parseRfc3339(value: string): number | null {
  if (!RFC3339_SHAPE.test(value)) return null;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let at = 19;
  let ms = 0;
  if (value.charCodeAt(at) === 46 /* . */) {
    at += 1;
    for (let scale = 100; isDigit(value.charCodeAt(at)); at++, scale /= 10) {
      if (scale >= 1) ms += scale * (value.charCodeAt(at) - 48);
    }
  }
  let offsetMinutes = 0;
  const sign = value.charCodeAt(at);
  if (sign === 43 /* + */ || sign === 45 /* - */) {
    const offsetHours = digitsAt(value, at + 1, 2);
    const minutes = digitsAt(value, at + 4, 2);
    if (offsetHours > 23 || minutes > 59) return null;
    offsetMinutes = (sign === 43 ? 1 : -1) * (offsetHours * 60 + minutes);
  }
  const midnight =
    year < 100
      ? Date.UTC(year + 400, month - 1, day) - DAYS_PER_400_YEARS * MS_PER_DAY
      : Date.UTC(year, month - 1, day);
  return midnight + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + ms;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1] as number;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

function digitsAt(value: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) n = n * 10 + value.charCodeAt(i) - 48;
  return n;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
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
