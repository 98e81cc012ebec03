DROP TABLE platform_outbox;
DROP TABLE mail_queue;
DROP TABLE outbox;
DROP TABLE invites;
