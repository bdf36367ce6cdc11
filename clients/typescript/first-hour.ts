// A strict TypeScript integrator program, type-checked in CI against types generated from the served
// document by openapi-typescript (clients/check.sh). It is never run: `tsc --strict` proves that the
// generated types let an integrator list products, place an order and branch on an error code.
import createClient from "openapi-fetch";
import type { components, paths } from "../nuvlyx-api.js";

type Error = components["schemas"]["Error"];
type Product = components["schemas"]["ProductListItem"];

const api = createClient<paths>({
  baseUrl: "https://api.nuvlyx.com/api/v1/external",
  headers: { Authorization: "Bearer nvl_live_..." },
});

export async function firstHour(phone: string): Promise<string> {
  const products = await api.GET("/products", { params: { query: { status: "ACTIVE" } } });
  if (products.error) return `cannot list products: ${products.error.code}`;
  const active: Product[] = products.data;
  const variation = active[0]?.variations[0];
  if (!variation) return "nothing to sell";
  const price: string = variation.price; // money is a decimal string: never a float

  const order = await api.POST("/orders", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { customerPhone: phone, items: [{ variationId: variation.id }] },
  });
  if (order.error) {
    const error: Error = order.error;
    switch (error.code) {
      case "insufficient_balance":
        return `recharge first: ${variation.sku} costs ${price}`;
      case "out_of_stock":
        return "sold out";
      case "phone_not_linked":
        return "link your WhatsApp number first";
      default:
        return `${error.statusCode} ${error.code}: ${error.message}`; // unknown codes are still strings
    }
  }
  const placed = order.data; // 201 OrderPlaced
  const detail = await api.GET("/orders/{id}", { params: { path: { id: placed.orderId } } });
  if (detail.error) return detail.error.message;
  const credentials = detail.data.items.map((item) => item.license?.credentials ?? "pending");

  const page = await api.GET("/orders", { params: { query: { page: 1, limit: 20 } } });
  const total: number = page.data ? page.data.pagination.total : 0;
  return `${placed.orderNumber} ${placed.status} (${total} orders): ${credentials.join(", ")}`;
}
