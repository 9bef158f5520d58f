DROP TABLE license_usage_days;
