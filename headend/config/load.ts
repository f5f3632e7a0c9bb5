import { readFile } from 'node:fs/promises';
import { availableParallelism, networkInterfaces } from 'node:os';
import { ConfigError, interfaceNetwork, parseCidr, validateLineup, type LineupConfig } from '../../core/lineup/config.js';
import { parseYamlText } from '../../core/lineup/yaml.js';

/**
 * Read and validate channels.yaml. YAML syntax errors and schema problems are
 * reported together as one ConfigError listing every problem with its place.
 */
export async function loadLineupFile(file: string): Promise<LineupConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read the file: ${(err as Error).message}`], file);
  }
  return parseLineupYaml(text, file);
}

export function parseLineupYaml(text: string, file = 'channels.yaml'): LineupConfig {
  const doc = parseYamlText(text, file);
  const cfg = validateLineup(doc, { file, maxWorkers: availableParallelism() });
  checkInterfaceIsLocal(cfg, file);
  return cfg;
}

/**
 * headend.interface must be an address of this machine: multicast is sent
 * from it, and a typo would otherwise surface as a socket error per channel.
 */
export function checkInterfaceIsLocal(cfg: LineupConfig, file: string, ifaces = networkInterfaces()): void {
  const local = Object.values(ifaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4')
    .map((a) => a.address);
  if (!local.includes(cfg.headend.interface)) {
    throw new ConfigError([`headend.interface: ${cfg.headend.interface} is not an address of this machine (it has ${local.join(', ')})`], file);
  }
}

/**
 * The networks the FCC server answers (headend.fcc.stbSubnets), parsed; when
 * none are configured, the subnet of headend.interface as this machine has it
 * (the IPTV VLAN the STBs share with the headend).
 */
export function resolveStbNetworks(cfg: LineupConfig, ifaces = networkInterfaces()): { cidrs: string[]; networks: { network: number; mask: number }[] } {
  let cidrs = [...cfg.headend.fcc.stbSubnets];
  if (cidrs.length === 0) cidrs = [interfaceNetwork(ifaces, cfg.headend.interface)?.cidr ?? `${cfg.headend.interface}/32`];
  const networks = cidrs.map((c) => parseCidr(c)).filter((n): n is NonNullable<typeof n> => n !== null);
  return { cidrs, networks };
}
