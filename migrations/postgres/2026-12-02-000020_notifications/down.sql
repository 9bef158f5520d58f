DROP TABLE notification_choices;
DROP TABLE license_alerts;
