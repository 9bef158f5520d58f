DROP TABLE group_apps_turned_off;
