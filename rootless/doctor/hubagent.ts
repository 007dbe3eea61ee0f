import { HUB_AGENT_BINARY } from '../../slirp/agent-client.js';
import { SPAWNER_BINARY } from '../spawner.js';
import { aptInstall, buildHubAgentCommand, buildSpawnerCommand } from './fixes.js';
import { findExecutable, isExecutableFile } from './paths.js';
import type { CheckContext, DoctorCheck } from './types.js';

/**
 * The hub agent (published ports, the networks' DNS) is a Go binary `npm run build` makes next to
 * the daemon's code; without it containers still run with --network none or host only.
 */
export async function checkHubAgent(ctx: CheckContext, binary = HUB_AGENT_BINARY): Promise<DoctorCheck> {
  if (await isExecutableFile(binary)) return { id: 'hub-agent', status: 'ok', detail: binary, essential: false };
  const go = await findGo(ctx);
  const build = buildHubAgentCommand();
  return {
    id: 'hub-agent',
    status: 'missing',
    detail: `${binary} not built (container networks, published ports and their DNS need it)`,
    fix: go ? build : `${aptInstall('golang-go')} && ${build}`,
    essential: false,
  };
}

async function findGo(ctx: CheckContext): Promise<string | null> {
  return (await findExecutable('go', ctx.env)) ?? ((await isExecutableFile('/usr/local/go/bin/go')) ? '/usr/local/go/bin/go' : null);
}

/**
 * The spawner (rootless/spawner) is the other Go binary `npm run build` makes: without it the daemon
 * forks its tools itself, which works but stalls its event loop on every container start.
 */
export async function checkSpawner(ctx: CheckContext, binary = SPAWNER_BINARY): Promise<DoctorCheck> {
  if (await isExecutableFile(binary)) return { id: 'spawner', status: 'ok', detail: binary, essential: false };
  const build = buildSpawnerCommand();
  return {
    id: 'spawner',
    status: 'degraded',
    detail: `${binary} not built (the daemon forks its tools itself: slower container starts under load)`,
    fix: (await findGo(ctx)) ? build : `${aptInstall('golang-go')} && ${build}`,
    essential: false,
  };
}
