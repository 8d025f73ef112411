import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// `npm run dev` passes API calls to a node (WEINONG_NODE, e.g. http://127.0.0.1:8101);
// in production `weinong console` serves dist/ and does the same.
const node = process.env.WEINONG_NODE ?? 'http://127.0.0.1:8101'

export default defineConfig({
  plugins: [vue()],
  build: {
    target: 'es2022',
    // The bundle's size is measured (tests/bench.spec.ts), not warned about.
    chunkSizeWarningLimit: 4096,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/v1': node,
      '/healthz': node,
      '/readyz': node,
      '/metrics': node,
    },
  },
})
