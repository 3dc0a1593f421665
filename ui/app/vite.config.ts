import { defineConfig } from "vite";

// Everything is bundled into dist/: the app must run with no network at all.
// JSX is Preact's (esbuild's automatic runtime, no Babel).
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    assetsInlineLimit: 0,
  },
});
