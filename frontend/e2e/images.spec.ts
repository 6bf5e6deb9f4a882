// Issue 17's own images: a zip of PNG class folders uploaded through the page, LeNet trained on
// it, with the sample pictures and the confusion matrix on screen.
import { expect, test } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { node, openApp, setParam, shot } from './util'

test('upload a zip of PNG class folders, train LeNet on it, see its samples and confusion matrix', async ({ page }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-img-'))
  const zip = path.join(dir, 'halves.zip')
  // two classes of 16×16 gray PNGs: the bright half on the left or on the right
  const make = `
import sys, io, zipfile, random
from PIL import Image
random.seed(0)
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for split, n in (("train", 40), ("val", 12)):
        for cls in ("left", "right"):
            for i in range(n):
                im = Image.new("L", (16, 16), 20)
                x0 = 0 if cls == "left" else 8
                im.paste(200 + random.randint(0, 55), (x0, 0, x0 + 8, 16))
                b = io.BytesIO(); im.save(b, "PNG")
                z.writestr(f"{split}/{cls}/{i}.png", b.getvalue())
`
  execFileSync(path.resolve('../.venv/bin/python'), ['-c', make, zip])
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-lenet_digits_images').click()
  await expect(node(page, 'conv1')).toBeVisible()
  await setParam(page, 'fc3', 'out_features', '2')
  await page.getByTestId('tab-train').click()
  await page.getByTestId('train-epochs').fill('2')
  const upload = page.getByTestId('dataset-upload')
  await upload.locator('summary').click()
  await page.getByTestId('dataset-file').setInputFiles(zip)
  await page.getByTestId('upload-size').fill('28')
  await page.getByTestId('btn-upload-dataset').click()
  await expect(page.getByTestId('toast')).toContainText('Uploaded dataset “halves”')
  await expect(page.getByTestId('train-dataset')).toHaveValue('halves')
  // the usual loss for the new dataset's task
  await expect(page.getByTestId('train-loss')).toHaveValue('cross_entropy')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 50_000 })
  const cm = page.getByTestId('confusion-matrix')
  await expect(cm.getByTestId('cm-cell')).toHaveCount(4)
  await expect(cm.locator('thead th')).toHaveText(['true ╲ pred', 'left', 'right'])
  await page.getByTestId('btn-try-val').click()
  await expect(page.getByTestId('val-result').getByTestId('sample-image').first()).toBeVisible()
  await page.getByTestId('evaluation').scrollIntoViewIfNeeded()
  await shot(page, 'images-upload-confusion')
})
