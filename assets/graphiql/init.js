// Starts GraphiQL against this server's endpoint. Every asset comes from the server itself, so
// the page works offline and where public CDNs are out of reach.
(function () {
  var defaultQuery = [
    "# 商居同盟 shangju: try a query, then open the Docs panel for the whole schema.",
    "{",
    "  merchants(first: 5) {",
    "    totalCount",
    "    nodes { name category community { name } }",
    "  }",
    "}",
    "",
  ].join("\n");
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
