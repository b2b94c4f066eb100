import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// In an app, 'av-elements' comes from node_modules; here, from this repository's build (npm run build).
export default defineConfig({
  plugins: [react()],
  resolve: { alias: { 'av-elements': fileURLToPath(new URL('../../dist/lib/components/index.js', import.meta.url)) } },
});
