export const KNOWN_FAILURES: Record<string, number[]> = {};
