-- A trigram index for the member search (`q=`): a search for a part of a name or
-- email reads the matching members from the index instead of scanning every
-- member of the organization. pg_trgm ships with PostgreSQL and is a trusted
-- extension (any owner of the database may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX memberships_search_trgm ON memberships USING gin (search gin_trgm_ops);
