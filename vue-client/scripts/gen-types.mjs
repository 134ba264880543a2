// Regenerate the client's API types: the app's OpenAPI document (python -m tp.cli.openapi) goes to
// openapi.json, then openapi-typescript turns it into src/schema.d.ts. Commit both files.
// tests/test_client_types.py fails when either drifts from the app.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const client = fileURLToPath(new URL('..', import.meta.url))
const repo = join(client, '..')
const python = process.env.TP_PYTHON ?? join(repo, '.venv', 'bin', 'python')

execFileSync(python, ['-m', 'tp.cli.openapi', join(client, 'openapi.json'), join(repo, 'models', 'bbc-news-minilm'),
  join(repo, 'models', 'digits-vit')], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, HF_HUB_OFFLINE: '1' },
})
execFileSync(join(client, 'node_modules', '.bin', 'openapi-typescript'), ['openapi.json', '-o', 'src/schema.d.ts'], {
  cwd: client,
  stdio: 'inherit',
})
