-- Recipients a platform says can no longer be messaged (a Telegram user who
-- blocked the bot, a Viber user who unsubscribed, an archived Slack
-- channel): later sends are refused until the customer writes again.
CREATE TABLE contact_unreachable (
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    address              TEXT NOT NULL,
    reason               TEXT NOT NULL DEFAULT '',
    marked_at            BIGINT NOT NULL,
    PRIMARY KEY (point_of_contact_id, address)
);
