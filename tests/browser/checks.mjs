// The checks of one client-tooling test: each prints a line, and `finish` prints the count and
// exits 1 if any failed.
let passed = 0;
const failures = [];

export const check = (ok, what) => {
  console.log(`${ok ? "ok" : "FAILED"}: ${what}`);
  if (ok) passed += 1;
  else failures.push(what);
};

export const finish = () => {
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
};
