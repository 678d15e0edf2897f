// The GraphQL-over-HTTP specification's audit (graphql-http's auditServer) against a running
// server: every audit must pass, warnings and notices included.
//
//   node tests/browser/audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs GRAPHQL_URL");
  process.exit(2);
}
const results = await auditServer({ url });
let ok = 0;
const bad = [];
for (const r of results) {
  if (r.status === "ok") ok += 1;
  else bad.push(r);
}
for (const r of bad) {
  const why = r.reason ?? "";
  console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${why}`);
}
console.log(`audit: ${ok} of ${results.length} ok`);
console.log(`${ok} passed, ${bad.length} failed`);
process.exit(bad.length ? 1 : 0);
