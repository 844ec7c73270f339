// A typed client for the CRM API, as a frontend would write it: openapi-fetch over the types
// that openapi-typescript generates from openapi/openapi.json (sdk/generate.sh writes them
// to sdk/out/typescript/schema.d.ts). CI type-checks this file with `tsc --strict`, so a
// change to the document that breaks these calls breaks the build.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./out/typescript/schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Customer = Schemas["Customer"];
export type Opportunity = Schemas["Opportunity"];
export type Probability = Schemas["Probability"];

/** Thrown for every error answer: the problem document the server sent, typed. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
  }
}

/** Fails on an error answer with its problem document; otherwise returns the data. */
function ok<T>(result: { data?: T; error?: Problem }): T {
  if (result.error !== undefined) throw new ApiError(result.error);
  if (result.data === undefined) throw new Error("empty answer");
  return result.data;
}

export function crmClient(baseUrl: string, credentials: { token?: string; apiKey?: string }) {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      if (credentials.token) request.headers.set("Authorization", `Bearer ${credentials.token}`);
      if (credentials.apiKey) request.headers.set("X-API-Key", credentials.apiKey);
      return request;
    },
  };
  client.use(auth);
  return client;
}

export type CrmClient = ReturnType<typeof crmClient>;

export async function signIn(baseUrl: string, username: string, password: string): Promise<CrmClient> {
  const anonymous = createClient<paths>({ baseUrl });
  const tokens = ok(await anonymous.POST("/api/v1/auth/login", { body: { username, password } }));
  return crmClient(baseUrl, { token: tokens.access_token });
}

/** A customer, or `null` when it does not exist (or is not the caller's to see). */
export async function findCustomer(client: CrmClient, id: string): Promise<Customer | null> {
  const { data, error } = await client.GET("/api/v1/customers/{id}", { params: { path: { id } } });
  if (error) {
    if (error.code === "not_found") return null;
    throw new ApiError(error);
  }
  return data;
}

/** Moves an open deal to another stage; `If-Match` carries the version last read. */
export async function moveDeal(client: CrmClient, deal: Opportunity, probability: Probability): Promise<Opportunity> {
  const { data, error, response } = await client.PATCH("/api/v1/opportunities/{id}", {
    params: { path: { id: deal.id }, header: { "If-Match": `"${deal.version}"` } },
    headers: { "Content-Type": "application/merge-patch+json" },
    body: { probability },
  });
  if (error) {
    // 412: someone changed the deal since it was read; 409 lists the moves allowed.
    if (response.status === 409 && error.allowed) console.warn("allowed moves:", error.allowed.join(", "));
    throw new ApiError(error);
  }
  return data;
}

/** The weighted pipeline by month, as `{month: weighted amount}`. */
export async function pipelineByMonth(client: CrmClient): Promise<Record<string, string>> {
  const forecast = ok(await client.GET("/api/v1/reports/forecast", { params: { query: { group_by: "month" } } }));
  return Object.fromEntries(forecast.groups.map((g) => [g.key, g.weighted_amount]));
}

/** What changed in a customer's history, one line per field. */
export async function changeLog(client: CrmClient, id: string): Promise<string[]> {
  const page = ok(await client.GET("/api/v1/customers/{id}/history", { params: { path: { id }, query: { limit: 20 } } }));
  const lines: string[] = [];
  for (const entry of page.items) {
    const action: Schemas["AuditAction"] = entry.action;
    for (const [field, change] of Object.entries(entry.changes)) {
      lines.push(`${entry.at} ${action} ${field}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}`);
    }
  }
  return lines;
}

/** Downloads an attachment's bytes (a PDF or a JPEG). */
export async function downloadAttachment(client: CrmClient, id: string): Promise<Blob> {
  return ok(await client.GET("/api/v1/attachments/{id}", { params: { path: { id } }, parseAs: "blob" }));
}

/** The customers the caller sees, as CSV text (UTF-8 with a byte-order mark). */
export async function exportCustomers(client: CrmClient, tier?: Schemas["Tier"]): Promise<string> {
  return ok(
    await client.GET("/api/v1/customers/export", {
      params: { query: { tier, sort: "-updated_at" } },
      parseAs: "text",
    }),
  );
}

/** An integrator's lead import: every row is answered. */
export async function importLeads(baseUrl: string, apiKey: string, leads: Schemas["NewLead"][]) {
  const client = crmClient(baseUrl, { apiKey });
  const report = ok(
    await client.POST("/api/v1/leads/import", {
      params: { header: { "Idempotency-Key": crypto.randomUUID() } },
      body: { leads },
    }),
  );
  const invalid = report.rows.filter((row) => row.status === "invalid");
  return { created: report.summary.created, invalid };
}
