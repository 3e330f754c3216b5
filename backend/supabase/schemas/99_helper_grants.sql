-- Runs last, once every kanta function exists.

-- =============================================================================================
-- Section - Helper grants
-- Internal helpers are never part of the API: kanta.grant_helpers (00_core.sql) closes them to
-- the API roles, except the predicates that RLS policies call.
-- =============================================================================================
select kanta.grant_helpers();
