import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

const OUT_DIR = "../bxb/webapp/dist";

/** After the bundle is written, a `.gz` (level 9) beside each text asset: the API serves
 * it to browsers that accept gzip, so it never compresses on a request (bxb/webapp). */
function gzipAssets(): Plugin {
  let outDir = OUT_DIR;
  const compressible = /\.(js|css|svg|html)$/;
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  return {
    name: "bxb-gzip-assets",
    apply: "build",
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    writeBundle() {
      for (const file of walk(outDir)) {
        if (compressible.test(file)) {
          writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
        }
      }
    },
  };
}

// The bundle lands inside the Python package, so a wheel ships it (bxb/webapp/dist).
export default defineConfig({
  plugins: [react(), tailwindcss(), gzipAssets()],
  base: "/",
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
