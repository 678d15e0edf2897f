// A real Apollo Client with its normalised cache against a running server: a field the viewer
// may not read comes back as null with an error whose path points at it, so the rest of the
// object is written to the cache and read back from it ("Missing field" would fail here).
//
//   node tests/browser/apollo.mjs http://127.0.0.1:8000/graphql
import apollo from "@apollo/client/core/core.cjs";
import { check, finish } from "./checks.mjs";

const { ApolloClient, InMemoryCache, HttpLink, gql } = apollo;
const url = process.argv[2];
if (!url) {
  console.error("usage: node apollo.mjs GRAPHQL_URL");
  process.exit(2);
}

const client = new ApolloClient({
  link: new HttpLink({ uri: url, fetch }),
  cache: new InMemoryCache(),
});
const QUERY = gql`
  query Offers {
    coupons(first: 3) {
      nodes { id title claimedCount merchant { id name licenceNo } }
    }
  }
`;
try {
  const result = await client.query({ query: QUERY, errorPolicy: "all" });
  const nodes = result.data?.coupons?.nodes ?? [];
  check(nodes.length > 0, "the public offers arrive");
  check(nodes.every((c) => typeof c.title === "string"), "every offer keeps its title");
  check(nodes.every((c) => c.claimedCount === null), "the private count is null");
  check(nodes.every((c) => c.merchant.licenceNo === null), "the private licence is null");
  const errors = result.errors ?? [];
  check(
    errors.length > 0 && errors.every((e) => e.extensions?.code === "FORBIDDEN" && Array.isArray(e.path)),
    "each refusal is a FORBIDDEN error with its path",
  );
  const cached = client.readQuery({ query: QUERY });
  check(cached?.coupons?.nodes?.length === nodes.length, "the whole result is in the cache");
} catch (e) {
  check(false, `apollo client: ${e.message}`);
}
finish();
