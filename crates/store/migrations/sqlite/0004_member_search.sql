-- A trigram index for the member search (`q=`): a search for a part of a name or
-- email reads the matching members from the index instead of scanning every
-- member of the organization.
CREATE VIRTUAL TABLE member_search USING fts5 (
    search,
    org_id UNINDEXED,
    user_id UNINDEXED,
    tokenize = 'trigram'
);
-- Which index row belongs to which membership, so that updates and deletes are
-- lookups (an FTS5 table is only keyed by its own rowid).
CREATE TABLE member_search_keys (
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    search_row INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

INSERT INTO member_search (search, org_id, user_id) SELECT search, org_id, user_id FROM memberships;
INSERT INTO member_search_keys (org_id, user_id, search_row) SELECT org_id, user_id, rowid FROM member_search;

CREATE TRIGGER member_search_insert AFTER INSERT ON memberships BEGIN
    INSERT INTO member_search (search, org_id, user_id) VALUES (new.search, new.org_id, new.user_id);
    INSERT INTO member_search_keys (org_id, user_id, search_row) VALUES (new.org_id, new.user_id, last_insert_rowid());
END;

CREATE TRIGGER member_search_update AFTER UPDATE OF search ON memberships BEGIN
    UPDATE member_search SET search = new.search
    WHERE rowid = (SELECT search_row FROM member_search_keys WHERE org_id = old.org_id AND user_id = old.user_id);
END;

CREATE TRIGGER member_search_delete AFTER DELETE ON memberships BEGIN
    DELETE FROM member_search
    WHERE rowid = (SELECT search_row FROM member_search_keys WHERE org_id = old.org_id AND user_id = old.user_id);
    DELETE FROM member_search_keys WHERE org_id = old.org_id AND user_id = old.user_id;
END;
