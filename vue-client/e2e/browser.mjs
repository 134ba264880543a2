// Shared by the end-to-end tests: Debian's Chromium, headless, in a fresh profile, and the page it drives.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const CLIENT = fileURLToPath(new URL('..', import.meta.url))
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SHOTS = process.env.E2E_SCREENSHOTS ?? join(CLIENT, 'e2e', 'screenshots')

/** Fail early, before a server starts, when the browser is missing; make the screenshots folder. */
export function checkBrowser() {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  mkdirSync(SHOTS, { recursive: true })
}

/**
 * Chromium with its profile in `work`; its page (desktop size) and the script errors that page reports.
 * @param {string} work a scratch folder
 * @param {{ timeout?: number, acceptDownloads?: boolean }} options
 */
export async function openBrowser(work, { timeout = 30_000, acceptDownloads = false } = {}) {
  const context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    acceptDownloads,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(timeout)
  /** @type {string[]} */
  const pageErrors = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  return { context, page, pageErrors }
}

/** A full-page screenshot as SHOTS/`name`.png. @param {import('playwright-core').Page} page @param {string} name */
export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

/** Follow the client's nav link to `hash` and wait until it is the current view. @param {import('playwright-core').Page} page @param {string} hash */
export async function openView(page, hash) {
  await page.click(`nav a[href="#${hash}"]`)
  await page.waitForSelector(`nav a[href="#${hash}"][aria-current="page"]`)
}
