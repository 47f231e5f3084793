#!/usr/bin/env node
// Runs the SDK's own tests (test/*.test.ts) under Node: bundles each with esbuild, the host
// imports replaced by test/host-stub.ts, then `node --test`. Exits non-zero when one fails.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "..", "..", "target", "sdk-ts-tests");
const tests = readdirSync(here).filter((f) => f.endsWith(".test.ts"));
const stub = join(here, "host-stub.ts");
await esbuild.build({
  entryPoints: tests.map((f) => join(here, f)),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: out,
  outExtension: { ".js": ".mjs" },
  logLevel: "warning",
  plugins: [
    {
      name: "portico-host-stub",
      setup(build) {
        build.onResolve({ filter: /^portico:/ }, () => ({ path: stub }));
      },
    },
  ],
});
const run = spawnSync(process.execPath, ["--test", ...tests.map((f) => join(out, f.replace(/\.ts$/, ".mjs")))], { stdio: "inherit" });
process.exit(run.status ?? 1);
