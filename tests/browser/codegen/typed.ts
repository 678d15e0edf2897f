// What a client written against the generated types relies on; `tsc` checks it in CI.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  ClaimDocument,
  OffersDocument,
  type ClaimMutation,
  type ClaimMutationVariables,
  type OffersQuery,
  type OffersQueryVariables,
  type PendingQuery,
} from "./gql/graphql";

// Each document carries the types of its result and its variables.
export const offers: TypedDocumentNode<OffersQuery, OffersQueryVariables> = OffersDocument;
export const claim: TypedDocumentNode<ClaimMutation, ClaimMutationVariables> = ClaimDocument;

type Offer = OffersQuery["coupons"]["nodes"][number];

export const title = (o: Offer): string => o.title;
export const nextPage = (q: OffersQuery): string | null =>
  q.coupons.pageInfo.hasNextPage ? q.coupons.pageInfo.endCursor : null;

// A field a viewer may not read is nullable, so a client has to handle its absence.
export const licence = (o: Offer): string => o.merchant.licenceNo ?? "—";
// @ts-expect-error licenceNo is `string | null`
export const unchecked = (o: Offer): string => o.merchant.licenceNo;

// Enums are string unions; a status outside the schema is an error.
export const claimed: ClaimMutation["claimCoupon"]["status"] = "CLAIMED";
// @ts-expect-error no such claim status
export const bogus: ClaimMutation["claimCoupon"]["status"] = "LOST";

// A required variable cannot be left out.
export const claimOne: ClaimMutationVariables = { id: "Q291cG9uOjE" };
// @ts-expect-error `id` is required
export const claimNothing: ClaimMutationVariables = {};

export const pendingNames = (q: PendingQuery): string[] => q.merchants.edges.map((e) => e.node.name);
