// graphql-codegen's client preset over shangju's schema, as the API guide's client section shows it.
// SCHEMA is the schema file (default: the repository's schema.graphql) or a development
// server's /graphql URL, which codegen introspects.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: process.env.SCHEMA ?? "../../../schema.graphql",
  documents: ["documents/*.graphql"],
  generates: {
    "gql/": {
      preset: "client",
      config: { scalars: { DateTime: "string" }, enumsAsTypes: true },
    },
  },
};

export default config;
