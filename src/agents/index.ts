/**
 * Choosing the thinker and coder for a run: "offline" (no API key needed) or an agent file.
 */
import type { Coder, Thinker } from '../core/interfaces.ts';
import { OfflineCoder, OfflineThinker } from './offline.ts';

export interface Agents {
  name: string;
  thinker: Thinker;
  coder: Coder;
}

export const OFFLINE_AGENT = 'offline';

export function createAgents(spec: string): Agents {
  if (spec === OFFLINE_AGENT) return { name: OFFLINE_AGENT, thinker: new OfflineThinker(), coder: new OfflineCoder() };
  throw new Error(`agent files are not supported yet: ${spec}`);
}
