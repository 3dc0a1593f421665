import { defineConfig } from "vite";

// Everything is bundled into dist/: the app must run with no network at all.
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    assetsInlineLimit: 0,
  },
});
