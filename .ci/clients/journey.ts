// The README's shopper and staff journeys through the TypeScript client generated from the
// live schema (openapi-typescript types, openapi-fetch calls), as a web app would make them,
// plus the error answers a UI must recover from. No casts: every value comes out of the
// generated types by narrowing (lint_ts.mjs and `tsc --strict` check it). run.py starts the
// server and sets FOODIES_API (its recording proxy) and the staff account.
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./build/schema.js";

type Order = components["schemas"]["Order"];
type StaffStatus = components["schemas"]["StatusChangeStatusEnum"];

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`journey: ${what}`);
}

function log(what: string): void {
  console.log(`  [ts] ${what}`);
}

const baseUrl = setting("FOODIES_API");
const anonymous = createClient<paths>({ baseUrl });
const withToken = (access: string) => createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${access}` } });

// An error answer: its status and its `code` (the error bodies of an operation are a union
// of the documented shapes, narrowed here by looking).
function expectError(error: unknown, status: number, code: string, response: Response): void {
  check(response.status === status, `expected ${status}, got ${response.status}`);
  const found = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  check(found === code, `expected code ${code}, got ${JSON.stringify(error)}`);
}

async function login(email: string, password: string): Promise<string> {
  const { data, response } = await anonymous.POST("/api/v1/auth/token/", { body: { email, password } });
  check(data !== undefined, `login ${email}: ${response.status}`);
  check(data.access_expires_in > 0 && data.refresh_expires_in > data.access_expires_in, "token lifetimes");
  return data.access;
}

async function shopper(): Promise<string> {
  const health = await anonymous.GET("/api/v1/health/");
  check(health.data?.status === "ok", "health");

  // Register, with a validation error first (400 with the field's messages).
  const email = `ts-${randomUUID()}@clients.example.com`;
  const password = "a-long-Passphrase-9";
  const refused = await anonymous.POST("/api/v1/auth/register/", { body: { email: "not-an-e-mail", password } });
  check(refused.response.status === 400, `register, bad e-mail: ${refused.response.status}`);
  check(refused.error !== undefined && "email" in refused.error, "register names the e-mail field");
  const registered = await anonymous.POST("/api/v1/auth/register/", { body: { email, password, name: "Ani" } });
  check(registered.data?.email === email, `register: ${registered.response.status}`);
  log(`registered ${email}`);

  const access = await login(email, password);
  const me = withToken(access);
  const profile = await me.GET("/api/v1/auth/me/");
  check(profile.data?.email === email, "profile");
  const patched = await me.PATCH("/api/v1/auth/me/", { body: { phone: "+62 811 222 333" } });
  check(patched.data?.phone === "+62811222333", "profile phone (stored in E.164)");

  // A bad token: 401 where an account is needed, ignored on the menu (a stale tab still reads it).
  const stale = withToken("not-a-token");
  const denied = await stale.GET("/api/v1/auth/me/");
  expectError(denied.error, 401, "token_not_valid", denied.response);
  const menuAnyway = await stale.GET("/api/v1/categories/");
  check(menuAnyway.data !== undefined && menuAnyway.data.count > 0, "menu with a stale token");
  check(menuAnyway.response.headers.get("Token-Ignored") === "token_not_valid", "Token-Ignored header");

  // The menu: categories, a filtered and ordered product list, a dish with its options.
  const categories = await me.GET("/api/v1/categories/");
  check(categories.data !== undefined && categories.data.results.length > 0, "categories");
  const listed = await me.GET("/api/v1/products/", {
    params: { query: { category: "rice", available: "true", ordering: ["-price"], page_size: 5 } },
  });
  check(listed.data !== undefined && listed.data.results.length > 0, "rice dishes");
  const prices = listed.data.results.map((product) => product.price ?? 0);
  check(prices.every((price, i) => i === 0 || price <= (prices[i - 1] ?? 0)), `ordering=-price: ${prices}`);
  const dish = await me.GET("/api/v1/products/{slug}/", { params: { path: { slug: "nasi-goreng-spesial" } } });
  check(dish.data !== undefined && dish.data.option_groups.length > 0, "nasi goreng with its option groups");
  const missing = await me.GET("/api/v1/products/{slug}/", { params: { path: { slug: "no-such-dish" } } });
  expectError(missing.error, 404, "not_found", missing.response);

  // The cart: a dish with options and a note, and a drink.
  const added = await me.POST("/api/v1/cart/items/", {
    body: { product: "nasi-goreng-spesial", quantity: 2, options: ["pedas-level-3", "extra-telur"], note: "tanpa bawang" },
  });
  check(added.response.status === 201, `cart add: ${added.response.status} ${JSON.stringify(added.error)}`);
  // Prefer: return=minimal: 204 with no body, the cart is not rendered.
  const drink = await me.POST("/api/v1/cart/items/", {
    params: { header: { Prefer: "return=minimal" } },
    body: { product: "es-teh-manis", quantity: 2 },
  });
  check(
    drink.response.status === 204 && drink.response.headers.get("Preference-Applied") === "return=minimal",
    `cart add drink: ${drink.response.status}`,
  );
  const cart = await me.GET("/api/v1/cart/");
  check(cart.data !== undefined && cart.data.item_count === 4 && cart.data.total > 0, "cart of 4 units");

  // Checkout with a pickup slot (or as soon as possible), under an Idempotency-Key; a retry replays it.
  const slots = await anonymous.GET("/api/v1/shop/slots/", { params: { query: { date: "tomorrow" } } });
  check(slots.data !== undefined, "slots");
  const slot = slots.data.find((candidate) => candidate.remaining > 0);
  const key = randomUUID();
  const checkout = { notes: "not too spicy", pickup_slot: slot === undefined ? null : slot.id };
  const placed = await me.POST("/api/v1/orders/", { params: { header: { "Idempotency-Key": key } }, body: checkout });
  check(placed.data !== undefined, `checkout: ${placed.response.status} ${JSON.stringify(placed.error)}`);
  const order: Order = placed.data;
  check(order.status === "pending_payment" && order.total === cart.data.total, "placed, pending payment");
  const replay = await me.POST("/api/v1/orders/", { params: { header: { "Idempotency-Key": key } }, body: checkout });
  check(replay.data?.number === order.number, "the retry replays the order");
  check(replay.response.headers.get("Idempotent-Replayed") === "true", "Idempotent-Replayed header");
  log(`order ${order.number}, ${order.total} ${order.currency}`);
  const again = await me.POST("/api/v1/orders/", { body: {} });
  expectError(again.error, 400, "cart_empty", again.response);

  // Pay with the mock gateway, then poll the order until it is paid and has its invoice.
  check(order.payment !== null, "the order has a payment to make");
  const paid = await anonymous.POST("/api/v1/payments/mock/{token}/", {
    params: { path: { token: order.payment.token } },
    body: { transaction_status: "settlement", payment_type: "qris" },
  });
  check(paid.response.status === 200, `mock payment: ${paid.response.status}`);
  let current: Order | undefined;
  for (let attempt = 0; attempt < 60; attempt++) {
    const polled = await me.GET("/api/v1/orders/{number}/", { params: { path: { number: order.number } } });
    current = polled.data;
    if (current !== undefined && current.status === "paid" && current.invoice !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  check(current !== undefined && current.status === "paid" && current.invoice !== null, "paid, with an invoice");
  const payAgain = await me.POST("/api/v1/orders/{number}/pay/", { params: { path: { number: order.number } } });
  expectError(payAgain.error, 409, "payment_not_allowed", payAgain.response);
  const invoices = await me.GET("/api/v1/invoices/");
  const invoice = invoices.data?.results.find((candidate) => candidate.order_number === order.number);
  check(invoice !== undefined, "the invoice is listed");
  const pdf = await me.GET("/api/v1/invoices/{number}/pdf/", {
    params: { path: { number: invoice.number } },
    parseAs: "arrayBuffer",
  });
  check(pdf.data !== undefined, `invoice PDF: ${pdf.response.status}`);
  const head = new TextDecoder().decode(pdf.data.slice(0, 5));
  check(head === "%PDF-" && pdf.response.headers.get("Content-Type") === "application/pdf", "a PDF");
  log(`paid; invoice ${invoice.number}, ${pdf.data.byteLength} bytes of PDF`);
  return order.number;
}

async function staff(number: string): Promise<void> {
  const access = await login(setting("FOODIES_STAFF_EMAIL"), setting("FOODIES_STAFF_PASSWORD"));
  const desk = withToken(access);
  const paid = await desk.GET("/api/v1/orders/", { params: { query: { status: "paid", page_size: 100 } } });
  check(paid.data !== undefined, "staff order list");
  check(
    paid.data.results.some((order) => order.number === number),
    `the paid order is in staff's list of paid orders`,
  );
  const forward: StaffStatus[] = ["preparing", "ready", "completed"];
  for (const status of forward) {
    const moved = await desk.POST("/api/v1/orders/{number}/status/", {
      params: { path: { number } },
      body: { status, note: "journey" },
    });
    check(moved.data?.status === status, `to ${status}: ${moved.response.status} ${JSON.stringify(moved.error)}`);
  }
  const backwards = await desk.POST("/api/v1/orders/{number}/status/", {
    params: { path: { number } },
    body: { status: "preparing" },
  });
  expectError(backwards.error, 409, "invalid_transition", backwards.response);
  // The recovery fields, read from the body. openapi-fetch types `error` as the union of
  // every error status's bodies, and `code` cannot tell it apart (the generic Error's `code`
  // is any string, FieldErrors has any key): `in` narrows by a field this error has.
  const refusal = backwards.error;
  check(
    refusal !== undefined &&
      "requested" in refusal &&
      refusal.code === "invalid_transition" &&
      refusal.status === "completed" &&
      refusal.requested === "preparing",
    `invalid_transition names both statuses: ${JSON.stringify(backwards.error)}`,
  );
  log(`staff moved ${number} to completed; back to preparing is a 409`);
}

const number = await shopper();
await staff(number);
console.log("  [ts] journeys done");
