// The typed client must match the API: schema.d.ts is generated from docs/openapi.json
// (which a Python test keeps equal to the running app's document). Regenerate with
// `make web-api` after changing a route.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { expect, it } from "vitest";

it("schema.d.ts is generated from the current docs/openapi.json", async () => {
  const document = resolve(__dirname, "../../../docs/openapi.json");
  const generated = astToString(await openapiTS(new URL(`file://${document}`)));
  const committed = readFileSync(resolve(__dirname, "schema.d.ts"), "utf8");
  const body = (text: string) => text.slice(text.indexOf("export interface paths"));
  expect(body(committed) === body(generated), "web/src/api/schema.d.ts is stale: run `make web-api`").toBe(true);
}, 30_000);
