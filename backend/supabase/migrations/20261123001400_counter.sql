-- The counter app's first question after sign-in: where does this person work, and as what.

create or replace function public.my_workplaces()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
begin
  return coalesce((
    select jsonb_agg(jsonb_build_object('business_id', b.id, 'name', b.name, 'slug', b.slug, 'color', b.color,
                                        'currency', b.currency, 'timezone', b.timezone, 'role', s.role)
                     order by b.name)
    from kanta.staff s join kanta.businesses b on b.id = s.business_id
    where s.user_id = v_uid
  ), '[]'::jsonb);
end
$$;
revoke execute on function public.my_workplaces() from public, anon;
grant execute on function public.my_workplaces() to authenticated, service_role;

select kanta.grant_helpers();
