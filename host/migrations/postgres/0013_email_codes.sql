-- Sign-in codes by email as a person's second factor (when the operator configures SMTP).
ALTER TABLE users ADD COLUMN email_2fa BIGINT NOT NULL DEFAULT 0;
