-- Solutions with their versions, assignments (solution roles) and groups.

CREATE TABLE solutions (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    identifier     TEXT NOT NULL,
    icon_color     TEXT NOT NULL,
    icon_initials  TEXT NOT NULL,
    -- The highest published version by semantic-version order, kept here so a
    -- list needs no aggregate.
    latest_version TEXT,
    created_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (org_id, identifier)
);
CREATE INDEX solutions_org_name ON solutions (org_id, name, id);

CREATE TABLE solution_versions (
    solution_id  TEXT NOT NULL REFERENCES solutions (id) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    published_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (solution_id, version)
);

-- org_id is repeated so a member's assignments in one organization are one
-- index range (the member list, removal, solution counts); the user's email
-- (which never changes) so a solution's users page by email from one index.
CREATE TABLE solution_assignments (
    solution_id TEXT NOT NULL REFERENCES solutions (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (solution_id, user_id)
);
CREATE INDEX solution_assignments_member ON solution_assignments (org_id, user_id, solution_id);
CREATE INDEX solution_assignments_email ON solution_assignments (solution_id, email);

CREATE TABLE solution_groups (
    id          TEXT PRIMARY KEY,
    solution_id TEXT NOT NULL REFERENCES solutions (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (solution_id, name)
);

-- Only assigned users can be in a group: unassigning removes them from its groups.
CREATE TABLE solution_group_members (
    group_id    TEXT NOT NULL REFERENCES solution_groups (id) ON DELETE CASCADE,
    solution_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (solution_id, user_id) REFERENCES solution_assignments (solution_id, user_id) ON DELETE CASCADE
);
CREATE INDEX solution_group_members_assignment ON solution_group_members (solution_id, user_id);
