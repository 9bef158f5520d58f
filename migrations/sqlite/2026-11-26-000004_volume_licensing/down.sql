ALTER TABLE service_requests DROP COLUMN target;
ALTER TABLE service_requests DROP COLUMN agreement_id;
DROP TABLE subscription_addons;
DROP TABLE agreement_subscriptions;
DROP TABLE agreement_invoices;
DROP TABLE agreement_activations;
DROP TABLE agreement_order_lines;
DROP TABLE agreement_orders;
DROP TABLE agreements;
