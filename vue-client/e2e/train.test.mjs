// End to end: the Gradio demo's Train tab in Debian's Chromium. app.py serves the shipped text model with
// TP_TRAINING=true; the test uploads 120 real BBC News articles as a CSV, sees the preview, the labels and the
// baselines, trains a job on a tiny BERT (6 steps) while the page shows its progress, then serves the model it
// made. Screenshots before, during and after the job go to e2e/screenshots/ (or $E2E_SCREENSHOTS).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { checkBrowser, openBrowser, shot } from './browser.mjs'
import { PYTHON, startApp, stopApp } from './server.mjs'

const work = mkdtempSync(join(tmpdir(), 'tp-e2e-train-'))
/** @type {{ child: import('node:child_process').ChildProcess, url: string, log: string } | undefined} */
let server
/** @type {import('playwright-core').BrowserContext | undefined} */
let context
/** @type {import('playwright-core').Page} */
let page
/** @type {string[]} */
let pageErrors = []

// the upload (real BBC News articles, renamed columns) and a tiny BERT with MiniLM's tokenizer to train from
const PREPARE = `
import sys
from pathlib import Path
from transformers import AutoTokenizer, BertConfig, BertModel
from tp.data.sources import read_bbc_news
from tp.sources import builtin_path

work = Path(sys.argv[1])
frame = read_bbc_news().groupby("label", group_keys=False).head(24).reset_index(drop=True)
frame.rename(columns={"text": "article", "label": "topic"}).to_csv(work / "news.csv", index=False)
config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=64, max_position_embeddings=128)
BertModel(config).save_pretrained(work / "tiny-bert")
AutoTokenizer.from_pretrained(builtin_path("builtin:minilm")).save_pretrained(work / "tiny-bert")
`

before(async () => {
  checkBrowser()
  const made = spawnSync(PYTHON, ['-c', PREPARE, work], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } })
  assert.equal(made.status, 0, `could not prepare the upload and the tiny BERT:\n${made.stderr}`)
  server = await startApp(work, {
    TP_MODEL: 'models/bbc-news-minilm',
    TP_TRAINING: 'true',
    TP_JOBS_DIR: join(work, 'jobs'),
    TP_TRAINING_MODELS: `tiny-bert=${join(work, 'tiny-bert')}`,
    TP_JOB_THREADS: '1',
  })
  ;({ context, page, pageErrors } = await openBrowser(work, { timeout: 60_000 }))
})

after(async () => {
  await context?.close()
  await stopApp(server, 30_000)
  rmSync(work, { recursive: true, force: true })
})

test('the Train tab: upload, labels and baselines, a job that learns on the page, then served', async () => {
  await page.goto(`${server?.url}/`)
  await page.getByRole('tab', { name: 'Train' }).click()
  const tab = page.locator('[role="tabpanel"]:visible')
  await page.locator('#train-upload input[type="file"]').setInputFiles(join(work, 'news.csv'))
  const data = page.locator('#train-data')
  await data.getByText('tfidf_logreg').waitFor() // the baselines of the split tp will make, before training
  await tab.getByText('What tp will do').waitFor()
  assert.match(await data.innerText(), /120 rows/)
  assert.match(await data.innerText(), /business/)
  const base = tab.getByLabel('Base model', { exact: false })
  await base.fill('tiny-bert')
  await base.press('Enter')
  await tab.getByLabel('full', { exact: true }).check()
  await tab.getByLabel('Max steps', { exact: false }).fill('6')
  await tab.getByLabel('Serve as', { exact: false }).fill('browser-tiny')
  await shot(page, 'train-before')
  await tab.getByRole('button', { name: 'Start training' }).click()
  const status = page.locator('#train-status')
  await status.getByText(/queued|running/).first().waitFor()
  await shot(page, 'train-during')
  await status.getByText('succeeded').waitFor({ timeout: 240_000 })
  await page.locator('#train-result').getByText('this model').first().waitFor()
  await shot(page, 'train-after')
  await tab.getByRole('button', { name: 'Serve it' }).click()
  await page.locator('#train-result').getByText('Served as').first().waitFor()
  const models = await fetch(`${server?.url}/api/v1/models`).then((res) => res.json())
  assert.ok(models.models.some((/** @type {{ name: string }} */ model) => model.name === 'browser-tiny'))
  await shot(page, 'train-served')
  await page.reload() // a reload finds the job again
  await page.getByRole('tab', { name: 'Train' }).click()
  await page.locator('#train-status').getByText('succeeded').waitFor()
  await page.locator('#train-result').getByText('Served as').first().waitFor()
  assert.deepEqual(pageErrors, [])
})
