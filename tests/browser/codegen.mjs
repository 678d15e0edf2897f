// graphql-codegen's client preset, as the API guide's client section shows it: types generated from
// schema.graphql and from a development server's introspection must be the same, must
// type-check a client's use of them (nullable restricted fields, enums as unions, required
// variables), and every document must be one the server accepts.
//
//   node tests/browser/codegen.mjs http://127.0.0.1:8000/graphql
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { check, finish } from "./checks.mjs";

const url = process.argv[2];
if (!url) {
  console.error("usage: node codegen.mjs GRAPHQL_URL");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, "codegen");
const bin = (name) => join(here, "node_modules", ".bin", name);
const run = (what, cmd, args, env = {}) => {
  try {
    execFileSync(cmd, args, { cwd: dir, env: { ...process.env, ...env }, stdio: "pipe" });
    return true;
  } catch (e) {
    console.error(`${what}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    return false;
  }
};
const generate = (schema) => {
  rmSync(join(dir, "gql"), { recursive: true, force: true });
  const ok = run(`codegen from ${schema ?? "schema.graphql"}`, bin("graphql-codegen"), ["--config", "codegen.ts"], schema ? { SCHEMA: schema } : {});
  return ok ? readFileSync(join(dir, "gql", "graphql.ts"), "utf8") : null;
};

const fromFile = generate(null);
check(fromFile !== null, "codegen generates types from schema.graphql");
check(fromFile !== null && run("tsc", bin("tsc"), ["-p", "tsconfig.json"]), "a client's use of the generated types type-checks");
const fromServer = generate(url);
check(fromServer !== null, "codegen generates types from the server's introspection");
check(fromFile !== null && fromFile === fromServer, "both give the same types");

for (const file of readdirSync(join(dir, "documents"))) {
  const text = readFileSync(join(dir, "documents", file), "utf8");
  for (const op of parse(text).definitions) {
    const resp = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify({ query: text, operationName: op.name.value, variables: { id: "x", code: "x", key: "x" } }),
    });
    // 400 means the server refused the document itself; errors while running it are fine here.
    check(resp.status === 200, `the server accepts ${file}: ${op.name.value} (${resp.status})`);
  }
}
rmSync(join(dir, "gql"), { recursive: true, force: true });
finish();
