-- pgbench: the SQL of one POST /orders (one item, paid from the wallet), in one transaction.
-- The ceiling PostgreSQL alone puts on order placement; run by bench/run.py with
--   pgbench -n -M prepared -c 20 -j 2 -T <s> -D store=<uuid> -D ncust=<n> -D nvar=<n> -f bench/order_placement.sql
-- bench_customers / bench_variations (created by run.py) map 1..n to a customer phone and a
-- variation id with stock, the way the load generator picks them; those two lookups run before BEGIN.
-- Inside the transaction: what orders.services.order_place does for one stock-backed item
-- (customer by linked phone, variation + product, tier price, lock wallet, ledger + balance,
-- take a license with SKIP LOCKED, stock counters, order counter, order, item, 2 outbox events).
-- The events' payload is encrypted by the app (Fernet); here a base64 text of the same size stands in.
-- Prepared mode (-M prepared), as the app runs these statements (nuvlyx.core.sql.prepared_cursor): every
-- variable is a typed parameter (:x::uuid), so no variable may sit inside quotes.
\set c random(1, :ncust)
\set v random(1, :nvar)
SELECT phone AS phone, gen_random_uuid() AS oid FROM bench_customers WHERE n = :c \gset
SELECT variation_id AS var FROM bench_variations WHERE n = :v \gset
BEGIN;
SELECT c.id AS cust, COALESCE(c.tier_id::text, '00000000-0000-0000-0000-000000000000') AS tier, s.currency AS cur FROM wallets_customer c JOIN core_store s ON s.id = c.store_id WHERE c.store_id = :store::uuid AND c.phone = :phone::text AND c.phone_linked_at IS NOT NULL LIMIT 1 \gset
SELECT v.price AS base, v.sku AS sku, v.product_id AS prod, p.name AS pname FROM catalog_variation v JOIN catalog_product p ON p.id = v.product_id WHERE v.store_id = :store::uuid AND v.id = :var::uuid AND p.status = 'ACTIVE' \gset
SELECT COALESCE((SELECT price FROM catalog_tierprice WHERE tier_id = :tier::uuid AND variation_id = :var::uuid), :base::numeric) AS price \gset
SELECT balance AS bal FROM wallets_wallet WHERE customer_id = :cust::uuid FOR NO KEY UPDATE \gset
INSERT INTO wallets_ledgerentry (id, store_id, wallet_id, kind, amount, balance_after, reference, note, order_id, created_at) VALUES (gen_random_uuid(), :store::uuid, :cust::uuid, 'PURCHASE', -(:price::numeric), :bal::numeric - :price::numeric, '', '', :oid::uuid, now());
UPDATE wallets_wallet SET balance = :bal::numeric - :price::numeric, updated_at = now() WHERE customer_id = :cust::uuid;
SELECT id AS lic FROM catalog_license WHERE variation_id = :var::uuid AND status = 'AVAILABLE' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED \gset
UPDATE catalog_license SET status = 'DELIVERED', delivered_at = now(), expires_at = now() + interval '30 days' WHERE id = :lic::uuid;
UPDATE catalog_variation SET stock_available = stock_available - 1, stock_delivered = stock_delivered + 1, updated_at = now() WHERE id = :var::uuid;
UPDATE orders_ordercounter SET last_number = last_number + 1 WHERE store_id = :store::uuid RETURNING last_number AS num \gset
INSERT INTO orders_order (id, store_id, number, customer_id, status, total_amount, currency, notes, created_at, updated_at, completed_at) VALUES (:oid::uuid, :store::uuid, :num::int, :cust::uuid, 'COMPLETED', :price::numeric, :cur::text, '', now(), now(), now());
INSERT INTO orders_orderitem (id, store_id, order_id, position, product_id, variation_id, product_name, sku, price_paid, status, license_id, fulfilment_credentials_encrypted, fulfilment_note, delivered_at, expires_at, created_at) VALUES (gen_random_uuid(), :store::uuid, :oid::uuid, 0, :prod::uuid, :var::uuid, :pname::text, :sku::text, :price::numeric, 'DELIVERED', :lic::uuid, '', '', now(), now() + interval '30 days', now());
INSERT INTO core_event (id, store_id, type, payload_encrypted, created_at) VALUES (gen_random_uuid(), :store::uuid, 'order.created', encode(convert_to((jsonb_build_object('type', 'order.created', 'storeId', :store::uuid, 'data', jsonb_build_object('orderId', :oid::uuid, 'orderNumber', :num::int, 'status', 'COMPLETED', 'totalAmount', :price::text, 'customerId', :cust::uuid, 'items', jsonb_build_array(jsonb_build_object('productId', :prod::uuid, 'productName', :pname::text, 'sku', :sku::text, 'pricePaid', :price::text, 'status', 'DELIVERED', 'license', jsonb_build_object('id', :lic::uuid, 'credentials', 'user000000@mail.bench.test/pw-000000000000'))))))::text, 'UTF8'), 'base64'), now());
INSERT INTO core_event (id, store_id, type, payload_encrypted, created_at) VALUES (gen_random_uuid(), :store::uuid, 'order.completed', encode(convert_to((jsonb_build_object('type', 'order.completed', 'storeId', :store::uuid, 'data', jsonb_build_object('orderId', :oid::uuid, 'orderNumber', :num::int, 'status', 'COMPLETED', 'totalAmount', :price::text, 'customerId', :cust::uuid, 'items', jsonb_build_array(jsonb_build_object('productId', :prod::uuid, 'productName', :pname::text, 'sku', :sku::text, 'pricePaid', :price::text, 'status', 'DELIVERED', 'license', jsonb_build_object('id', :lic::uuid, 'credentials', 'user000000@mail.bench.test/pw-000000000000'))))))::text, 'UTF8'), 'base64'), now());
COMMIT;
