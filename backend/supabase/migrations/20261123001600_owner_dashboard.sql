-- The owner's dashboard in one call, and the VIP status on the counter's member panel.

-- =============================================================================================
-- Section - VIP on the counter's member panel
-- The panel (the ledger migration) predates VIP; it is kept as member_panel_core and the VIP
-- status (owner's grant or a tier perk, kanta.is_vip) is added to it here.
-- =============================================================================================
alter function kanta.member_panel(uuid) rename to member_panel_core;

create or replace function kanta.member_panel(p_member_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return kanta.member_panel_core(p_member_id)
         || (select jsonb_build_object('vip', kanta.is_vip(m.id, kanta.now()), 'vip_until', m.vip_until)
             from kanta.members m where m.id = p_member_id);
end
$$;

-- =============================================================================================
-- Section - The owner's dashboard in one call: the period's KPIs and a series of each metric
-- =============================================================================================
create or replace function public.owner_dashboard(p_business_id uuid, p_from timestamptz, p_to timestamptz,
                                                  p_bucket text default 'week')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform kanta.require_staff(p_business_id, 'owner');
  return jsonb_build_object(
    'kpis', public.business_kpis(p_business_id, p_from, p_to),
    'series', (select jsonb_object_agg(m, public.kpi_timeseries(p_business_id, m, p_bucket, p_from, p_to) -> 'points')
               from unnest(array['revenue', 'member_revenue_share', 'visits', 'new_members', 'redemptions', 'nps']) m));
end
$$;
revoke execute on function public.owner_dashboard(uuid, timestamptz, timestamptz, text) from public, anon;
grant execute on function public.owner_dashboard(uuid, timestamptz, timestamptz, text) to authenticated, service_role;

select kanta.grant_helpers();
