DROP TABLE bill_lines;
DROP TABLE bills;
ALTER TABLE subscriptions DROP COLUMN ended_at;
ALTER TABLE subscriptions DROP COLUMN disabled_at;
ALTER TABLE subscriptions DROP COLUMN past_due_since;
ALTER TABLE subscriptions DROP COLUMN payment_method_id;
DROP TABLE payment_methods;
