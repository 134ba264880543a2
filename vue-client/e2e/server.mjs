// Shared by the end-to-end tests: start app.py on a free loopback port with the given settings, wait for
// /api/v1/ready, and stop it again (SIGTERM by PID, SIGKILL if it lingers).
import { spawn } from 'node:child_process'
import { existsSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
export const PYTHON = process.env.TP_PYTHON ?? join(REPO, '.venv', 'bin', 'python')

/** @typedef {{ child: import('node:child_process').ChildProcess, url: string, log: string }} App */

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address())
      probe.close(() => resolve(port))
    })
    probe.on('error', reject)
  })
}

/** The end of a log file (for failure messages). @param {string} log */
export function tail(log) {
  return existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : ''
}

/**
 * `python app.py` in the checkout, offline, with `env` on top; resolves once /api/v1/ready answers 200.
 * @param {string} work a scratch folder (the server's log goes there)
 * @param {Record<string, string>} env the TP_ settings of this test
 * @returns {Promise<App>}
 */
export async function startApp(work, env) {
  const port = await freePort()
  const log = join(work, 'server.log')
  const out = openSync(log, 'w')
  const child = spawn(PYTHON, ['app.py'], {
    cwd: REPO,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      HF_HUB_OFFLINE: '1',
      TOKENIZERS_PARALLELISM: 'false',
      GRADIO_ANALYTICS_ENABLED: 'False',
      TP_HOST: '127.0.0.1',
      TP_PORT: String(port),
      TP_CACHE_DIR: join(work, 'cache'), // the ONNX export of this run, not the user's ~/.cache/tp
      TP_VARIANT: 'none', // what the tests expect of the shipped model, even after `tp optimize` made variants here
      ...env,
    },
  })
  const url = `http://127.0.0.1:${port}${env.TP_ROOT_PATH ?? ''}`
  const deadline = Date.now() + 240_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`app.py exited with ${child.exitCode}:\n${tail(log)}`)
    const ready = await fetch(`${url}/api/v1/ready`).then((res) => res.ok, () => false)
    if (ready) return { child, url, log }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  child.kill('SIGKILL')
  throw new Error(`app.py was not ready within 240 s:\n${tail(log)}`)
}

/** SIGTERM by PID (the one process the test started), SIGKILL after `graceMs`. @param {App | undefined} app */
export async function stopApp(app, graceMs = 15_000) {
  const child = app?.child
  if (!child || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
