/**
 * YAML text → plain data (channels.yaml, stb.yaml, the admin API's import).
 * Apart from config.ts so that the validator runs in the admin UI's browser
 * without the yaml package.
 */
import { parseDocument } from 'yaml';
import { ConfigError } from './config.js';

/**
 * YAML text → plain data, or one ConfigError listing every syntax error with
 * line and column (channels.yaml, stb.yaml). The yaml package is pure: no I/O.
 */
export function parseYamlText(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line}, column ${pos.col}` : 'YAML'}: ${e.message.split('\n')[0]}`;
      }),
      file,
    );
  }
  return doc.toJS();
}

