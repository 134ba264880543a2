import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Where `npm run dev` forwards the API: a tp server started with `python app.py` (TP_PORT, default 7860).
const apiTarget = process.env.TP_API_TARGET ?? 'http://127.0.0.1:7860'
const toApp = { target: apiTarget, changeOrigin: true }

export default defineConfig({
  plugins: [vue()],
  base: './', // relative asset URLs: the build works at /app/ and behind a proxy sub-path (TP_ROOT_PATH)
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: { '/api': toApp, '/docs': toApp, '/openapi.json': toApp },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
})
