#!/usr/bin/env node
// Builds a TypeScript (or JavaScript) Portico plugin into a sandboxed component:
//   node guest-sdk-ts/build.mjs <plugin-dir> [-o <out.wasm>] [--no-pack]
// 1. type-checks it (tsc, strict), 2. bundles src/index.ts with the SDK (esbuild; the
// `portico:mapper/*` imports stay imports), 3. makes a component of the `mapper` world with
// componentize-js, without the WASI features a mapping does not need (no HTTP, no clocks, no
// randomness: Date.now() and Math.random() are fixed, so a mapping is deterministic), and
// 4. embeds portico.toml with `portico plugin pack`, which also runs every check an upload runs.
// The portico binary is $PORTICO_BIN, else target/debug/portico or target/release/portico of
// this repository, else `portico` on the PATH.
import { componentize } from "@bytecodealliance/componentize-js";
import * as esbuild from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const sdk = dirname(fileURLToPath(import.meta.url));
const repo = resolve(sdk, "..");
const args = process.argv.slice(2);
// --no-pack: stop before `portico plugin pack` and write the bare component (for tools that
// embed the manifest themselves, such as the test suite).
const noPack = args.includes("--no-pack");
if (noPack) args.splice(args.indexOf("--no-pack"), 1);
const outAt = args.indexOf("-o");
const out = outAt >= 0 ? resolve(args.splice(outAt, 2)[1]) : undefined;
if (args.length !== 1) {
  console.error("usage: node guest-sdk-ts/build.mjs <plugin-dir> [-o <out.wasm>] [--no-pack]");
  process.exit(2);
}
const dir = resolve(args[0]);
const name = basename(dir);
const entry = ["src/index.ts", "src/index.js"].map((f) => join(dir, f)).find(existsSync);
if (!entry) throw new Error(`${dir} has no src/index.ts or src/index.js`);
if (!existsSync(join(dir, "portico.toml"))) throw new Error(`${dir} has no portico.toml`);
const target = out ?? join(repo, "target", "plugins", "ts", `${name}.wasm`);
const work = join(repo, "target", "plugins-ts", name);
mkdirSync(work, { recursive: true });
mkdirSync(dirname(target), { recursive: true });
const step = (what, started) => console.log(`${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

let t = performance.now();
if (entry.endsWith(".ts")) {
  const tsc = join(sdk, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", dir, "--noEmit"], { stdio: "inherit" });
  } catch {
    process.exit(1);
  }
  step("type-checked", t);
}

t = performance.now();
const bundle = join(work, "plugin.js");
await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  outfile: bundle,
  external: ["portico:*"],
  alias: { "@portico/plugin-sdk": join(sdk, "src", "index.ts") },
  logLevel: "warning",
});
step("bundled", t);

t = performance.now();
const { component } = await componentize({
  sourcePath: bundle,
  witPath: join(repo, "wit"),
  worldName: "mapper",
  disableFeatures: ["random", "clocks", "http", "fetch-event"],
});
const raw = join(work, "component.wasm");
writeFileSync(raw, component);
step(`componentized (${(component.length / 1e6).toFixed(1)} MB)`, t);

if (noPack) {
  writeFileSync(target, component);
  process.exit(0);
}

t = performance.now();
const portico =
  process.env.PORTICO_BIN ??
  ["debug", "release"].map((p) => join(repo, "target", p, "portico")).find(existsSync) ??
  "portico";
try {
  execFileSync(portico, ["plugin", "pack", raw, "--manifest", join(dir, "portico.toml"), "-o", target], {
    stdio: "inherit",
  });
} catch {
  process.exit(1);
}
step("packed and checked", t);
