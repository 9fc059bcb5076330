// Types for build-stamp.js (plain JavaScript: the bin runs it before any TypeScript can be loaded).
export type BuildState = 'fresh' | 'stale' | 'missing';
export interface BuildStamp {
  stats: Record<string, [size: number, mtimeMs: number]>;
  hash: string;
}
export const DIST_DIR: string;
export function sourceFiles(root: string): string[];
export function takeStamp(root: string): Promise<BuildStamp>;
export function writeStamp(root: string, stamp: BuildStamp): void;
export function buildState(root: string): Promise<BuildState>;
