/** Where vargate reports what it cannot return to a caller. Never given secrets. Defaults to silence. */
export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** One JSON line per entry on stderr; what `vargate serve` uses. */
export const consoleLogger: Logger = {
  debug: (message, data) => write("debug", message, data),
  info: (message, data) => write("info", message, data),
  warn: (message, data) => write("warn", message, data),
  error: (message, data) => write("error", message, data),
};

function write(level: string, message: string, data?: Record<string, unknown>) {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), message, ...data })}\n`);
}
