/**
 * Running roomcast-stb's commands in the integration tests: the built CLI
 * against a running agent's control port, with a clean environment (tap's
 * NODE_OPTIONS loader must not reach the child).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './headend.js';

export const AGENT_MAIN = join(REPO_ROOT, 'dist/stb-agent/main.js');

export function agentEnv(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_OPTIONS;
  return e;
}

/** `roomcast-stb <args> --control-port <port>`: its exit code and output. */
export function stbCli(port: number, args: string[], timeoutMs = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [AGENT_MAIN, ...args, '--control-port', String(port)], { timeout: timeoutMs, env: agentEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}
