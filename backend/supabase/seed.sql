-- Seed for `supabase db reset` on a local Supabase stack.
-- Kanta's demo data needs accounts in auth.users with passwords, which Supabase Auth creates;
-- on the embedded database `kanta demo` seeds the demo café through the API instead.
-- Nothing here is required for production.
select 1;
