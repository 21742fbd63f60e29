// Where the worker threads' entry files are. Not new URL('./x', import.meta.url): in the CLI's
// bundle (build/cli/main.js, as deep as src/cli) that names build/cli; from the root it holds in both.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function serverFile(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'server', name);
}
