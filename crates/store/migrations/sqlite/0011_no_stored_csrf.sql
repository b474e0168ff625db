-- A session's CSRF token is derived from its id by the server now; the clear
-- tokens stored until now are removed.
UPDATE sessions SET csrf_token = '';
