// The browser: Debian's Chromium (or $CHROMIUM_PATH) driven by the front end's own playwright-core,
// headless and without a GPU, as on CI; every page gets the same desktop-sized viewport.
import { createRequire } from 'node:module'
import path from 'node:path'

import { FRONTEND } from './paths.mjs'

const require = createRequire(path.join(FRONTEND, 'package.json'))
const { chromium } = require('playwright-core')

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
export const VIEWPORT = { width: 1440, height: 900 }

export const launchBrowser = () => chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
