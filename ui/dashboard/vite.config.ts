import { defineConfig } from "vite";

// Served by the sync server under /dashboard/, every asset bundled.
export default defineConfig({
  base: "/dashboard/",
  clearScreen: false,
  server: { port: 5174, strictPort: true },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    assetsInlineLimit: 0,
  },
});
