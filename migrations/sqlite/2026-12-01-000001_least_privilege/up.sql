-- PostgreSQL only (privileges of the app's role); SQLite has no roles.
SELECT 1;
