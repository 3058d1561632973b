/**
 * The DAV layer's default limits, in a module that imports nothing: the configuration checks a
 * config file's keys against them, and the supervisor, which loads the configuration, need not
 * load the DAV layer (its lock manager, XML parser, paths…) to learn them. context.ts and
 * locks/lock-manager.ts give them their types.
 */

export const LOCK_LIMIT_DEFAULTS = {
  maxLockOwnerBytes: 4096,
  maxLocksPerUser: 1000,
  maxLockBytesPerUser: 1024 * 1024,
  maxLockTableBytes: 16 * 1024 * 1024,
};

export const DAV_LIMIT_DEFAULTS = {
  maxXmlBytes: 1024 * 1024,
  maxXmlDepth: 64,
  maxPutBytes: 0,
  maxInfinityResources: 10_000,
  maxRanges: 64,
  maxReportResults: 10_000,
  // Answers are streamed (memory holds what is in flight), so this bounds the work and bandwidth of one
  // REPORT, not memory: twice the largest contacts account iCloud allows (48 MB of text + 200 MB of
  // photos, ~315 MB once base64'd) would not fit in 256 MiB, so 512 MiB; a calendar-query of 10,000
  // typical events is ~10 MB.
  maxReportBytes: 512 * 1024 * 1024,
  ...LOCK_LIMIT_DEFAULTS,
  maxCalendarSteps: 1_000_000,
  maxFilterElements: 500,
  calendarThreads: 1,
};

export const LOCK_TIMEOUT_DEFAULTS = { fallback: 3600, max: 7 * 24 * 3600 };
