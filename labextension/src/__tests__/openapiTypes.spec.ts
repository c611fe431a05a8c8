// src/openapi.ts is generated from the server's openapi.yaml by `jlpm gen:types`. Regenerating it here (in
// memory, with the same openapi-typescript CLI) means a change to the REST API's description cannot leave the
// panel's types behind. The CLI runs in a Node child process: its ES-module dependencies do not load in jest.
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const SPEC = join(ROOT, '..', 'nbmlops', 'server', 'openapi.yaml');
const GENERATED = join(ROOT, 'src', 'openapi.ts');

it('src/openapi.ts is what openapi-typescript makes of openapi.yaml', () => {
  const cli = join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
  const fresh = execFileSync(process.execPath, [cli, SPEC], { cwd: ROOT, encoding: 'utf8' });
  if (readFileSync(GENERATED, 'utf8') !== fresh) {
    throw new Error('types are stale: run jlpm gen:types');
  }
}, 60_000);
