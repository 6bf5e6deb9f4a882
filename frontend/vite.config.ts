/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The backend serves dist/ at / and the API under /api. In dev, proxy /api to it.
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { '/api': { target: process.env.BLOCKLAB_API ?? 'http://127.0.0.1:8000', ws: true } },
  },
  build: { outDir: 'dist', chunkSizeWarningLimit: 800 },
  test: { include: ['src/**/*.test.{ts,tsx}'] },
})
