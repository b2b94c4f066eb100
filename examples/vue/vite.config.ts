import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Vue compiles av-* tags as custom elements. In an app, 'av-elements' comes from node_modules; here, from this
// repository's build (npm run build).
export default defineConfig({
  plugins: [vue({ template: { compilerOptions: { isCustomElement: (tag) => tag.startsWith('av-') } } })],
  resolve: { alias: { 'av-elements': fileURLToPath(new URL('../../dist/lib/components/index.js', import.meta.url)) } },
});
