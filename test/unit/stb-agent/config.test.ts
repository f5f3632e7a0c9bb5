import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { validateStbConfig } from '../../../stb-agent/config.js';
import { ConfigError } from '../../../core/lineup/config.js';

const PACKAGED = fileURLToPath(new URL('../../../stb-agent/packaging/stb.yaml', import.meta.url));
const IFACES = { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }], eth0: [{ address: '10.20.0.7', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:07', internal: false, cidr: '10.20.0.7/16' }] } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;

t.test('the packaged /etc/roomcast/stb.yaml is valid and gives the documented defaults', async (t) => {
  const cfg = validateStbConfig(parse(readFileSync(PACKAGED, 'utf8')), 'stb.yaml', IFACES);
  t.equal(cfg.headend, null, 'mDNS by default');
  t.equal(cfg.interface, '10.20.0.7', 'the first non-loopback address');
  t.same(cfg.control, { address: '127.0.0.1', port: 8090 });
  t.same(cfg.fcc, { enabled: true, timeoutMs: 80 });
  t.equal(cfg.gate, true);
  t.equal(cfg.startChannel, 'last');
  t.same(validateStbConfig({}, 'x', IFACES), cfg, 'an empty file means the same');
});

t.test('every problem is listed with its path', async (t) => {
  try {
    validateStbConfig({ headend: 'ftp://x', interface: '10.9.9.9', startChannel: 'middle', output: { udp: 'nowhere' }, fcc: { timeoutMs: 1 }, colour: 'red' }, 'stb.yaml', IFACES);
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    const p = (e as ConfigError).problems;
    for (const want of ['colour: unknown key', 'headend: "ftp://x" is not an http', 'interface: 10.9.9.9 is not an address of this machine', 'startChannel: "middle"', 'output.udp: "nowhere" is not address:port', 'fcc.timeoutMs: 1 is not an integer'])
      t.ok(p.some((x) => x.includes(want)), want);
    t.equal(p.length, 6, p.join(' | '));
  }
});

t.test('a headend URL gets its trailing slash, a udp output is parsed', async (t) => {
  const cfg = validateStbConfig({ headend: 'http://10.20.0.1:8080', output: { udp: '127.0.0.1:1234' } }, 'x', IFACES);
  t.equal(cfg.headend, 'http://10.20.0.1:8080/');
  t.same(cfg.output.udp, { address: '127.0.0.1', port: 1234 });
});

t.test('stateFile: null (or --state-file \'\') means no state file, not the default path', async (t) => {
  t.equal(validateStbConfig({ stateFile: null }, 'x', IFACES).stateFile, null);
  t.equal(validateStbConfig({ stateFile: '' }, 'x', IFACES).stateFile, null);
  t.equal(validateStbConfig({}, 'x', IFACES).stateFile, '/var/lib/roomcast/stb-state.json');
});
